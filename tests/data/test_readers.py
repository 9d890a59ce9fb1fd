"""IDX and CIFAR-10 readers on tiny files the tests write, the search path, verified downloads, and the
checks that refuse damaged or inconsistent files (tests/data/test_fuzz_readers.py fuzzes them).

The real files have fixed sizes (60,000 / 10,000 MNIST examples, 10,000 records per CIFAR-10 batch) and
the readers insist on them; these tests write small files and pass their sizes (``counts=``,
``records_per_batch=``)."""
import gzip
import hashlib
import io as stdio
import os
import tarfile

import numpy as np
import pytest

from gradwork.data import datasets
from gradwork.data.datasets import cifar10, locate, mnist
from gradwork.errors import ConfigError, DataFileError


def write_mnist_like(folder, n_train=6, n_test=4, compressed=True):
    rng = np.random.default_rng(0)
    suffix = ".gz" if compressed else ""
    os.makedirs(folder, exist_ok=True)
    parts = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
             "train-labels-idx1-ubyte": rng.integers(0, 10, n_train),
             "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
             "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test)}
    for name, array in parts.items():
        datasets.write_idx(os.path.join(folder, name + suffix), array)
    return parts


@pytest.mark.parametrize("compressed", [True, False])
def test_idx_round_trip(tmp_path, compressed):
    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("a.idx.gz" if compressed else "a.idx")
    datasets.write_idx(path, array)
    np.testing.assert_array_equal(datasets.read_idx(path), array)


def test_idx_with_a_bad_magic_number_is_rejected(tmp_path):
    path = tmp_path / "bad.idx"
    path.write_bytes(b"\x01\x02\x08\x01" + (3).to_bytes(4, "big") + b"abc")
    with pytest.raises(DataFileError, match="not an IDX file \\(bad magic number"):
        datasets.read_idx(path)


def test_truncated_idx_is_rejected_with_the_sizes(tmp_path):
    path = tmp_path / "short.idx"
    datasets.write_idx(path, np.zeros((10, 4, 4), np.uint8))
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DataFileError, match=r"size check failed — the header promises shape \(10, 4, 4\)"):
        datasets.read_idx(path)


def test_truncated_gzip_is_rejected(tmp_path):
    path = tmp_path / "short.idx.gz"
    datasets.write_idx(path, np.zeros((100, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:50])
    with pytest.raises(DataFileError, match="cannot be decompressed|size check failed"):
        datasets.read_idx(path)


def test_fashion_mnist_loads_from_root_as_float_nchw(isolated):
    parts = write_mnist_like(isolated / "data")
    train, test = datasets.load("fashion-mnist", root=isolated / "data", download=False, counts=(6, 4))
    x, y = train.arrays
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.float32 and x.max() <= 1
    np.testing.assert_allclose(x[:, 0] * 255, parts["train-images-idx3-ubyte"], atol=1e-3)
    np.testing.assert_array_equal(y, parts["train-labels-idx1-ubyte"])
    assert len(test) == 4 and train.classes[0] == "T-shirt/top"


def test_uncompressed_files_in_a_named_subfolder_of_gradwork_data_are_found(isolated, monkeypatch):
    write_mnist_like(isolated / "store" / "mnist", compressed=False)
    monkeypatch.setenv("GRADWORK_DATA", str(isolated / "store"))
    train, _ = datasets.load("mnist", download=False, counts=(6, 4))
    assert len(train) == 6


def test_root_comes_before_the_environment(isolated, monkeypatch):
    write_mnist_like(isolated / "root", n_train=3)
    write_mnist_like(isolated / "env", n_train=5)
    monkeypatch.setenv("GRADWORK_DATA", str(isolated / "env"))
    assert len(datasets.load("mnist", root=isolated / "root", download=False, counts=(3, 4))[0]) == 3


def test_missing_files_say_where_gradwork_looked_and_how_to_get_them(isolated):
    with pytest.raises(DataFileError) as info:
        datasets.load("fashion-mnist", root=isolated / "nowhere", download=False)
    message = str(info.value)
    assert "were not found. Looked in:" in message and str(isolated / "nowhere") in message
    assert "apt-get install dataset-fashion-mnist" in message


def test_download_verifies_checksums(isolated, monkeypatch):
    source = isolated / "mirror"
    write_mnist_like(source)
    sums = {name: hashlib.md5((source / name).read_bytes()).hexdigest() for name in os.listdir(source)}
    monkeypatch.setitem(mnist.SOURCES["mnist"], "mirrors", [source.as_uri()])
    monkeypatch.setitem(mnist.SOURCES["mnist"], "md5", sums)
    train, _ = datasets.load("mnist", counts=(6, 4))
    assert len(train) == 6 and os.path.isdir(locate.cache_dir())
    bad = dict(sums, **{"train-images-idx3-ubyte.gz": "0" * 32})
    monkeypatch.setitem(mnist.SOURCES["fashion-mnist"], "mirrors", [source.as_uri()])
    monkeypatch.setitem(mnist.SOURCES["fashion-mnist"], "md5", bad)
    with pytest.raises(DataFileError, match="checksum mismatch"):
        datasets.load("fashion-mnist", counts=(6, 4))
    assert not os.path.exists(os.path.join(locate.cache_dir(), "fashion-mnist", "train-images-idx3-ubyte.gz"))


def cifar_bytes(n, rng):
    labels = rng.integers(0, 10, n).astype(np.uint8)
    pixels = rng.integers(0, 256, (n, 3072)).astype(np.uint8)
    return np.concatenate([labels[:, None], pixels], axis=1).tobytes(), labels, pixels


def write_cifar(folder, archive=False):
    rng = np.random.default_rng(0)
    files = {name: cifar_bytes(3, rng) for name in cifar10.TRAIN_FILES + cifar10.TEST_FILES}
    os.makedirs(folder, exist_ok=True)
    if archive:
        with tarfile.open(os.path.join(folder, cifar10.ARCHIVE), "w:gz") as tar:
            for name, (data, _, _) in files.items():
                info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
                info.size = len(data)
                tar.addfile(info, stdio.BytesIO(data))
    else:
        for name, (data, _, _) in files.items():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
    return files


@pytest.mark.parametrize("archive", [False, True])
def test_cifar10_binary_from_files_or_archive(isolated, archive):
    files = write_cifar(isolated / "c", archive)
    train, test = datasets.load("cifar10", root=isolated / "c", download=False, records_per_batch=3)
    x, y = train.arrays
    assert x.shape == (15, 3, 32, 32) and len(test) == 3 and x.dtype == np.float32
    _, labels, pixels = files["data_batch_1.bin"]
    np.testing.assert_array_equal(y[:3], labels)
    np.testing.assert_allclose(x[0, 1, 0, :4] * 255, pixels[0, 1024:1028], atol=1e-3)  # green channel, first row


def test_truncated_cifar_batch_is_rejected(isolated):
    write_cifar(isolated / "c")
    path = isolated / "c" / "test_batch.bin"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataFileError, match="size check failed — 9,209 bytes, but a CIFAR-10 batch is exactly 9,219"):
        datasets.load("cifar10", root=isolated / "c", download=False, records_per_batch=3)


def test_truncated_cifar_archive_is_rejected(isolated):
    write_cifar(isolated / "c", archive=True)
    path = isolated / "c" / cifar10.ARCHIVE
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataFileError, match="cannot read the archive|missing"):
        datasets.load("cifar10", root=isolated / "c", download=False, records_per_batch=3)


# ----------------------------------------------------------------- files that must be refused
def test_small_mnist_files_are_refused_unless_their_counts_are_given(isolated):
    write_mnist_like(isolated / "d")
    with pytest.raises(DataFileError, match=r"declares shape \(6, 28, 28\), but this data set has \(60,000 × 28 × 28\)"):
        datasets.load("mnist", root=isolated / "d", download=False)
    train, test = datasets.load("mnist", root=isolated / "d", download=False, counts=None)  # None: any count
    assert (len(train), len(test)) == (6, 4)


def test_counts_none_still_needs_images_and_labels_to_agree(isolated):
    folder = isolated / "d"
    write_mnist_like(folder)
    datasets.write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(5, np.uint8))
    with pytest.raises(DataFileError, match="6 train images but 5 labels"):
        datasets.load("mnist", root=folder, download=False, counts=None)
    with pytest.raises(DataFileError, match=r"declares shape \(5,\), but this data set has \(6\)"):
        datasets.load("mnist", root=folder, download=False, counts=(6, 4))


def test_a_flipped_type_byte_is_refused_not_read_as_signed_pixels(isolated):
    folder = isolated / "d"
    write_mnist_like(folder, compressed=False)
    path = folder / "train-images-idx3-ubyte"
    data = bytearray(path.read_bytes())
    data[2] = 0x09  # one bit: unsigned byte → signed byte, which used to turn pixels into [−0.5, 0.5]
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match=r"element type 0x09 \(signed byte\), but this data set stores 0x08"):
        datasets.load("mnist", root=folder, download=False, counts=(6, 4))
    assert datasets.read_idx(path).dtype == np.int8  # without expectations it is read as what it says


def test_a_re_split_header_is_refused(isolated):
    folder = isolated / "d"
    write_mnist_like(folder, compressed=False)
    path = folder / "train-images-idx3-ubyte"
    data = path.read_bytes()
    path.write_bytes(data[:8] + (14).to_bytes(4, "big") + (56).to_bytes(4, "big") + data[16:])  # 6 × 14 × 56
    with pytest.raises(DataFileError, match=r"declares shape \(6, 14, 56\)"):
        datasets.load("mnist", root=folder, download=False, counts=(6, 4))


@pytest.mark.parametrize("compressed", [False, True])
def test_bytes_after_the_declared_body_are_refused(tmp_path, compressed):
    raw = tmp_path / "a.idx"
    datasets.write_idx(raw, np.zeros((2, 3), np.uint8))
    path = tmp_path / ("a.idx.gz" if compressed else "a.idx")
    data = raw.read_bytes() + b"\x00\x01"
    path.write_bytes(gzip.compress(data) if compressed else data)
    with pytest.raises(DataFileError, match="size check failed"):
        datasets.read_idx(path, shape=(2, 3), type_code=0x08)


def test_mnist_labels_outside_0_to_9_are_refused(isolated):
    folder = isolated / "d"
    write_mnist_like(folder)
    datasets.write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.array([1, 2, 10, 3], np.uint8))
    with pytest.raises(DataFileError, match="label check failed — found label 10, mnist labels are 0–9"):
        datasets.load("mnist", root=folder, download=False, counts=(6, 4))


def test_a_damaged_gzip_names_the_file_and_how_to_replace_it(isolated):
    folder = isolated / "d"
    write_mnist_like(folder)
    path = folder / "train-images-idx3-ubyte.gz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError) as info:
        datasets.load("mnist", root=folder, download=False, counts=(6, 4))
    message = str(info.value)
    assert message.startswith(f"{path}: cannot be decompressed (")
    assert f"delete {path} and load mnist again" in message and "ossci-datasets" in message


def test_a_cifar_batch_cut_at_a_record_boundary_is_refused(isolated):
    write_cifar(isolated / "c")
    path = isolated / "c" / "data_batch_2.bin"
    path.write_bytes(path.read_bytes()[:2 * cifar10.RECORD])
    with pytest.raises(DataFileError, match="6,146 bytes, but a CIFAR-10 batch is exactly 9,219"):
        datasets.load("cifar10", root=isolated / "c", download=False, records_per_batch=3)
    with pytest.raises(DataFileError, match="holds exactly 10,000"):
        cifar10.parse_batch(bytes(3 * cifar10.RECORD), "one batch")  # the real size by default


def test_a_flipped_byte_in_a_cifar_archive_is_caught_by_the_gzip_checksum(isolated):
    write_cifar(isolated / "c", archive=True)
    path = isolated / "c" / cifar10.ARCHIVE
    data = bytearray(path.read_bytes())
    data[len(data) - 100] ^= 0x01  # deep in the compressed data, after every batch has been read
    path.write_bytes(bytes(data))
    with pytest.raises(DataFileError, match="cannot read the archive .*delete it and download cifar-10-binary"):
        datasets.load("cifar10", root=isolated / "c", download=False, records_per_batch=3)


def test_size_options_go_to_the_loader_that_takes_them(isolated):
    with pytest.raises(ConfigError, match="mnist does not take records_per_batch; its options are: counts"):
        datasets.load("mnist", root=isolated, download=False, records_per_batch=3)
    with pytest.raises(ConfigError, match="digits takes no options"):
        datasets.load("digits", counts=(1, 1))
    with pytest.raises(ConfigError, match="counts must be"):
        datasets.load("mnist", root=isolated, download=False, counts=6)
    with pytest.raises(ConfigError, match="records_per_batch must be"):
        datasets.load("cifar10", root=isolated, download=False, records_per_batch=0)
