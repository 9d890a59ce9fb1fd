"""``gradwork gradcheck``: check a model's back-propagation against finite differences."""
import gradwork.nn.functional as F
from gradwork import backend, models
from gradwork.cli.common import load_dataset
from gradwork.tools.gradcheck import check_model_gradients


def add_arguments(parser):
    parser.add_argument("--model", default="mlp", help=f"architecture: {', '.join(models.MODELS)} (default mlp)")
    parser.add_argument("--dataset", default="digits", help="data set for input shape and a real batch (default digits)")
    parser.add_argument("--hidden", default="16,8", help="MLP hidden sizes, kept small: every weight is checked")
    parser.add_argument("--batch", type=int, default=4, help="examples in the checked batch (default 4)")
    parser.add_argument("--seed", type=int, default=0)


def run(args):
    backend.manual_seed(args.seed)
    train_set, _, input_shape, num_classes = load_dataset(args.dataset)
    hidden = [int(s) for s in args.hidden.split(",") if s.strip()]
    model = models.build_model(args.model, input_shape, num_classes, hidden=hidden)
    x, y = train_set.get_batch(slice(0, args.batch))
    report = check_model_gradients(model, F.cross_entropy, x, y)
    print(f"gradient check of {args.model} on {args.batch} {args.dataset} examples (float64, central differences)")
    print(report)
    print("thresholds: < 1e-7 correct, < 1e-5 probably fine, ≥ 1e-3 wrong")
    return 0 if report.ok else 1
