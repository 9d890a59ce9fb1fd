"""Numerical vs analytic gradient: back-propagation checked against central differences.

    numerical ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε,   relative error = ‖g_a − g_n‖ / (‖g_a‖ + ‖g_n‖)

Checked in float64 for every parameter of a small network; then a deliberately broken layer
(its backward forgets a factor) shows what a bug looks like. Writes examples/out/gradient_check.png.
"""
import os

import numpy as np

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn
from gradwork.autograd.function import Function
from gradwork.tools import check_model_gradients
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


class BrokenSquare(Function):
    """y = x², with a wrong backward (2x forgotten: it returns x)."""

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, gy):
        (x,) = self.saved
        return gy * x  # the bug: should be gy * 2 * x


class WithBrokenLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(4, 5), nn.Linear(5, 3)

    def forward(self, x):
        return self.second(BrokenSquare()(self.first(x)))


def main(out=OUT):
    gw.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    healthy = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 3))
    reports = {"correct network": check_model_gradients(healthy, F.cross_entropy, x, y),
               "broken backward": check_model_gradients(WithBrokenLayer(), F.cross_entropy, x, y)}
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, (title, report) in zip(axes, reports.items()):
        print(f"{title}:\n{report}\n")
        names = [r.name for r in report]
        errors = [max(r.relative_error, 1e-16) for r in report]
        ax.barh(names, errors, color=["tab:green" if e < 1e-7 else "tab:red" if e >= 1e-3 else "tab:orange"
                                      for e in errors])
        ax.set_xscale("log")
        for threshold in (1e-7, 1e-5, 1e-3):
            ax.axvline(threshold, color="k", ls=":", lw=0.8)
        ax.set_xlabel("relative error (<1e-7 correct, ≥1e-3 wrong)")
        ax.set_title(title)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "gradient_check.png"))


if __name__ == "__main__":
    main()
