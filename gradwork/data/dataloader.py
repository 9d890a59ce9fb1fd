"""``DataLoader``: mini-batches of a dataset, optionally shuffled each epoch."""
import math
import numbers

from gradwork import backend
from gradwork.backend import Device, to_device, xp


class DataLoader:
    """Iterate over ``dataset`` in batches of ``batch_size``, yielding tuples of stacked arrays.

    Args:
        shuffle: draw a new order every epoch (from gradwork's generator, so ``manual_seed`` repeats it).
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        transform: applied to each batch's first array (the inputs), e.g. random augmentation.
        device: where the batches go ("cpu", "cuda", "cuda:1"; ``None``: they stay where the dataset
            keeps them, on the host). The dataset, the shuffling and the transform stay on the host;
            each finished batch is copied to the device in one transfer per array.
    """

    def __init__(self, dataset, batch_size=32, shuffle=False, drop_last=False, transform=None, device=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size <= 0:
            raise ValueError(f"DataLoader: batch_size must be a positive integer, got {batch_size!r}")
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty; check the path or the split that produced it")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last, self.transform = shuffle, drop_last, transform
        self.device = None if device is None else Device(device)

    def __len__(self):
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        order = backend.rng().permutation(n) if self.shuffle else xp.arange(n)
        for b in range(len(self)):
            batch = self.dataset.get_batch(order[b * self.batch_size:(b + 1) * self.batch_size])
            if self.transform is not None:
                batch = (self.transform(batch[0]),) + tuple(batch[1:])
            if self.device is not None:
                batch = tuple(to_device(array, self.device) for array in batch)
            yield batch
