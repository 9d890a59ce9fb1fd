"""``gradwork summary``: each layer's output shape and parameter count for a model on a data set."""
from gradwork import models
from gradwork.cli.common import load_dataset
from gradwork.tools.summary import summary


def add_arguments(parser):
    parser.add_argument("--model", default="lenet5", help=f"architecture: {', '.join(models.MODELS)} (default lenet5)")
    parser.add_argument("--dataset", default="digits", help="data set that fixes the input shape (default digits)")
    parser.add_argument("--batchnorm", action="store_true", help="with BatchNorm (vggnet, vgg16)")


def run(args):
    _, _, input_shape, num_classes = load_dataset(args.dataset)
    model = models.build_model(args.model, input_shape, num_classes, batchnorm=args.batchnorm)
    print(f"{args.model} on {args.dataset}")
    print(summary(model, input_shape))
    return 0
