"""``gradwork gradcheck``: check a model's back-propagation against finite differences."""
import gradwork.nn.functional as F
from gradwork import backend, models
from gradwork.cli.checks import NON_NEGATIVE_INT, POSITIVE_INT, int_list
from gradwork.cli.common import load_dataset
from gradwork.data.datasets import LOADERS
from gradwork.tools.gradcheck import check_model_gradients

SMALL_HIDDEN = [16, 8]  # every weight is checked, one finite difference each: keep the MLP small


def add_arguments(parser):
    parser.add_argument("--model", default="mlp", choices=models.MODELS, metavar="MODEL",
                        help=f"architecture: {', '.join(models.MODELS)} (default mlp)")
    parser.add_argument("--dataset", default="digits", choices=LOADERS, metavar="DATASET",
                        help="data set for input shape and a real batch (default digits)")
    parser.add_argument("--hidden", type=int_list, default=None,
                        help="mlp hidden sizes, kept small: every weight is checked (default 16,8)")
    parser.add_argument("--batch", type=POSITIVE_INT, default=4, help="examples in the checked batch (default 4)")
    parser.add_argument("--seed", type=NON_NEGATIVE_INT, default=0, help="random seed (default 0)")


def run(args):
    backend.manual_seed(args.seed)
    train_set, _, input_shape, num_classes = load_dataset(args.dataset)
    options = {}
    if args.hidden is not None or "hidden" in models.MODELS[args.model].options:
        options["hidden"] = args.hidden or SMALL_HIDDEN  # build_model refuses it for a model without one
    model = models.build_model(args.model, input_shape, num_classes, **options)
    x, y = train_set.get_batch(slice(0, args.batch))
    report = check_model_gradients(model, F.cross_entropy, x, y)
    print(f"gradient check of {args.model} on {len(y)} {args.dataset} examples (float64, central differences)")
    print(report)
    print("thresholds: < 1e-7 correct, < 1e-5 probably fine, ≥ 1e-3 wrong")
    return 0 if report.ok else 1
