"""Datasets: anything with ``len(ds)`` and ``ds[i]``; ``ArrayDataset`` over in-memory arrays; splits.

A dataset may also answer ``get_batch(indices)`` with whole stacked arrays at once. ``ArrayDataset``
does, with one fancy-indexing operation per array, so a ``DataLoader`` never loops over examples.
"""
import numbers

from gradwork import backend
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp


class Dataset:
    """The protocol: ``__len__`` and ``__getitem__(i)`` returning a tuple of arrays (e.g. image, label)."""

    def __len__(self):
        raise NotImplementedError

    def __getitem__(self, index):
        raise NotImplementedError

    def get_batch(self, indices):
        """The examples at ``indices``, stacked: a tuple with one array per field."""
        items = [self[int(i)] for i in indices]
        if not isinstance(items[0], tuple):
            return (xp.stack([xp.asarray(item) for item in items]),)
        return tuple(xp.stack([xp.asarray(item[k]) for item in items]) for k in range(len(items[0])))


class ArrayDataset(Dataset):
    """Examples stored as arrays with a common first axis: ``ArrayDataset(images, labels)``.

    ``ds[i]`` is ``(images[i], labels[i])``; ``ds.arrays`` are the arrays themselves.
    """

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("ArrayDataset: give at least one array")
        arrays = tuple(a.data if isinstance(a, Tensor) else xp.asarray(a) for a in arrays)
        lengths = [len(a) if a.ndim else None for a in arrays]
        if None in lengths or len(set(lengths)) != 1:
            raise ValueError(f"ArrayDataset: all arrays need the same first dimension (one entry per example), "
                             f"got shapes {[a.shape for a in arrays]}")
        self.arrays = arrays

    def __len__(self):
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def get_batch(self, indices):
        return tuple(a[indices] for a in self.arrays)


class Subset(Dataset):
    """The examples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = xp.asarray(indices, dtype=xp.int64)

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def get_batch(self, indices):
        return self.dataset.get_batch(self.indices[indices])

    @property
    def arrays(self):
        """The subset's arrays, gathered (handy for small data, e.g. scikit-learn tools)."""
        return self.get_batch(xp.arange(len(self)))


def random_split(dataset, lengths):
    """Split into non-overlapping random subsets of the given ``lengths``; fractions that sum to 1
    are accepted too (``random_split(ds, [0.8, 0.2])``). Uses gradwork's generator."""
    n = len(dataset)
    if all(isinstance(x, numbers.Real) and 0 <= x <= 1 for x in lengths) and abs(sum(lengths) - 1) < 1e-6 \
            and not all(isinstance(x, numbers.Integral) for x in lengths):
        counts = [int(n * f) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n or any(x < 0 for x in lengths):
        raise ValueError(f"random_split: the lengths {list(lengths)} must be non-negative and sum to the "
                         f"dataset's {n} examples (or be fractions that sum to 1)")
    order = backend.rng().permutation(n)
    subsets, start = [], 0
    for length in lengths:
        subsets.append(Subset(dataset, order[start:start + length]))
        start += length
    return subsets


def train_val_split(dataset, val_fraction=0.2):
    """Hold out ``val_fraction`` of the examples (20% by default) for validation: (train, val)."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"train_val_split: val_fraction must be in (0, 1), got {val_fraction}")
    n = len(dataset)
    n_val = int(round(n * val_fraction))
    if n_val == 0 or n_val == n:
        raise ValueError(f"train_val_split: {n} examples are too few to hold out {val_fraction:.0%} for validation")
    train, val = random_split(dataset, [n - n_val, n_val])
    return train, val
