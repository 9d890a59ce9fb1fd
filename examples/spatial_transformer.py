"""A spatial transformer learns to undo rotation, scale and translation: Fashion-MNIST on a 42×42 canvas.

Each Fashion-MNIST item is put on a 42×42 canvas, turned by up to ±45°, scaled by 0.7–1.2 and moved
by up to 5 pixels (the "RTS" distortion of Jaderberg et al., 2015). The same small CNN is trained
twice, the same number of epochs: alone, and with a spatial transformer in front — a localisation
network that predicts an affine map θ from the image, and ``grid_sample`` reading the image through
it. Nothing tells the transformer what to do; the classifier's loss alone teaches it to turn, zoom
and centre the items. Prints both test accuracies and writes examples/out/spatial_transformer.png
(test inputs before and after the learned transform).

Needs Fashion-MNIST on disk (see ``gradwork.data.datasets.load_fashion_mnist``); a few minutes on 2 cores.
"""
import os
import time

import numpy as np

import gradwork as gw
import gradwork.nn.functional as F
from gradwork import nn, optim, train
from gradwork.data import ArrayDataset, datasets
from gradwork.errors import DataFileError
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
CANVAS = 42


def distort(images, rng):
    """Put (N, 1, 28, 28) images in the middle of a 42×42 canvas and warp each by a random rotation
    (±45°), scale (0.7–1.2) and translation (±5 pixels) — with grid_sample itself, outside the graph.

    Output pixel p reads the canvas at θ·(p, 1): to show the item turned by a and s times larger,
    θ = R(−a)/s, and a shift by t reads at p − t."""
    n = len(images)
    margin = (CANVAS - images.shape[-1]) // 2
    canvas = np.pad(images, ((0, 0), (0, 0), (margin, margin), (margin, margin)))
    angle = rng.uniform(-np.pi / 4, np.pi / 4, n)
    scale = rng.uniform(0.7, 1.2, n)
    shift = rng.uniform(-5, 5, (n, 2)) * 2 / CANVAS  # pixels → normalised units (a pixel is 2/42 wide)
    cos, sin = np.cos(angle) / scale, np.sin(angle) / scale
    theta = np.stack([np.stack([cos, sin, -shift[:, 0]], 1), np.stack([-sin, cos, -shift[:, 1]], 1)], 1)
    with gw.no_grad():
        grid = F.affine_grid(gw.tensor(theta.astype(np.float32)), canvas.shape)
        return F.grid_sample(gw.tensor(canvas), grid).data


def classifier():
    """The CNN both runs share: 42×42 → conv 5×5 → pool → conv 5×5 → pool → 64 → 10."""
    return nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2),       # 38×38 → 19×19
                         nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2),      # 15×15 → 7×7
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))


def localisation():
    """A small network that looks at a half-resolution image and returns 32 features; the
    SpatialTransformer's own last layer turns them into θ (starting from the identity)."""
    return nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(1, 8, 5), nn.MaxPool2d(2), nn.ReLU(),  # 21 → 17 → 8
                         nn.Conv2d(8, 10, 3), nn.MaxPool2d(2), nn.ReLU(),                 # 6 → 3
                         nn.Flatten(), nn.Linear(10 * 3 * 3, 32), nn.ReLU())


def load(n_train, n_test, seed):
    try:
        train_set, test_set = datasets.load_fashion_mnist(download=False)
    except DataFileError as error:
        raise DataFileError(f"the spatial_transformer demo needs Fashion-MNIST on disk.\n{error}") from None
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(train_set), n_train, replace=False)
    x_train, y_train = (a[pick] for a in train_set.arrays)
    x_test, y_test = (a[:n_test] for a in test_set.arrays)
    return (ArrayDataset(distort(x_train, rng), y_train), ArrayDataset(distort(x_test, rng), y_test),
            train_set.classes)


def picture(transformer, test_set, classes, accuracies, path, count=10):
    x, y = (a[:count] for a in test_set.arrays)
    with gw.no_grad(), transformer.evaluating():
        warped = transformer(gw.tensor(x)).data
    fig, axes = plt.subplots(2, count, figsize=(1.3 * count, 3.2))
    for i in range(count):
        for row, images in enumerate((x, warped)):
            axes[row, i].imshow(images[i, 0], cmap="gray_r", vmin=0, vmax=1)
            axes[row, i].set_xticks([])
            axes[row, i].set_yticks([])
        axes[0, i].set_title(classes[y[i]], fontsize=8)
    axes[0, 0].set_ylabel("distorted\ninput", fontsize=9)
    axes[1, 0].set_ylabel("after the\ntransformer", fontsize=9)
    fig.suptitle(f"Test accuracy: CNN {accuracies['CNN']:.1%}, spatial transformer + CNN "
                 f"{accuracies['spatial transformer + CNN']:.1%}", fontsize=10)
    fig.tight_layout()
    finish(fig, path)


def main(out=OUT, n_train=20_000, n_test=10_000, epochs=4, seed=0):
    start = time.perf_counter()
    train_set, test_set, classes = load(n_train, n_test, seed)
    print(f"{n_train:,} training and {n_test:,} test images, distorted on a {CANVAS}×{CANVAS} canvas")
    accuracies = {}
    for name in ("CNN", "spatial transformer + CNN"):
        gw.manual_seed(seed)
        transformer = nn.SpatialTransformer(localisation()) if name != "CNN" else None
        model = nn.Sequential(transformer, classifier()) if transformer else classifier()
        started = time.perf_counter()
        train.fit(model, train_set, loss="cross_entropy", epochs=epochs, batch_size=64,
                  optimizer=optim.Adam(model.parameters(), lr=1e-3), verbose=2)
        accuracies[name] = train.evaluate(model, test_set)["accuracy"]
        print(f"{name}: test accuracy {accuracies[name]:.4f} after {epochs} epochs "
              f"({time.perf_counter() - started:.0f} s)")
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "spatial_transformer.png")
    picture(transformer, test_set, classes, accuracies, path)
    print(f"wrote {path}; total {time.perf_counter() - start:.0f} s")
    return accuracies


if __name__ == "__main__":
    gw.backend.reuse_freed_memory()
    main()
