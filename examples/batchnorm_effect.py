"""What batch normalisation changes: the same deep MLP with and without BatchNorm.

Four sigmoid layers, SGD with momentum on the digits, the same seed, at a normal and at a ten times
larger learning rate. Without BatchNorm the sigmoids saturate and the network stays at chance for
many epochs; with it every layer's inputs are re-centred and it learns at both rates.
Writes examples/out/batchnorm.png with validation accuracy per epoch."""
import os

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import datasets, train_val_split
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def mlp(batchnorm):
    layers = [nn.Flatten()]
    for n_in, n_out in ((64, 100), (100, 100), (100, 100), (100, 100)):
        layers += [nn.Linear(n_in, n_out)] + ([nn.BatchNorm1d(n_out)] if batchnorm else []) + [nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(100, 10))


def main(out=OUT, epochs=20):
    gw.manual_seed(0)
    train_set, val_set = train_val_split(datasets.load_digits()[0])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, lr in zip(axes, (0.01, 0.1)):
        for batchnorm in (False, True):
            gw.manual_seed(0)
            model = mlp(batchnorm)
            history = train.fit(model, train_set, val_data=val_set, loss="cross_entropy", epochs=epochs,
                                optimizer=optim.SGD(model.parameters(), lr=lr, momentum=0.9), verbose=0)
            accuracy = history.history["val_accuracy"]
            label = "with BatchNorm" if batchnorm else "without"
            ax.plot(range(1, epochs + 1), accuracy, marker="o", ms=3, label=label)
            print(f"lr {lr:<5} {label:<15} validation accuracy after 3 epochs {accuracy[2]:.3f}, "
                  f"after {epochs}: {accuracy[-1]:.3f}")
        ax.set_title(f"4 sigmoid layers, SGD momentum, lr {lr}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    axes[0].set_ylabel("validation accuracy")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "batchnorm.png"))


if __name__ == "__main__":
    main()
