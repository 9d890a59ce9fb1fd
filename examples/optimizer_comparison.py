"""Optimiser comparison: SGD, Momentum, Nesterov, AdaGrad, RMSProp and Adam.

Left: their paths on f(x, y) = x²/20 + y² from the same start (SGD zig-zags across the steep
direction; the adaptive methods scale each coordinate). Right: the same optimisers training one
MLP on the digits — training loss per epoch. Writes examples/out/optimizer_paths.png,
optimizer_saddle.png and optimizer_training.png.
"""
import os

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import datasets
from gradwork.tools.viz import plot_optimizer_paths
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
TRAINING = {"SGD": (optim.SGD, {"lr": 0.05}), "Momentum": (optim.SGD, {"lr": 0.05, "momentum": 0.9}),
            "Nesterov": (optim.SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
            "AdaGrad": (optim.Adagrad, {"lr": 0.05}), "RMSProp": (optim.RMSprop, {"lr": 1e-3}),
            "Adam": (optim.Adam, {"lr": 1e-3})}


def main(out=OUT, epochs=15):
    os.makedirs(out, exist_ok=True)
    plot_optimizer_paths("elongated", os.path.join(out, "optimizer_paths.png"))
    plot_optimizer_paths("saddle", os.path.join(out, "optimizer_saddle.png"))
    train_set, _ = datasets.load_digits()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, (cls, options) in TRAINING.items():
        gw.manual_seed(0)  # the same initial weights and batches for every optimiser
        model = nn.Sequential(nn.Flatten(), nn.Linear(64, 100), nn.ReLU(), nn.Linear(100, 10))
        history = train.fit(model, train_set, loss="cross_entropy", optimizer=cls(model.parameters(), **options),
                            epochs=epochs, batch_size=64, verbose=0)
        losses = history.history["loss"]
        ax.plot(range(1, epochs + 1), losses, marker="o", ms=3, label=f"{name} {options}")
        print(f"{name:<9} loss after 1 epoch {losses[0]:.3f}, after {epochs}: {losses[-1]:.4f}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    finish(fig, os.path.join(out, "optimizer_training.png"))


if __name__ == "__main__":
    main()
