"""How fast could W1 and W1-infer be? The same step written as plain NumPy, beside gradwork and PyTorch.

    python bench/numpy_floor.py [--rounds 7] [--seconds 1.0]

The MLP of ``bench/run.py`` (784-256-256-10, ReLU, softmax cross-entropy) computed by hand: the forward
pass, the backward pass written out with the chain rule, and the SGD update — no tensors, no graph, no
Python between ops other than the NumPy calls themselves, and the fastest NumPy form of each pass that
gradwork's kernels use (``clip`` for ReLU, the ReLU gate as floats). It is the ceiling of a framework
built on NumPy's operations on this machine: gradwork's ratio to PyTorch can at best reach this
step's ratio. (One exception: for outputs of 64K values and more gradwork's ``FastLinear`` has BLAS add
the product onto the bias, β = 1, which NumPy alone cannot; W1-infer's first two layers are that large,
and there the two run at the same speed.) Machine noise can still put gradwork's ratio above NumPy's in
a single run; the ceiling holds for medians. The script first checks that the hand-written step computes
gradwork's gradients (same weights, same batch), then runs interleaved rounds of the three (medians,
as ``bench/run.py`` does).
"""
import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import run  # noqa: E402  (bench/run.py: the workloads and their timing)
from arguments import positive_float, positive_int  # noqa: E402

import gradwork as gw  # noqa: E402


def weights_of(model):
    """[(W, b), …] of the gradwork MLP's three Linear layers, as independent NumPy arrays."""
    return [(layer.weight.data.copy(), layer.bias.data.copy()) for layer in model if hasattr(layer, "weight")]


def forward(layers, x):
    """(logits, [each layer's input]): x ← relu(x Wᵀ + b) for the first two layers, then x Wᵀ + b."""
    saved = []
    for index, (weight, bias) in enumerate(layers):
        h = x @ weight.T
        h += bias
        saved.append(x)
        x = h if index == len(layers) - 1 else np.clip(h, 0.0, float("inf"))
    return x, saved


def train_step(layers, x, labels, lr=0.01):
    """One SGD step of mean softmax cross-entropy, by hand; returns the gradients [(dW, db), …]. Only the
    loss's gradient is computed, not the loss itself (gradwork's step computes both): this side is, if
    anything, a little faster than the same work."""
    logits, inputs = forward(layers, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    g = probabilities  # d(mean CE)/d logits = (softmax − one-hot) / N
    g[np.arange(len(labels)), labels] -= 1
    g /= len(labels)
    grads = []
    for index in range(len(layers) - 1, -1, -1):
        weight, _ = layers[index]
        grads.append((g.T @ inputs[index], np.ones(len(g), g.dtype) @ g))  # db as gradwork's column_sums
        if index > 0:  # the input gradient, through the ReLU that made this layer's input
            gate = (inputs[index] > 0).astype(g.dtype)
            gate *= g @ weight
            g = gate
    grads.reverse()
    for (weight, bias), (g_weight, g_bias) in zip(layers, grads):
        weight -= lr * g_weight
        bias -= lr * g_bias
    return grads


def check_same_work(batch=128):
    """The hand-written step's gradients equal gradwork's autograd ones for the same weights and batch."""
    model = run.gradwork_mlp()
    layers = weights_of(model)
    x, y = run.mlp_data(batch)
    gw.nn.functional.cross_entropy(model(gw.tensor(x)), y).backward()
    expected = [(layer.weight.grad, layer.bias.grad) for layer in model if hasattr(layer, "weight")]
    for (g_weight, g_bias), (e_weight, e_bias) in zip(train_step(layers, x, y), expected):
        np.testing.assert_allclose(g_weight, e_weight, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(g_bias, e_bias, rtol=1e-4, atol=1e-6)


def numpy_w1(batch=128):
    """W1 by hand: (step, batch), with the weights of gradwork's W1 model."""
    layers = weights_of(run.gradwork_mlp())
    x, y = run.mlp_data(batch)
    return (lambda: train_step(layers, x, y)), batch


def numpy_w1_infer(batch=1000):
    """W1-infer by hand: (forward pass, batch)."""
    layers = weights_of(run.gradwork_mlp())
    x = run.mlp_data(batch)[0]
    return (lambda: forward(layers, x)), batch


#: workload → the makers of its (step, batch) for gradwork, plain NumPy and PyTorch, in that order
SIDES = {
    "W1": (run.w1_gradwork, numpy_w1, run.w1_torch),
    "W1-infer": (run.w1_infer_gradwork, numpy_w1_infer, run.w1_infer_torch),
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=positive_int, default=7)
    parser.add_argument("--seconds", type=positive_float, default=1.0)
    args = parser.parse_args()
    gw.backend.reuse_freed_memory()
    if run.torch is None:
        parser.error("this comparison needs PyTorch (pip install torch==2.13.0)")
    check_same_work()
    print(f"{args.rounds} interleaved rounds of {args.seconds:.1f}s each; medians (samples/s)\n")
    print(f"{'workload':<10} {'gradwork':>10} {'NumPy':>10} {'PyTorch':>10} {'gradwork/PyTorch':>17} "
          f"{'NumPy/PyTorch':>14}")
    for name, makers in SIDES.items():
        steps = [make() for make in makers]
        rates = [[] for _ in steps]
        for _ in range(args.rounds):
            for (step, batch), side in zip(steps, rates):
                side.append(run.time_round(step, batch, args.seconds))
        g, n, t = (statistics.median(side) for side in rates)
        print(f"{name:<10} {g:>10,.0f} {n:>10,.0f} {t:>10,.0f} {g / t:>16.2f}x {n / t:>13.2f}x")


if __name__ == "__main__":
    main()
