"""Model ensembles: 5 independently initialised MLPs on Fashion-MNIST, each alone and their average.

CS231n's cheapest reliable gain: train the same network several times from different random
initialisations, then average the members' class probabilities (``models.Ensemble``). Each member
lands in a different minimum and makes partly different mistakes; the average cancels some of them.
Members: MLP 784-256-128-10 (ReLU), Adam (lr 1e-3), batch 128, 3 epochs on the 60,000 training
images; accuracy on the 10,000 test images.
Writes examples/out/ensembles.png.
"""
import os
import time

import numpy as np

import gradwork as gw
from gradwork import optim, train
from gradwork.data import datasets
from gradwork.errors import DataFileError
from gradwork.models import MLP, Ensemble
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def main(out=OUT, members=5, epochs=3):
    try:
        train_set, test_set = datasets.load_fashion_mnist(download=False)
    except DataFileError as error:
        raise SystemExit(f"this demo needs Fashion-MNIST on disk.\n{error}") from None
    models, alone = [], []
    for seed in range(members):
        start = time.perf_counter()
        gw.manual_seed(seed)                       # a different initialisation and batch order for each member
        model = MLP([784, 256, 128, 10])
        train.fit(model, train_set, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=1e-3),
                  epochs=epochs, batch_size=128, verbose=0)
        models.append(model)
        alone.append(train.evaluate(model, test_set)["accuracy"])
        print(f"member {seed + 1}: test accuracy {alone[-1]:.4f}  ({time.perf_counter() - start:.0f} s)", flush=True)
    together = [train.evaluate(Ensemble(models[:k]), test_set, loss="cross_entropy")
                for k in range(1, members + 1)]
    for k, result in enumerate(together, 1):
        print(f"ensemble of the first {k}: test accuracy {result['accuracy']:.4f}, "
              f"cross-entropy {result['loss']:.4f}")
    print(f"members alone: mean {np.mean(alone):.4f}, best {max(alone):.4f}; ensemble of {members}: "
          f"{together[-1]['accuracy']:.4f} ({100 * (together[-1]['accuracy'] - np.mean(alone)):+.2f} points over "
          f"the mean member, {100 * (together[-1]['accuracy'] - max(alone)):+.2f} over the best)")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sizes = np.arange(1, members + 1)
    ax.plot(sizes, [r["accuracy"] for r in together], "o-", label="ensemble of the first k members")
    ax.scatter(sizes, alone, color="gray", marker="x", label="member k alone")
    ax.axhline(np.mean(alone), color="gray", linestyle="--", linewidth=1, label="mean member")
    ax.set_xticks(sizes)
    ax.set_xlabel("k")
    ax.set_ylabel("test accuracy (10,000 images)")
    ax.set_title(f"Fashion-MNIST, MLP 784-256-128-10, {epochs} epochs each")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "ensembles.png"))


if __name__ == "__main__":
    main()
