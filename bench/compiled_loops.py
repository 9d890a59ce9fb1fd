"""Does each compiled loop still beat the NumPy kernel it replaces? One process, loops on and off.

    python bench/compiled_loops.py [--rounds 9] [--calls 10]

The compiled loops (``gradwork/kernels/jit.py``) are plain Python compiled by Numba for the processor it
finds, and what the compiler makes of them — how a branch is lowered, what the vectoriser takes on — can
change with Numba's version or the machine without any number changing. The max-pool loop that records
winners, the one every training step runs, measured 0.13 ms against NumPy's 1.46 when it was written
(session 10); in session 14 the same source under the same Numba (0.68.1, host processor
``skylake-avx512``) had become a branch mispredicted half the time and ran as slowly as the NumPy kernel
it was written to replace (10.0 against 9.7 ms; bench/RESULTS.md). Every test passed. Why it changed is
not known; this check finds such a loop.

This script times every use of a compiled loop through the fast kernel that calls it — the same
``Function`` on the same arrays — with the loops on and off (``gw.kernels.jit.enable``), in alternating
rounds (the order flipped every round, each time the best of ``--calls`` calls), and prints the medians
and their ratio. A line marked ``SLOWER`` is a loop that no longer pays: look at it (``--rounds`` more
for a noisy machine). Run it after upgrading Numba or NumPy. The shapes are the benchmark's: W2's first
max-pool, an Inception branch's 3 × 3 / 1 / 1 average pool, W6's first BatchNorm, W7's LayerNorm, a ResNet
stem's 3 × 3 / 2 pool, a MobileNet's depthwise convolution, a GELU Transformer's feed-forward activation
(W7's sizes), its tanh form, and sigmoid and SiLU on the same array, W2's first ReLU's backward, softmax and
log-softmax on the same array, W4's cross-entropy (65 classes), W8's SparseAdam rows.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from arguments import positive_int  # noqa: E402

import gradwork as gw  # noqa: E402
from gradwork.kernels import jit  # noqa: E402
from gradwork.kernels.activations import FastReLU  # noqa: E402
from gradwork.kernels.conv import FastConv2d  # noqa: E402
from gradwork.kernels.cross_entropy import FastCrossEntropy  # noqa: E402
from gradwork.kernels.normalization import FastBatchNormalize, FrozenBatchNorm, FusedLayerNorm  # noqa: E402
from gradwork.kernels.pooling import FastAvgPool2d, FastMaxPool2d  # noqa: E402
from gradwork.kernels.smooth_activations import FastGELU, FastSigmoid, FastSiLU  # noqa: E402
from gradwork.kernels.softmax import FastLogSoftmax, FastSoftmax  # noqa: E402
from gradwork.kernels.sparse_adam import update_rows  # noqa: E402


def channels_last(rng, shape):
    """A standard-normal float32 array of ``shape`` (N, C, H, W), stored channels-last like a
    convolution's output."""
    n, c, h, w = shape
    return np.ascontiguousarray(rng.standard_normal((n, h, w, c), dtype=np.float32)).transpose(0, 3, 1, 2)


def ready(function, needs_input_grad):
    """``function`` set up as ``Function.__call__`` would (which inputs want a gradient)."""
    function.needs_input_grad = needs_input_grad
    return function


def forward_then_backward(function, inputs, gradient):
    """A case that runs ``function``'s forward on ``inputs`` and then its backward: backward takes the path
    its forward chose (compiled or not), so each timing runs both."""

    def case():
        function.forward(*inputs)
        function.backward(gradient)
    return case


def max_pool_cases(rng):
    x = np.maximum(channels_last(rng, (128, 16, 28, 28)), 0)  # a ReLU's output: ties at zero
    stem = channels_last(rng, (16, 64, 56, 56))
    cases = {}
    for label, x_, geometry in (("2 × 2, 128 × 16 × 28 × 28", x, ((2, 2), (2, 2), (0, 0))),
                                ("3 × 3 / 2 / 1, 16 × 64 × 56 × 56", stem, ((3, 3), (2, 2), (1, 1)))):
        forward_only = ready(FastMaxPool2d(*geometry), (False,))
        recording = ready(FastMaxPool2d(*geometry), (True,))
        gy = channels_last(rng, recording.forward(x_).shape)
        cases[f"max_pool2d {label}, forward (no_grad)"] = lambda f=forward_only, x_=x_: f.forward(x_)
        cases[f"max_pool2d {label}, forward with winners"] = lambda f=recording, x_=x_: f.forward(x_)
        cases[f"max_pool2d {label}, backward"] = lambda f=recording, gy=gy: f.backward(gy)
    return cases


def avg_pool_cases(rng):
    x = channels_last(rng, (64, 32, 32, 32))
    function = ready(FastAvgPool2d((3, 3), (1, 1), (1, 1)), (True,))
    gy = channels_last(rng, function.forward(x).shape)
    return {"avg_pool2d 3 × 3 / 1 / 1, 64 × 32 × 32 × 32, forward": lambda: function.forward(x),
            "avg_pool2d 3 × 3 / 1 / 1, 64 × 32 × 32 × 32, forward + backward":
                forward_then_backward(function, (x,), gy)}


def batch_norm_cases(rng):
    x, g = channels_last(rng, (128, 16, 28, 28)), channels_last(rng, (128, 16, 28, 28))
    weight, bias = np.ones(16, np.float32), np.zeros(16, np.float32)
    training = ready(FastBatchNormalize(1e-5), (True, True, True))
    frozen = ready(FrozenBatchNorm(rng.random(16, dtype=np.float32), rng.random(16, dtype=np.float32) + 0.5, 1e-5),
                   (False, False, False))
    frozen_trained = ready(FrozenBatchNorm(frozen.mean, frozen.var, 1e-5), (True, True, True))
    return {"batch_norm 128 × 16 × 28 × 28, forward": lambda: training.forward(x, weight, bias),
            "batch_norm 128 × 16 × 28 × 28, forward + backward": forward_then_backward(training, (x, weight, bias), g),
            "batch_norm (eval) 128 × 16 × 28 × 28, forward": lambda: frozen.forward(x, weight, bias),
            "batch_norm (eval) 128 × 16 × 28 × 28, forward + backward":
                forward_then_backward(frozen_trained, (x, weight, bias), g)}


def layer_norm_cases(rng):
    x, g = rng.standard_normal((2048, 128), dtype=np.float32), rng.standard_normal((2048, 128), dtype=np.float32)
    weight, bias = np.ones(128, np.float32), np.zeros(128, np.float32)
    function = ready(FusedLayerNorm(1, 1e-5, True, True), (True, True, True))
    return {"layer_norm 2048 × 128, forward": lambda: function.forward(x, weight, bias),
            "layer_norm 2048 × 128, forward + backward": forward_then_backward(function, (x, weight, bias), g)}


def depthwise_cases(rng):
    x, g = channels_last(rng, (16, 32, 16, 16)), channels_last(rng, (16, 32, 16, 16))
    weight, bias = rng.standard_normal((32, 1, 3, 3), dtype=np.float32), np.zeros(32, np.float32)
    function = ready(FastConv2d((1, 1), (1, 1), (1, 1), 32), (True, True, True))
    return {"conv2d depthwise 3 × 3, 16 × 32 × 16 × 16, forward": lambda: function.forward(x, weight, bias),
            "conv2d depthwise 3 × 3, 16 × 32 × 16 × 16, forward + backward":
                forward_then_backward(function, (x, weight, bias), g)}


def activation_cases(rng):
    x, g = rng.standard_normal((2048, 512), dtype=np.float32), rng.standard_normal((2048, 512), dtype=np.float32)
    gelu, gelu_tanh, sigmoid, silu = (ready(kernel, (True,)) for kernel in (FastGELU(), FastGELU("tanh"),
                                                                             FastSigmoid(), FastSiLU()))
    return {"gelu 2048 × 512, forward": lambda: gelu.forward(x),
            "gelu 2048 × 512, forward + backward": forward_then_backward(gelu, (x,), g),
            "gelu (tanh) 2048 × 512, forward + backward": forward_then_backward(gelu_tanh, (x,), g),
            "sigmoid 2048 × 512, forward + backward": forward_then_backward(sigmoid, (x,), g),
            "silu 2048 × 512, forward + backward": forward_then_backward(silu, (x,), g),
            **relu_cases(rng)}


def relu_cases(rng):
    x, g = channels_last(rng, (128, 16, 28, 28)), channels_last(rng, (128, 16, 28, 28))
    relu = ready(FastReLU(), (True,))
    relu.forward(x)
    return {"relu 128 × 16 × 28 × 28, backward": lambda: relu.backward(g)}


def softmax_cases(rng):
    x, g = rng.standard_normal((2048, 512), dtype=np.float32), rng.standard_normal((2048, 512), dtype=np.float32)
    softmax, log_softmax = ready(FastSoftmax(-1), (True,)), ready(FastLogSoftmax(-1), (True,))
    logits = rng.standard_normal((2048, 65), dtype=np.float32)  # W4's: 32 × 64 characters, 65 classes
    cross_entropy = ready(FastCrossEntropy(rng.integers(0, 65, 2048), mean=True), (True,))
    return {"softmax 2048 × 512, forward + backward": forward_then_backward(softmax, (x,), g),
            "log_softmax 2048 × 512, forward + backward": forward_then_backward(log_softmax, (x,), g),
            "cross_entropy 2048 × 65, forward + backward":
                forward_then_backward(cross_entropy, (logits,), np.array(1.0, np.float32))}


def sparse_adam_cases(rng):
    param, m, v = (rng.standard_normal((5492, 100), dtype=np.float32) for _ in range(3))
    v = np.abs(v)
    rows = np.unique(rng.integers(0, 5492, 3000))  # sorted, unique: what a SparseGrad holds
    g = rng.standard_normal((len(rows), 100), dtype=np.float32) * 1e-3
    return {f"SparseAdam, {len(rows):,} rows of 5,492 × 100":
            lambda: update_rows(param, m, v, rows, g, 0.9, 0.999, 1e-3, 1e-8)}


def best_of(case, calls):
    """The fastest of ``calls`` calls, in ms (one call first, to compile or warm up)."""
    case()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        case()
        times.append(time.perf_counter() - start)
    return min(times) * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=9)
    parser.add_argument("--calls", type=positive_int, default=10, help="calls per round; the best one counts")
    args = parser.parse_args()
    if not jit.available():
        sys.exit("compiled_loops.py: Numba is not installed (pip install -e \".[jit]\"): there are no compiled "
                 "loops to measure")
    gw.backend.reuse_freed_memory()
    rng = np.random.default_rng(0)
    cases = {**max_pool_cases(rng), **avg_pool_cases(rng), **batch_norm_cases(rng), **layer_norm_cases(rng),
             **depthwise_cases(rng), **activation_cases(rng), **softmax_cases(rng), **sparse_adam_cases(rng)}
    import numba
    print(f"Numba {numba.__version__}, NumPy {np.__version__}; {args.rounds} alternating rounds, best of "
          f"{args.calls} calls each; medians in ms\n")
    width = max(map(len, cases))
    print(f"{'case':<{width}}  {'NumPy':>8}  {'compiled':>8}  {'speed-up':>8}")
    slower = 0
    try:
        for name, case in cases.items():
            times = {True: [], False: []}
            for index in range(args.rounds):
                for on in ((True, False) if index % 2 == 0 else (False, True)):
                    jit.enable(on)
                    times[on].append(best_of(case, args.calls))
            numpy_ms, compiled_ms = statistics.median(times[False]), statistics.median(times[True])
            verdict = "" if compiled_ms < numpy_ms else "  SLOWER"
            slower += bool(verdict)
            print(f"{name:<{width}}  {numpy_ms:8.3f}  {compiled_ms:8.3f}  {numpy_ms / compiled_ms:7.2f}×{verdict}",
                  flush=True)
    finally:
        jit.enable(True)
    print(f"\n{slower} of {len(cases)} compiled uses no faster than NumPy" if slower
          else f"\nevery compiled use faster than NumPy ({len(cases)} cases)")


if __name__ == "__main__":
    main()
