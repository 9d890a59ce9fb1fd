"""Generative vs discriminative: a Gaussian classifier beside logistic regression as the training set grows.

Fashion-MNIST, two pairs of classes (Sandal against Sneaker; Pullover against Coat, which look
alike), 784 pixels each. The generative model (``models.GaussianClassifier``, shared covariance) fits
priors, means and one covariance in closed form; logistic regression (``models.LogisticRegression``)
learns the same kind of linear boundary, softmax(xW + b), by gradient descent on the cross-entropy.
The generative model assumes more (Gaussian classes with one covariance): a help when there are few
examples to learn from, a limit when there are many (Ng & Jordan 2002) — how much of each depends on
how far from Gaussian the classes are. Each training-set size is drawn 5 times, balanced between the
classes; test accuracy is on all 2,000 test images of the pair.
Writes examples/out/generative_vs_discriminative.png.
"""
import os
import time

import numpy as np

import gradwork as gw
from gradwork import optim, train
from gradwork.data import datasets
from gradwork.errors import DataFileError
from gradwork.models import GaussianClassifier, LogisticRegression
from gradwork.tools.viz._figure import finish, plt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "out")
PAIRS = {"Sandal vs Sneaker": (5, 7), "Pullover vs Coat": (2, 4)}
SIZES = (20, 50, 100, 200, 500, 1000, 5000)
REG = 0.01                            # ridge on the covariance diagonal: pixel variances are 0 … 0.2
STEPS = 4000                          # Adam steps for logistic regression at every size


def two_classes(dataset, pair):
    x, y = dataset.arrays
    keep = np.isin(y, pair)
    return x[keep].reshape(keep.sum(), -1), (y[keep] == pair[1]).astype(np.int64)


def draw(y, n, rng):
    """n training indices, half from each class."""
    return np.concatenate([rng.choice(np.flatnonzero(y == k), n // 2, replace=False) for k in (0, 1)])


def logistic_regression(x, y, seed):
    gw.manual_seed(seed)
    model = LogisticRegression(x.shape[1], 2)
    batch = min(len(x), 64)
    epochs = max(1, round(STEPS / -(-len(x) // batch)))
    train.fit(model, (x, y), loss="cross_entropy", optimizer=optim.Adam(model.parameters(), lr=1e-3), epochs=epochs,
              batch_size=batch, verbose=0)
    return model


def learning_curves(train_set, test_set, pair, sizes, repeats):
    """{model: [(mean, std) of test accuracy for each size]} for one pair of classes."""
    x, y = two_classes(train_set, pair)
    test_x, test_y = two_classes(test_set, pair)
    rng = np.random.default_rng(0)
    results = {"generative": [], "discriminative": []}
    for n in sizes:
        start = time.perf_counter()
        scores = {"generative": [], "discriminative": []}
        for r in range(repeats):
            index = draw(y, n, rng)
            gaussian = GaussianClassifier(shared_covariance=True, reg=REG).fit(x[index], y[index])
            scores["generative"].append(gaussian.score(test_x, test_y))
            logistic = logistic_regression(x[index], y[index], seed=r)
            scores["discriminative"].append(train.evaluate(logistic, (test_x, test_y))["accuracy"])
        for name, values in scores.items():
            results[name].append((np.mean(values), np.std(values)))
        print(f"  N = {n:>5}: Gaussian classifier {np.mean(scores['generative']):.3f} ± "
              f"{np.std(scores['generative']):.3f}, logistic regression {np.mean(scores['discriminative']):.3f} ± "
              f"{np.std(scores['discriminative']):.3f}  ({time.perf_counter() - start:.0f} s)", flush=True)
    return results


def main(out=OUT, sizes=SIZES, repeats=5):
    try:
        train_set, test_set = datasets.load_fashion_mnist(download=False)
    except DataFileError as error:
        raise SystemExit(f"this demo needs Fashion-MNIST on disk.\n{error}") from None
    labels = {"generative": "Gaussian classifier, shared covariance (generative)",
              "discriminative": "logistic regression (discriminative)"}
    fig, axes = plt.subplots(1, len(PAIRS), figsize=(11, 4.2))
    for ax, (title, pair) in zip(axes, PAIRS.items()):
        print(f"{title}:")
        for name, rows in learning_curves(train_set, test_set, pair, sizes, repeats).items():
            mean, std = np.array(rows).T
            ax.plot(sizes, mean, "o-", label=labels[name])
            ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
        ax.set_xscale("log")
        ax.set_xlabel("training examples (half of each class)")
        ax.set_ylabel("test accuracy (2,000 images)")
        ax.set_title(f"Fashion-MNIST, {title}")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8, loc="lower right")
    fig.suptitle(f"mean ± std over {repeats} draws of the training set", fontsize=9)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    finish(fig, os.path.join(out, "generative_vs_discriminative.png"))


if __name__ == "__main__":
    main()
