"""``gradwork summary``: each layer's output shape and parameter count for a model on a data set."""
import argparse

from gradwork import models
from gradwork.cli.common import load_dataset
from gradwork.data.datasets import LOADERS
from gradwork.tools.summary import summary


def add_arguments(parser):
    parser.add_argument("--model", default="lenet5", choices=models.MODELS, metavar="MODEL",
                        help=f"architecture: {', '.join(models.MODELS)} (default lenet5)")
    parser.add_argument("--dataset", default="digits", choices=LOADERS, metavar="DATASET",
                        help="data set that fixes the input shape (default digits)")
    parser.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=None,
                        help=f"with or without BatchNorm ({', '.join(models.models_taking('batchnorm'))}; default with)")


def run(args):
    _, _, input_shape, num_classes = load_dataset(args.dataset)
    takes_batchnorm = "batchnorm" in models.MODELS.get(args.model, models.MODELS["mlp"]).options
    options = {"batchnorm": bool(args.batchnorm)} if args.batchnorm is not None or takes_batchnorm else {}
    model = models.build_model(args.model, input_shape, num_classes, **options)  # refuses it where it does not apply
    print(f"{args.model} on {args.dataset}")
    print(summary(model, input_shape))
    return 0
