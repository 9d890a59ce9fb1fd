"""The max-norm constraint: each unit's incoming weights kept in a ball ‖w‖₂ ≤ c after every step.

The same dropout MLP on the digits, trained with large SGD steps with and without ``train.MaxNorm(c)``.
The picture shows what the constraint does — the largest incoming-weight norm of the first layer,
epoch by epoch, grows freely without it and stops at c with it — beside the validation accuracy of
both runs (whatever it turns out to be: the constraint bounds the weights, it does not promise accuracy).
Writes examples/out/max_norm.png.
"""
import os

import numpy as np

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import datasets, train_val_split
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


class FirstLayerNorms(train.Callback):
    """Records the largest incoming-weight norm of the first Linear layer at the end of every epoch."""

    def __init__(self, layer):
        self.layer, self.norms = layer, []

    def on_epoch_end(self, state, logs):
        self.norms.append(float(np.sqrt((self.layer.weight.data ** 2).sum(axis=1)).max()))


def run(max_value, epochs, lr):
    gw.manual_seed(0)
    train_set, val_set = train_val_split(datasets.load_digits()[0])
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Dropout(0.5), nn.Linear(256, 10))
    norms = FirstLayerNorms(model[1])
    callbacks = [norms] + ([train.MaxNorm(max_value)] if max_value is not None else [])
    history = train.fit(model, train_set, val_data=val_set, loss="cross_entropy", epochs=epochs, batch_size=32,
                        optimizer=optim.SGD(model.parameters(), lr=lr, momentum=0.9), callbacks=callbacks,
                        verbose=0).history
    return norms.norms, history["val_accuracy"]


def main(out=OUT, epochs=40, lr=0.05, max_value=1.0):
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for c in (None, max_value):
        norms, accuracy = run(c, epochs, lr)
        label = "no constraint" if c is None else f"MaxNorm({c:g})"
        left.plot(range(1, epochs + 1), norms, label=label)
        right.plot(range(1, epochs + 1), accuracy, label=label)
        print(f"{label}: largest first-layer norm {norms[-1]:.2f} (max over training {max(norms):.2f}), "
              f"validation accuracy {accuracy[-1]:.3f} (best {max(accuracy):.3f})")
    left.axhline(max_value, color="grey", linestyle=":", linewidth=1)
    left.set(xlabel="epoch", ylabel="largest ‖w‖₂ of a first-layer unit", title="incoming-weight norms")
    right.set(xlabel="epoch", ylabel="validation accuracy", title=f"SGD, momentum 0.9, lr {lr:g}, dropout 0.5")
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "max_norm.png"))


if __name__ == "__main__":
    main()
