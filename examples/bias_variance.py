"""Bias and variance: diagnosing what to do next from training and validation error.

First the course's four cases, then three real models on the digits: a linear model on the digits
blurred to 2×2 pixels (too simple: high bias), a big MLP on 100 examples (memorises: high variance),
and a reasonable MLP on all the training data. With only 287 validation images a difference of two
points is noise, so here a gap counts as high above 5 points. Writes examples/out/bias_variance.png.
"""
import os

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import Subset, datasets, train_val_split
from gradwork.tools import diagnose
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


class FourPixels(nn.Module):
    """A linear classifier that sees each digit blurred to 2×2 pixels: too simple to fit the digits."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 10)

    def forward(self, x):
        blurred = x.reshape(x.shape[0], 2, 4, 2, 4).mean(axis=(2, 4))  # average each 4×4 block
        return self.linear(blurred.reshape(x.shape[0], 4))


THRESHOLD = 0.05


def main(out=OUT, epochs=40):
    for train_error, dev_error in ((0.01, 0.11), (0.15, 0.16), (0.15, 0.30), (0.005, 0.01)):
        print(f"train {train_error:.1%}, dev {dev_error:.1%} → {diagnose(train_error, dev_error).verdict}")
    gw.manual_seed(0)
    train_set, val_set = train_val_split(datasets.load_digits()[0])
    cases = {"linear on 2×2 pixels": (FourPixels, train_set),
             "big MLP, 100 examples": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(),
                                                            nn.Linear(256, 10)), Subset(train_set, range(100))),
             "MLP, all data": (lambda: nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10)),
                               train_set)}
    errors = {}
    for name, (build, data) in cases.items():
        gw.manual_seed(0)
        model = build()
        train.fit(model, data, loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=3e-3),
                  epochs=epochs, verbose=0)
        train_error = 1 - train.evaluate(model, data)["accuracy"]
        dev_error = 1 - train.evaluate(model, val_set)["accuracy"]
        errors[name] = (train_error, dev_error)
        print(f"\n{name}: training error {train_error:.1%}, validation error {dev_error:.1%}")
        print(diagnose(train_error, dev_error, threshold=THRESHOLD))
    fig, ax = plt.subplots(figsize=(7.5, 4))
    names = list(errors)
    positions = range(len(names))
    ax.bar([p - 0.2 for p in positions], [errors[n][0] for n in names], width=0.4, label="training error")
    ax.bar([p + 0.2 for p in positions], [errors[n][1] for n in names], width=0.4, label="validation error")
    ax.set_xticks(list(positions))
    ax.set_xticklabels([f"{n}\n{diagnose(*errors[n], threshold=THRESHOLD).verdict}" for n in names], fontsize=8)
    ax.set_ylabel("error")
    ax.legend()
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "bias_variance.png"))


if __name__ == "__main__":
    main()
