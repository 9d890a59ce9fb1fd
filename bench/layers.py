"""Single layers against PyTorch: which layers of ``gradwork.nn`` are behind, and by how much.

    python bench/layers.py [--only Conv2d-16 AvgPool2d-3x3 …] [--rounds 3] [--seconds 0.4] [--list]

The workloads of ``bench/run.py`` use a handful of layers (linear, convolutions with 1–64 channels, ReLU,
max pooling, BatchNorm, LayerNorm, attention); this script asks about the others, one layer at a time:
each layer's forward and a backward with a random output gradient (a loss: with class labels, from its mean),
the input's gradient included, timed
for gradwork and PyTorch alternately in one process (``--rounds`` rounds, each side the best call of
``--seconds`` of calls, then the median over the rounds), float32. Four-dimensional inputs and gradients are
stored channels-last, as a network hands them from layer to layer (a convolution's output, the next layer's
input gradient); PyTorch's layers run in its channels-last memory format. A ratio below 1 is a layer where
gradwork is slower. Without PyTorch only gradwork's times are printed.

The layers and sizes are in ``LAYERS``; bench/RESULTS.md (2026-12-01, sessions 14 and 15) has the surveys
this script grew out of.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from arguments import positive_float, positive_int  # noqa: E402

import gradwork as gw  # noqa: E402

#: name → (the layer as made by gradwork.nn's and torch.nn's constructors from the same arguments:
#: (class name, positional arguments, keyword arguments)), input shape, training mode
LAYERS = {
    "Conv2d-16": (("Conv2d", (16, 16, 3), {"padding": 1}), (128, 16, 28, 28), True),
    "Conv2d-rgb": (("Conv2d", (3, 32, 3), {"padding": 1}), (64, 3, 32, 32), True),
    "Conv2d-dilated": (("Conv2d", (32, 32, 3), {"padding": 2, "dilation": 2}), (64, 32, 32, 32), True),
    "Conv2d-stride2": (("Conv2d", (16, 32, 3), {"padding": 1, "stride": 2}), (128, 16, 28, 28), True),
    "Conv2d-depthwise": (("Conv2d", (32, 32, 3), {"padding": 1, "groups": 32}), (64, 32, 32, 32), True),
    "MaxPool2d-2": (("MaxPool2d", (2,), {}), (64, 32, 32, 32), True),
    "AvgPool2d-2": (("AvgPool2d", (2,), {}), (64, 32, 32, 32), True),
    "AvgPool2d-3x3": (("AvgPool2d", (3, 1, 1), {}), (64, 32, 32, 32), True),
    "AdaptiveAvgPool2d-1": (("AdaptiveAvgPool2d", (1,), {}), (64, 64, 16, 16), True),
    "BatchNorm2d": (("BatchNorm2d", (32,), {}), (64, 32, 32, 32), True),
    "BatchNorm2d-eval": (("BatchNorm2d", (32,), {}), (64, 32, 32, 32), False),
    "Dropout2d": (("Dropout2d", (0.2,), {}), (64, 32, 32, 32), True),
    "LayerNorm": (("LayerNorm", (1024,), {}), (512, 1024), True),
    "ReLU": (("ReLU", (), {}), (512, 1024), True),
    "GELU": (("GELU", (), {}), (512, 1024), True),
    "GELU-tanh": (("GELU", (), {"approximate": "tanh"}), (512, 1024), True),
    "Sigmoid": (("Sigmoid", (), {}), (512, 1024), True),
    "SiLU": (("SiLU", (), {}), (512, 1024), True),
    "Tanh": (("Tanh", (), {}), (512, 1024), True),
    "Softmax": (("Softmax", (-1,), {}), (512, 1024), True),
    "LogSoftmax": (("LogSoftmax", (-1,), {}), (512, 1024), True),
    # losses: called with the input and class labels (one per row), backward from the mean loss
    "CrossEntropy-10": (("CrossEntropyLoss", (), {}), (128, 10), True),
    "CrossEntropy-1024": (("CrossEntropyLoss", (), {}), (512, 1024), True),
}


def stored(array):
    """``array`` as a network hands it over: 4-D arrays channels-last (values unchanged), others as they are."""
    if array.ndim != 4:
        return array
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


def labels_for(spec, x):
    """Class labels for a loss (one per row of x, in [0, C)), or None for a layer that takes x alone."""
    if not spec[0].endswith("Loss"):
        return None
    return np.random.default_rng(2).integers(0, x.shape[1], x.shape[0])


def gradwork_case(spec, x, training):
    """A callable running the gradwork layer's forward and backward once, and the output's shape."""
    name, args, kwargs = spec
    layer = getattr(gw.nn, name)(*args, **kwargs)
    layer.train(training)
    leaf = gw.Tensor(x).requires_grad_()  # (gw.Tensor keeps x's memory layout; gw.tensor would copy it)
    labels = labels_for(spec, x)
    inputs = (leaf,) if labels is None else (leaf, labels)
    with gw.no_grad():
        shape = layer(*inputs).shape
    gradient = gw.Tensor(stored(np.random.default_rng(1).standard_normal(shape).astype(np.float32))) if shape else None

    def case():
        leaf.grad = None
        layer(*inputs).backward(gradient)
    return case, shape


def torch_case(torch, spec, x, training, shape):
    """The same for PyTorch's layer, in channels-last memory format for 4-D input."""
    name, args, kwargs = spec
    layer = getattr(torch.nn, name)(*args, **kwargs)
    layer.train(training)
    four_d = x.ndim == 4
    leaf = torch.from_numpy(np.ascontiguousarray(x))
    gradient = torch.from_numpy(np.random.default_rng(1).standard_normal(shape).astype(np.float32))
    if four_d:
        layer = layer.to(memory_format=torch.channels_last)
        leaf = leaf.contiguous(memory_format=torch.channels_last)
        if len(shape) == 4:
            gradient = gradient.contiguous(memory_format=torch.channels_last)
    leaf.requires_grad_()
    labels = labels_for(spec, x)
    inputs = (leaf,) if labels is None else (leaf, torch.from_numpy(labels))
    gradient = gradient if shape else None

    def case():
        leaf.grad = None
        layer(*inputs).backward(gradient)
    return case


def best_within(case, seconds):
    """The fastest call, in ms, of as many as fit in ``seconds`` (one call first, to warm up)."""
    case()
    best, stop = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < stop:
        start = time.perf_counter()
        case()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", metavar="LAYER", help="these layers of LAYERS only (see --list)")
    parser.add_argument("--rounds", type=positive_int, default=3)
    parser.add_argument("--seconds", type=positive_float, default=0.4, help="per side and round")
    parser.add_argument("--list", action="store_true", help="print the layers' names and sizes, and stop")
    args = parser.parse_args()
    if args.list:
        for name, ((class_name, positional, keywords), shape, training) in LAYERS.items():
            arguments = ", ".join([repr(a) for a in positional] + [f"{k}={v!r}" for k, v in keywords.items()])
            print(f"{name:<20} {class_name}({arguments}) on {shape}{'' if training else ', eval()'}")
        return
    unknown = sorted(set(args.only or ()) - set(LAYERS))
    if unknown:
        parser.error(f"unknown layer {', '.join(unknown)}: choose from {', '.join(LAYERS)}")
    try:
        import torch
        torch.set_num_threads(2)
    except ImportError:
        torch = None
    gw.backend.reuse_freed_memory()
    print("float32, forward + backward with the input's gradient, ms (best call of each round, median of "
          f"{args.rounds} rounds){'' if torch else '; PyTorch is not installed: gradwork only'}\n")
    print(f"{'layer':<20} {'input':<20} {'gradwork':>9}" + (f" {'pytorch':>9} {'ratio':>7}" if torch else ""))
    for name in args.only or LAYERS:
        spec, shape, training = LAYERS[name]
        x = stored(np.random.default_rng(0).standard_normal(shape).astype(np.float32))
        ours, out_shape = gradwork_case(spec, x, training)
        theirs = torch_case(torch, spec, x, training, out_shape) if torch else None
        times = {"gradwork": [], "pytorch": []}
        for _ in range(args.rounds):
            times["gradwork"].append(best_within(ours, args.seconds))
            if theirs:
                times["pytorch"].append(best_within(theirs, args.seconds))
        line = f"{name:<20} {str(shape):<20} {statistics.median(times['gradwork']):>9.2f}"
        if theirs:
            ratio = statistics.median(times["pytorch"]) / statistics.median(times["gradwork"])
            line += f" {statistics.median(times['pytorch']):>9.2f} {ratio:>6.2f}×"
        print(line, flush=True)


if __name__ == "__main__":
    main()
