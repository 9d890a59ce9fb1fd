"""``DistributedSampler``: each rank's share of every epoch, and ``ShardedLoader``, the batches of it.

Every epoch, every rank draws the same permutation of the examples (from the same seed and the
epoch number, so no rank has to send it), and rank r takes every N-th position of it, starting
at r::

    permutation      p0 p1 p2 p3 p4 p5 p6 p7 p8 p9 p0 p1     (10 examples, N = 4: padded to 12)
    rank 0           p0          p4          p8
    rank 1              p1          p5          p9
    rank 2                 p2          p6          p0
    rank 3                    p3          p7          p1

Strided, not in blocks, so that step s of all ranks together (each taking its next b indices) is
exactly the batch s that one process with batch N·b would take from the same permutation: the
data-parallel run and the single process see the same examples at every step.

Every rank must take the same number of steps — an ``Allreduce`` waits for all ranks, and a rank
that has finished its epoch would never join the last one. When N does not divide the number of
examples, the permutation is therefore padded by repeating its first examples (a few examples count
twice that epoch, a different few each epoch), or, with ``drop_last=True``, cut to a multiple of N
(a few examples are left out that epoch).
"""
import math
import numbers

import numpy as np

from gradwork.data.dataloader import DataLoader
from gradwork.data.dataset import Subset
from gradwork.distributed import world
from gradwork.errors import ConfigError


class DistributedSampler:
    """The indices of this rank's shard of ``dataset`` for the current epoch (PyTorch's name and
    arguments).

    Args:
        dataset: anything with a length (or the number of examples itself).
        num_replicas, rank: the world size and this rank (default: the MPI world's).
        shuffle: a new permutation every epoch, from ``seed`` and the epoch (``set_epoch``); without
            it the shards stride through the examples in order.
        seed: the same on every rank, or the shards overlap.
        drop_last: cut the permutation to a multiple of ``num_replicas`` instead of padding it.
    """

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False):
        self.num_examples = dataset if isinstance(dataset, numbers.Integral) else len(dataset)
        self.num_replicas = world.world_size() if num_replicas is None else num_replicas
        self.rank = world.rank() if rank is None else rank
        if isinstance(self.num_replicas, bool) or not isinstance(self.num_replicas, numbers.Integral) \
                or self.num_replicas < 1:
            raise ConfigError(f"DistributedSampler: num_replicas must be a positive integer, got {num_replicas!r}")
        if not (isinstance(self.rank, numbers.Integral) and 0 <= self.rank < self.num_replicas):
            raise ConfigError(f"DistributedSampler: rank must be in [0, {self.num_replicas}), got {rank!r}")
        if drop_last and self.num_examples < self.num_replicas:
            raise ConfigError(f"DistributedSampler: {self.num_examples} examples cannot give each of "
                              f"{self.num_replicas} ranks one with drop_last=True")
        if self.num_examples == 0:
            raise ConfigError("DistributedSampler: the dataset is empty")
        self.shuffle, self.seed, self.drop_last = shuffle, int(seed), drop_last
        self.epoch = 0
        per_rank = self.num_examples / self.num_replicas
        self.num_samples = math.floor(per_rank) if drop_last else math.ceil(per_rank)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch):
        """Use epoch ``epoch``'s permutation (call it at the start of every epoch, on every rank)."""
        self.epoch = int(epoch)

    def permutation(self):
        """This epoch's order of all the examples, the same on every rank."""
        if not self.shuffle:
            return np.arange(self.num_examples)
        return np.random.default_rng([self.seed, self.epoch]).permutation(self.num_examples)

    def indices(self):
        """This rank's ``num_samples`` indices for the epoch."""
        order = self.permutation()
        if self.total_size > len(order):  # pad with the first examples (several times over for tiny data)
            order = np.resize(order, self.total_size)
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self):
        return self.num_samples


class ShardedLoader:
    """The batches of a ``DataLoader`` drawn from this rank's shard instead of the whole data set:
    same dataset, batch size (per rank), ``drop_last`` and transform; the order is the sampler's.
    Call ``set_epoch(epoch)`` before each epoch."""

    def __init__(self, loader, sampler):
        self.dataset, self.batch_size = loader.dataset, loader.batch_size
        self.drop_last, self.transform = loader.drop_last, loader.transform
        self.sampler = sampler

    def set_epoch(self, epoch):
        self.sampler.set_epoch(epoch)

    def __len__(self):
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        shard = Subset(self.dataset, self.sampler.indices())
        return iter(DataLoader(shard, self.batch_size, shuffle=False, drop_last=self.drop_last,
                               transform=self.transform))
