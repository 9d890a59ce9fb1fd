"""DistributedSampler and ShardedLoader: the ranks' shares of an epoch, computed without MPI (each
rank's sampler is made with its rank and the world size given)."""
import subprocess
import sys

import numpy as np
import pytest

from gradwork.data import ArrayDataset, DataLoader
from gradwork.distributed import DistributedSampler, ShardedLoader
from gradwork.errors import ConfigError
from tests.distributed.helpers import python_env


def shards(n, size, **options):
    samplers = [DistributedSampler(n, num_replicas=size, rank=r, **options) for r in range(size)]
    for s in samplers:
        s.set_epoch(3)
    return [s.indices() for s in samplers]


@pytest.mark.parametrize("n, size", [(12, 4), (10, 4), (7, 3), (2, 5), (1000, 8)])
def test_the_shards_cover_the_data_with_equal_lengths(n, size):
    parts = shards(n, size, seed=5)
    assert len({len(p) for p in parts}) == 1 and len(parts[0]) == -(-n // size)  # ceil: padded
    assert set(np.concatenate(parts)) == set(range(n))
    repeats = len(np.concatenate(parts)) - n
    assert 0 <= repeats < size or n < size  # only the padding repeats examples


@pytest.mark.parametrize("n, size", [(12, 4), (10, 4), (1000, 7)])
def test_drop_last_shards_are_disjoint_and_equal(n, size):
    parts = shards(n, size, drop_last=True)
    everything = np.concatenate(parts)
    assert len(set(everything)) == len(everything) == n // size * size
    assert len({len(p) for p in parts}) == 1


def test_step_s_of_all_ranks_is_batch_s_of_one_process():
    """Strided shards: rank r's j-th example is the permutation's (j·N + r)-th, so the ranks' batches of b
    together are one process's batch of N·b from the same permutation."""
    n, size, b = 64, 2, 8
    one = DistributedSampler(n, num_replicas=1, rank=0, seed=9)
    one.set_epoch(3)
    order = one.indices()
    parts = shards(n, size, seed=9)
    for step in range(n // (size * b)):
        together = np.concatenate([p[step * b:(step + 1) * b] for p in parts])
        assert sorted(together) == sorted(order[step * size * b:(step + 1) * size * b])


def test_each_epoch_has_its_own_shuffle_the_same_on_every_rank():
    sampler = DistributedSampler(50, num_replicas=1, rank=0, seed=1)
    first = sampler.indices()
    sampler.set_epoch(1)
    assert not np.array_equal(first, sampler.indices())
    sampler.set_epoch(0)
    assert np.array_equal(first, sampler.indices())
    assert np.array_equal(DistributedSampler(50, num_replicas=1, rank=0, seed=1).indices(), first)


def test_without_shuffle_the_shards_stride_through_the_data_in_order():
    assert [list(p) for p in shards(6, 2, shuffle=False)] == [[0, 2, 4], [1, 3, 5]]


def test_the_sharded_loader_keeps_the_batch_size_and_transform():
    x, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader(ArrayDataset(x, y), batch_size=2, transform=lambda a: -a)
    sharded = ShardedLoader(loader, DistributedSampler(10, num_replicas=2, rank=1, shuffle=False))
    batches = list(sharded)
    assert len(sharded) == len(batches) == 3
    assert [list(b[1]) for b in batches] == [[1, 3], [5, 7], [9]]
    assert np.array_equal(batches[0][0], -x[[1, 3]])


def test_bad_sampler_arguments_are_named():
    with pytest.raises(ConfigError, match="rank must be in"):
        DistributedSampler(10, num_replicas=2, rank=2)
    with pytest.raises(ConfigError, match="num_replicas must be a positive integer"):
        DistributedSampler(10, num_replicas=0, rank=0)
    with pytest.raises(ConfigError, match="drop_last"):
        DistributedSampler(2, num_replicas=3, rank=0, drop_last=True)


def test_outside_mpi_a_process_is_rank_0_of_1_and_imports_no_mpi():
    code = ("import sys, gradwork as gw; d = gw.distributed; "
            "print(d.rank(), d.world_size(), d.is_main(), 'mpi4py' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert out.stdout.split() == ["0", "1", "True", "False"], out.stderr
