"""Activation functions and their derivatives — the derivatives computed by gradwork's autograd.

sigmoid' ≤ 0.25 everywhere and → 0 for large |x| (vanishing gradients in deep sigmoid nets);
tanh' ≤ 1, also saturating; ReLU' is 1 for x > 0 (no saturation) and 0 below (dead units);
leaky ReLU keeps a small slope below 0; GELU is a smooth ReLU. Writes examples/out/activations.png.
"""
import os

import numpy as np

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
FUNCTIONS = {"sigmoid": F.sigmoid, "tanh": F.tanh, "relu": F.relu, "leaky_relu": lambda x: F.leaky_relu(x, 0.1),
             "gelu": F.gelu, "step": F.step}


def value_and_derivative(fn, x):
    t = gw.tensor(x, requires_grad=True)
    fn(t).sum().backward()  # the sum's gradient is the elementwise derivative
    return fn(gw.tensor(x)).numpy(), t.grad


def main(out=OUT):
    x = np.linspace(-5, 5, 501)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5))
    for ax, (name, fn) in zip(axes.flat, FUNCTIONS.items()):
        y, dy = value_and_derivative(fn, x)
        ax.plot(x, y, label=name)
        ax.plot(x, dy, "--", label="derivative")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"{name}: max derivative {dy.max():.2f}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        print(f"{name:<11} f(0) = {float(fn(gw.tensor(np.array([0.0]))).item()):.3f}, max f' = {dy.max():.3f}, "
              f"f'(4) = {dy[x.searchsorted(4.0)]:.4f}")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "activations.png"))


if __name__ == "__main__":
    main()
