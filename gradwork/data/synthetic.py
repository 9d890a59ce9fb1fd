"""Small synthetic tasks that test one ability of a model, generated on the fly (seeded)."""
from gradwork import backend
from gradwork.backend import xp

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
