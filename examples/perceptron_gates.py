"""Perceptrons as logic gates: AND, NAND and OR with weights chosen by hand, and why XOR needs two layers.

A perceptron outputs step(w·x + b). AND, NAND and OR are each one straight line through the unit
square; XOR is not (no line separates {01, 10} from {00, 11}), but XOR(a, b) = AND(NAND(a, b), OR(a, b))
— two layers. Writes examples/out/perceptron_gates.png.
"""
import os

import numpy as np

import gradwork as gw
import gradwork.nn.functional as F
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
GATES = {  # (w1, w2, b), by hand: fire when w·x + b > 0
    "AND": (0.5, 0.5, -0.7),
    "NAND": (-0.5, -0.5, 0.7),
    "OR": (0.5, 0.5, -0.2),
}


def perceptron(x, w1, w2, b):
    return F.step(gw.tensor(x) @ gw.tensor(np.array([w1, w2], np.float32)) + b).numpy()


def xor(x):
    return perceptron(np.stack([perceptron(x, *GATES["NAND"]), perceptron(x, *GATES["OR"])], axis=1), *GATES["AND"])


def truth_table(outputs):
    return "  ".join(f"{a}{b}→{int(o)}" for (a, b), o in zip(INPUTS.astype(int), outputs))


def main(out=OUT):
    for name, weights in GATES.items():
        print(f"{name:<4}", truth_table(perceptron(INPUTS, *weights)), f"(w1, w2, b) = {weights}")
    print("XOR ", truth_table(xor(INPUTS)), "(two layers: AND(NAND(a, b), OR(a, b)))")
    grid = np.stack(np.meshgrid(np.linspace(-0.5, 1.5, 200), np.linspace(-0.5, 1.5, 200)), -1).reshape(-1, 2)
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.6))
    panels = [(n, lambda x, w=w: perceptron(x, *w)) for n, w in GATES.items()] + [("XOR (2 layers)", xor)]
    for ax, (name, gate) in zip(axes, panels):
        ax.contourf(grid[:, 0].reshape(200, 200), grid[:, 1].reshape(200, 200), gate(grid.astype(np.float32))
                    .reshape(200, 200), levels=[-0.5, 0.5, 1.5], colors=["#f3d6d6", "#d6e6f3"])
        outputs = gate(INPUTS)
        ax.scatter(INPUTS[:, 0], INPUTS[:, 1], c=["tab:red" if o == 0 else "tab:blue" for o in outputs], s=120,
                   edgecolors="k")
        ax.set_title(name)
        ax.set_xticks([0, 1])
        ax.set_yticks([0, 1])
    fig.suptitle("blue: output 1, red: output 0 — one line suffices for AND/NAND/OR, XOR needs two")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "perceptron_gates.png"))


if __name__ == "__main__":
    main()
