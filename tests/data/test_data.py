"""Datasets, loaders, splits and the bundled digits."""
import numpy as np
import pytest

import gradwork as gw
from gradwork.data import ArrayDataset, DataLoader, Dataset, datasets, random_split, train_val_split
from gradwork.errors import ConfigError


def toy(n=10):
    return ArrayDataset(np.arange(n * 2, dtype=np.float32).reshape(n, 2), np.arange(n))


def test_array_dataset_indexes_every_array():
    ds = toy()
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y == 3 and len(ds) == 10


def test_array_dataset_rejects_arrays_of_different_lengths():
    with pytest.raises(ValueError, match="same first dimension"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(4))


def test_loader_yields_stacked_batches_and_a_short_last_batch():
    batches = list(DataLoader(toy(), batch_size=4))
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    assert batches[0][0].shape == (4, 2)
    assert len(DataLoader(toy(), batch_size=4, drop_last=True)) == 2


def test_shuffling_covers_every_example_and_follows_the_seed():
    gw.manual_seed(1)
    first = np.concatenate([b[1] for b in DataLoader(toy(), batch_size=3, shuffle=True)])
    assert sorted(first.tolist()) == list(range(10)) and first.tolist() != list(range(10))
    gw.manual_seed(1)
    again = np.concatenate([b[1] for b in DataLoader(toy(), batch_size=3, shuffle=True)])
    np.testing.assert_array_equal(first, again)


def test_loader_works_with_a_plain_dataset():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i]), i

    x, y = next(iter(DataLoader(Squares(), batch_size=5)))
    assert x.shape == (5, 2) and y.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_batch_size_must_be_a_positive_integer(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(toy(), batch_size=bad)


def test_empty_dataset_is_rejected():
    with pytest.raises(ValueError, match="empty"):
        DataLoader(ArrayDataset(np.zeros((0, 2)), np.zeros(0)))


def test_random_split_by_counts_and_fractions():
    a, b = random_split(toy(), [7, 3])
    assert len(a) == 7 and len(b) == 3
    assert set(a.indices.tolist()).isdisjoint(b.indices.tolist())
    c, d = random_split(toy(), [0.5, 0.5])
    assert len(c) == len(d) == 5
    with pytest.raises(ValueError, match="sum to"):
        random_split(toy(), [3, 3])


def test_train_val_split_holds_out_20_percent_by_default():
    train, val = train_val_split(toy(100))
    assert len(train) == 80 and len(val) == 20
    x, y = DataLoader(val, batch_size=100).__iter__().__next__()
    assert x.shape == (20, 2)


def test_digits_are_float32_nchw_in_unit_range_with_a_fixed_split():
    train, test = datasets.load_digits()
    assert len(train) == 1437 and len(test) == 360
    x, y = train.arrays
    assert x.shape == (1437, 1, 8, 8) and x.dtype == np.float32
    assert x.min() == 0 and x.max() == 1 and set(y.tolist()) == set(range(10))
    gw.manual_seed(99)
    again, _ = datasets.load_digits()
    np.testing.assert_array_equal(again.arrays[1], y)  # the split does not depend on the global seed


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ConfigError, match="unknown dataset 'mnst'; choose one of: digits"):
        datasets.load("mnst")
