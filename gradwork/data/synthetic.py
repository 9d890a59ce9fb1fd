"""Small synthetic tasks that test one ability of a model, generated on the fly (seeded)."""
from gradwork import backend
from gradwork.backend import xp
from gradwork.data.dataset import ArrayDataset

SEQUENCE_TASKS = ("reverse", "sort")


def digit_sequences(task, n, length=8, num_digits=10, rng=None):
    """(x, y), both (n, length) int64: random digit sequences and their reversal or sorted order.

    Each output position depends on inputs far away (reverse: y_t = x_{T−1−t}) or on all of them
    (sort), so a model that only looks at each position alone cannot solve it; attention can.
    """
    if task not in SEQUENCE_TASKS:
        raise ValueError(f"digit_sequences: task must be one of {', '.join(SEQUENCE_TASKS)}, got {task!r}")
    rng = rng or backend.rng()
    x = rng.integers(0, num_digits, (n, length))
    y = x[:, ::-1].copy() if task == "reverse" else xp.sort(x, axis=1)
    return x.astype(xp.int64), y.astype(xp.int64)


def with_label_noise(dataset, fraction, num_classes=None, rng=None):
    """A copy of ``dataset`` (an (x, y) dataset) in which a random ``fraction`` of the labels is replaced
    by random classes — the noise a large network memorises when it over-fits."""
    if not 0 <= fraction <= 1:
        raise ValueError(f"with_label_noise: fraction must be in [0, 1], got {fraction}")
    rng = rng or backend.rng()
    x, y = dataset.get_batch(slice(None))
    y = y.copy()
    num_classes = num_classes or int(y.max()) + 1
    noisy = rng.random(len(y)) < fraction
    y[noisy] = rng.integers(0, num_classes, int(noisy.sum()))
    return ArrayDataset(x, y)
