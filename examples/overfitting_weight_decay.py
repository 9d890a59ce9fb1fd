"""Over-fitting, and weight decay (L2 regularisation) against it.

A big MLP trained on 300 of the digits, 30% of whose labels were replaced at random, memorises
them all: training accuracy reaches 100% while validation accuracy falls back — the gap is
over-fitting (high variance). Weight decay (shrinking every weight a little each step; here
AdamW's decoupled form of the L2 penalty λ‖W‖²) keeps the weights small, so the network cannot
afford to memorise the noise, and the gap closes. Writes examples/out/overfitting.png.
"""
import os

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import Subset, datasets, train_val_split
from gradwork.data.synthetic import with_label_noise
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def big_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 300), nn.ReLU(), nn.Linear(300, 300), nn.ReLU(),
                         nn.Linear(300, 10))


def main(out=OUT, epochs=100, decays=(0.0, 2.0)):
    gw.manual_seed(0)
    train_set, val_set = train_val_split(datasets.load_digits()[0])
    small = with_label_noise(Subset(train_set, range(300)), 0.3)
    fig, axes = plt.subplots(1, len(decays), figsize=(5.5 * len(decays), 4), sharey=True, squeeze=False)
    for ax, decay in zip(axes[0], decays):
        gw.manual_seed(0)
        model = big_mlp()
        history = train.fit(model, small, val_data=val_set, loss="cross_entropy", epochs=epochs, batch_size=32,
                            optimizer=optim.AdamW(model.parameters(), lr=1e-3, weight_decay=decay), verbose=0)
        h = history.history
        ax.plot(h["accuracy"], label="training")
        ax.plot(h["val_accuracy"], label="validation")
        ax.fill_between(range(epochs), h["accuracy"], h["val_accuracy"], color="tab:red", alpha=0.12, label="gap")
        ax.set_title(f"weight decay {decay}: gap {h['accuracy'][-1] - h['val_accuracy'][-1]:.3f}")
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        weight_norm = sum(float((p.data ** 2).sum()) for p in model.parameters()) ** 0.5
        print(f"weight decay {decay:<4}: training accuracy {h['accuracy'][-1]:.3f}, validation "
              f"{h['val_accuracy'][-1]:.3f}, weight norm {weight_norm:.1f}")
    axes[0][0].set_ylabel("accuracy")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "overfitting.png"))


if __name__ == "__main__":
    main()
