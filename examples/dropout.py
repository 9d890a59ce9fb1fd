"""Dropout against over-fitting: the same big MLP on 300 digits with 30% noisy labels, without and with dropout.

In training each hidden unit is zeroed with probability p and the survivors scaled by 1/(1 − p)
(inverted dropout), so no unit can rely on any other and memorising the noise gets hard; in
evaluation nothing is dropped.
Writes examples/out/dropout.png.
"""
import os

import gradwork as gw
from gradwork import nn, optim, train
from gradwork.data import Subset, datasets, train_val_split
from gradwork.data.synthetic import with_label_noise
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")


def mlp(p):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 300), nn.ReLU(), nn.Dropout(p), nn.Linear(300, 300), nn.ReLU(),
                         nn.Dropout(p), nn.Linear(300, 10))


def main(out=OUT, epochs=100, rates=(0.0, 0.5, 0.7)):
    gw.manual_seed(0)
    train_set, val_set = train_val_split(datasets.load_digits()[0])
    small = with_label_noise(Subset(train_set, range(300)), 0.3)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for p in rates:
        gw.manual_seed(0)
        model = mlp(p)
        h = train.fit(model, small, val_data=val_set, loss="cross_entropy", epochs=epochs, batch_size=32,
                      optimizer=optim.Adam(model.parameters(), lr=1e-3), verbose=0).history
        line, = ax.plot(h["val_accuracy"], label=f"validation, dropout {p}")
        ax.plot(h["accuracy"], "--", color=line.get_color(), alpha=0.6, label=f"training, dropout {p}")
        print(f"dropout {p}: training accuracy {h['accuracy'][-1]:.3f}, validation {h['val_accuracy'][-1]:.3f}, "
              f"best validation {max(h['val_accuracy']):.3f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "dropout.png"))


if __name__ == "__main__":
    main()
