"""Fuzzing the data readers: hundreds of seeded corruptions of small, valid MNIST-like and CIFAR-10 files.

The rule every outcome must follow: the loader returns exactly the original data, or it raises one of
gradwork's own errors (a ``GradworkError``, here a ``DataFileError``) — never another exception, never
other data, never seconds of work or megabytes of memory for a file of a few kilobytes.
Run with ``-s`` to see each group's one-line summary.

What is not mutated, and why: pixel bytes of *uncompressed* files. A pixel may be any value 0–255 and raw
IDX and CIFAR-10 files carry no checksum, so a changed pixel makes another valid image that no reader can
tell from the original (the md5 checked after a download guards those). Labels are fuzzed with flips that
leave the range 0–9. Inside a ``.gz`` gzip's CRC-32 covers every byte, so there every byte is fuzzed.
"""
import gzip
import io as stdio
import tarfile
import time
import tracemalloc
import zlib

import numpy as np
import pytest

from gradwork.data import datasets
from gradwork.data.datasets import cifar10
from gradwork.errors import DataFileError
from tests.helpers import FuzzOutcomes

SEED = 15
N_TRAIN, N_TEST = 6, 4  # examples in the small MNIST-like files
RECORDS = 3  # records in each small CIFAR-10 batch
MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte"]
SLOWEST_ALLOWED_S = 3.0


# ----------------------------------------------------------------- the harness
def same(a, b):
    """Exactly equal: same structure, same shapes, same dtypes, same values."""
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return (isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype
            and np.array_equal(a, b))


def outcomes_for(group):
    return FuzzOutcomes(group, same, SLOWEST_ALLOWED_S)


def flip(data, rng, lo=0, hi=None, masks=(1, 256)):
    """``data`` with one byte in [lo, hi) XOR-ed with a random mask from the range ``masks``."""
    data = bytearray(data)
    i = int(rng.integers(lo, len(data) if hi is None else hi))
    data[i] ^= int(rng.integers(*masks))
    return bytes(data), i


def garbage(rng, n):
    return rng.integers(0, 256, n).astype(np.uint8).tobytes()


def gz(data):
    return gzip.compress(data, mtime=0)


def run_group(outcomes, folder, originals, mutations, load, expected):
    """Write each mutation's files into ``folder``, load, put the originals back."""
    for mutation, changed in mutations:
        for name, data in changed.items():
            (folder / name).write_bytes(data)
        outcomes.check(mutation, load, expected)
        for name in changed:
            (folder / name).write_bytes(originals[name])


# ----------------------------------------------------------------- MNIST-like IDX files
def idx_bytes(array):
    return bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes()


def mnist_raw_files():
    rng = np.random.default_rng(SEED)
    arrays = [rng.integers(0, 256, (N_TRAIN, 28, 28)), rng.integers(0, 10, N_TRAIN),
              rng.integers(0, 256, (N_TEST, 28, 28)), rng.integers(0, 10, N_TEST)]
    return {name: idx_bytes(a.astype(np.uint8)) for name, a in zip(MNIST_FILES, arrays)}


def header_edits(data, rng):
    """Edits of an IDX header that keep the file readable as IDX but make it disagree with the data set."""
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = data[4 + 4 * ndim:]

    def header(code=0x08, shape=dims):
        return bytes([0, 0, code, len(shape)]) + b"".join(int(n).to_bytes(4, "big") for n in shape)

    item = len(body) // dims[0]
    edits = {f"type byte 0x{code:02X}": header(code) + body for code in (0x09, 0x0B, 0x0C, 0x0D, 0x0E)}
    edits.update({
        "ndim byte +1": data[:3] + bytes([ndim + 1]) + data[4:],
        "ndim byte -1": data[:3] + bytes([ndim - 1]) + data[4:],
        "first dimension +1 (body unchanged)": header(shape=[dims[0] + 1, *dims[1:]]) + body,
        "first dimension -1 (body unchanged)": header(shape=[dims[0] - 1, *dims[1:]]) + body,
        "one example more": header(shape=[dims[0] + 1, *dims[1:]]) + body + body[:item],
        "one example fewer": header(shape=[dims[0] - 1, *dims[1:]]) + body[:-item],
        "all dimensions flattened into one": header(shape=[len(body)]) + body,
    })
    if ndim == 3:
        edits["re-split 28 × 28 as 14 × 56"] = header(shape=[dims[0], 14, 56]) + body
        edits["re-split as twice the examples of 14 × 28"] = header(shape=[2 * dims[0], 14, 28]) + body
    else:
        edits["labels as a column (n, 1)"] = header(shape=[dims[0], 1]) + body
    name = sorted(edits)[int(rng.integers(len(edits)))]
    return name, edits[name]


def resplit(files, rng):
    """Consistent edits of two or four files: a smaller data set, or one example moved between splits."""
    def take(data, n_items, keep):  # the first ``keep`` of ``n_items`` items of one IDX file
        ndim = data[3]
        body = data[4 + 4 * ndim:]
        item = len(body) // n_items
        dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
        return bytes([0, 0, 8, ndim]) + b"".join(int(n).to_bytes(4, "big") for n in [keep, *dims[1:]]) + body[:keep * item]

    if rng.integers(2):
        ti, tl, _, _ = MNIST_FILES
        return "train split one example shorter (images and labels agree)", {
            ti: take(files[ti], N_TRAIN, N_TRAIN - 1), tl: take(files[tl], N_TRAIN, N_TRAIN - 1)}
    _, _, vi, vl = MNIST_FILES
    return "test split one example shorter (images and labels agree)", {
        vi: take(files[vi], N_TEST, N_TEST - 1), vl: take(files[vl], N_TEST, N_TEST - 1)}


def raw_idx_mutation(files, rng, kind):
    """(description, {file: new bytes}) — one seeded corruption of the uncompressed files."""
    name = MNIST_FILES[int(rng.integers(4))]
    data = files[name]
    header_size = 4 + 4 * data[3]
    if kind == "header byte flip":
        new, i = flip(data, rng, 0, header_size)
        return f"{name}: byte {i} of the header flipped", {name: new}
    if kind == "label out of range":
        name = MNIST_FILES[1 + 2 * int(rng.integers(2))]
        new, i = flip(files[name], rng, 4 + 4 * files[name][3], None, masks=(16, 256))
        return f"{name}: label byte {i} flipped out of 0–9", {name: new}
    if kind == "truncation":
        cut = int(rng.integers(0, len(data)))
        return f"{name}: truncated to {cut} bytes", {name: data[:cut]}
    if kind == "appended bytes":
        extra = garbage(rng, int(rng.integers(1, 100)))
        return f"{name}: {len(extra)} bytes appended", {name: data + extra}
    if kind == "header edit":
        edit, new = header_edits(data, rng)
        return f"{name}: {edit}", {name: new}
    return resplit(files, rng)


RAW_KINDS = ["header byte flip", "label out of range", "truncation", "appended bytes", "header edit", "resplit"]


def gz_mutation(files, rng, kind):
    """One seeded corruption of the .gz files: of the compressed bytes, or a valid .gz of bad content."""
    name = MNIST_FILES[int(rng.integers(4))]
    data = gz(files[name])
    if kind == "gz byte flip":
        new, i = flip(data, rng)
        return f"{name}.gz: byte {i} of {len(data)} flipped", {name + ".gz": new}
    if kind == "gz truncation":
        cut = int(rng.integers(0, len(data)))
        return f"{name}.gz: truncated to {cut} of {len(data)} bytes", {name + ".gz": data[:cut]}
    if kind == "gz garbage appended":
        extra = bytes([1 + int(rng.integers(255))]) + garbage(rng, int(rng.integers(0, 64)))
        return f"{name}.gz: {len(extra)} garbage bytes appended", {name + ".gz": data + extra}
    if kind == "gz garbage overwrite":
        n = int(rng.integers(1, min(33, len(data) - 1)))
        i = int(rng.integers(0, len(data) - n))
        return f"{name}.gz: {n} bytes at {i} overwritten", {name + ".gz": data[:i] + garbage(rng, n) + data[i + n:]}
    if kind == "gz second member":
        return f"{name}.gz: a second gzip member appended", {name + ".gz": data + gz(garbage(rng, 10))}
    if kind == "gz not compressed":
        return f"{name}.gz: the raw IDX bytes under a .gz name", {name + ".gz": files[name]}
    if kind == "gz bomb behind the header":
        return f"{name}.gz: 1 MiB of zeros after the declared body", {name + ".gz": gz(files[name] + bytes(1 << 20))}
    # a well-formed .gz whose content is corrupt: any of the raw corruptions, compressed
    description, changed = raw_idx_mutation(files, rng, RAW_KINDS[int(rng.integers(len(RAW_KINDS)))])
    return f"compressed: {description}", {n + ".gz": gz(d) for n, d in changed.items()}


GZ_KINDS = ["gz byte flip", "gz byte flip", "gz byte flip", "gz truncation", "gz garbage appended",
            "gz garbage overwrite", "gz second member", "gz not compressed", "gz bomb behind the header",
            "compressed content", "compressed content"]


def load_mnist_folder(folder):
    train, test = datasets.load("mnist", root=folder, download=False, counts=(N_TRAIN, N_TEST))
    return train.arrays, test.arrays


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gz"])
def test_fuzzed_mnist_files_load_exactly_or_raise_data_file_error(isolated, compressed):
    files = mnist_raw_files()
    folder = isolated / "mnist"
    folder.mkdir()
    originals = {(n + ".gz" if compressed else n): (gz(d) if compressed else d) for n, d in files.items()}
    for name, data in originals.items():
        (folder / name).write_bytes(data)
    expected = load_mnist_folder(folder)
    rng = np.random.default_rng(SEED)
    kinds, make, count = (GZ_KINDS, gz_mutation, 130) if compressed else (RAW_KINDS, raw_idx_mutation, 90)
    mutations = [make(files, rng, kinds[i % len(kinds)]) for i in range(count)]
    outcomes = outcomes_for(f"mnist ({'gz' if compressed else 'raw'})")
    run_group(outcomes, folder, originals, mutations, lambda: load_mnist_folder(folder), expected)
    outcomes.assert_rule_held()


# ----------------------------------------------------------------- CIFAR-10 batches and archive
BATCHES = cifar10.TRAIN_FILES + cifar10.TEST_FILES


def cifar_files():
    rng = np.random.default_rng(SEED)
    files = {}
    for name in BATCHES:
        labels = rng.integers(0, 10, (RECORDS, 1)).astype(np.uint8)
        pixels = rng.integers(0, 256, (RECORDS, 3072)).astype(np.uint8)
        files[name] = np.concatenate([labels, pixels], axis=1).tobytes()
    return files


def raw_cifar_mutation(files, rng, kind):
    name = BATCHES[int(rng.integers(len(BATCHES)))]
    data = files[name]
    if kind == "label out of range":
        record = int(rng.integers(RECORDS))
        new, _ = flip(data, rng, record * cifar10.RECORD, record * cifar10.RECORD + 1, masks=(16, 256))
        return f"{name}: label of record {record} flipped out of 0–9", {name: new}
    if kind == "truncation":
        cut = int(rng.integers(0, len(data)))
        return f"{name}: truncated to {cut} bytes", {name: data[:cut]}
    if kind == "truncation at a record boundary":
        cut = int(rng.integers(0, RECORDS)) * cifar10.RECORD
        return f"{name}: truncated to {cut // cifar10.RECORD} whole records", {name: data[:cut]}
    if kind == "appended bytes":
        extra = garbage(rng, int(rng.integers(1, 100)))
        return f"{name}: {len(extra)} bytes appended", {name: data + extra}
    return f"{name}: one valid record appended", {name: data + data[:cifar10.RECORD]}


RAW_CIFAR_KINDS = ["label out of range", "truncation", "truncation at a record boundary", "appended bytes",
                   "record appended"]


def tar_gz(members, twice=(), specials=()):
    """The bytes of a tar of ``members`` ({name: bytes}) in cifar-10-batches-bin/ (the names in ``twice``
    written a second time), then of ``specials`` (TarInfo entries without data: folders, links)."""
    buffer = stdio.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, data in [*members.items(), *((n, members[n]) for n in twice)]:
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, stdio.BytesIO(data))
        for info in specials:
            tar.addfile(info)
    return buffer.getvalue()


def archive_members(files):
    """The batches plus the two text files the real archive also holds."""
    return {"batches.meta.txt": "\n".join(cifar10.CLASSES).encode(), **files, "readme.html": b"<html></html>"}


def archive_mutation(files, rng, kind):
    archive = gz(tar_gz(archive_members(files)))
    name = BATCHES[int(rng.integers(len(BATCHES)))]
    if kind == "gz byte flip":
        new, i = flip(archive, rng)
        return f"archive: byte {i} of {len(archive)} flipped", new
    if kind == "gz truncation":
        cut = int(rng.integers(0, len(archive)))
        return f"archive: truncated to {cut} of {len(archive)} bytes", archive[:cut]
    if kind == "gz garbage appended":
        extra = bytes([1 + int(rng.integers(255))]) + garbage(rng, int(rng.integers(0, 64)))
        return f"archive: {len(extra)} garbage bytes appended", archive + extra
    if kind == "gz garbage overwrite":
        n = int(rng.integers(1, 33))
        i = int(rng.integers(0, len(archive) - n))
        return f"archive: {n} bytes at {i} overwritten", archive[:i] + garbage(rng, n) + archive[i + n:]
    members = archive_members(files)
    tar = tar_gz(members)
    if kind == "tar truncated inside a valid gzip":
        cut = int(rng.integers(0, len(tar)))
        return f"archive: the tar cut to {cut} of {len(tar)} bytes, then compressed", gz(tar[:cut])
    if kind == "tar byte flip inside a valid gzip":
        with tarfile.open(fileobj=stdio.BytesIO(tar)) as t:
            headers = [m.offset for m in t.getmembers()]  # only headers: a pixel flip makes another valid tar
        start = headers[int(rng.integers(len(headers)))]
        new, i = flip(tar, rng, start, start + 512)
        return f"archive: byte {i} of a tar header flipped, then compressed", gz(new)
    if kind == "zeros after the tar":
        return "archive: 2 MiB of zeros after the tar's end", gz(tar + bytes(2 << 20))
    if kind == "not compressed":
        return "archive: an uncompressed tar under the .tar.gz name", tar
    edits = {
        "batch cut at a record boundary": lambda m: m.update({name: m[name][:cifar10.RECORD]}),
        "batch one record longer": lambda m: m.update({name: m[name] + m[name][:cifar10.RECORD]}),
        "batch cut mid-record": lambda m: m.update({name: m[name][:-int(rng.integers(1, cifar10.RECORD))]}),
        "batch missing": lambda m: m.pop(name),
        "label out of range": lambda m: m.update({name: bytes([10 + int(rng.integers(246))]) + m[name][1:]}),
    }
    if kind in edits:
        edits[kind](members)
        return f"archive: {name}: {kind}", gz(tar_gz(members))
    if kind == "batch twice":
        return f"archive: {name} twice", gz(tar_gz(members, twice=[name]))
    info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
    info.type = tarfile.DIRTYPE if kind == "batch is a folder" else tarfile.SYMTYPE
    info.linkname = "readme.html"
    members.pop(name)
    return f"archive: {name} is a {'folder' if info.type == tarfile.DIRTYPE else 'link'}", gz(tar_gz(members,
                                                                                                  specials=[info]))


ARCHIVE_KINDS = ["gz byte flip", "gz byte flip", "gz byte flip", "gz byte flip", "gz truncation",
                 "gz garbage appended", "gz garbage overwrite", "tar truncated inside a valid gzip",
                 "tar byte flip inside a valid gzip", "zeros after the tar", "not compressed",
                 "batch cut at a record boundary", "batch one record longer", "batch cut mid-record", "batch missing",
                 "label out of range", "batch twice", "batch is a folder", "batch is a link"]


def load_cifar_from(root):
    train, test = datasets.load("cifar10", root=root, download=False, records_per_batch=RECORDS)
    return train.arrays, test.arrays


def test_fuzzed_cifar10_batches_load_exactly_or_raise_data_file_error(isolated):
    files = cifar_files()
    folder = isolated / "cifar"
    folder.mkdir()
    for name, data in files.items():
        (folder / name).write_bytes(data)
    expected = load_cifar_from(folder)
    rng = np.random.default_rng(SEED)
    mutations = [raw_cifar_mutation(files, rng, RAW_CIFAR_KINDS[i % len(RAW_CIFAR_KINDS)]) for i in range(60)]
    outcomes = outcomes_for("cifar10 (raw batches)")
    run_group(outcomes, folder, files, mutations, lambda: load_cifar_from(folder), expected)
    outcomes.assert_rule_held()


def test_fuzzed_cifar10_archives_load_exactly_or_raise_data_file_error(isolated):
    files = cifar_files()
    folder = isolated / "archive"
    folder.mkdir()
    original = gz(tar_gz(archive_members(files)))
    (folder / cifar10.ARCHIVE).write_bytes(original)
    expected = load_cifar_from(folder)
    rng = np.random.default_rng(SEED)
    mutations = []
    for i in range(95):
        description, data = archive_mutation(files, rng, ARCHIVE_KINDS[i % len(ARCHIVE_KINDS)])
        mutations.append((description, {cifar10.ARCHIVE: data}))
    outcomes = outcomes_for("cifar10 (tar.gz)")
    run_group(outcomes, folder, {cifar10.ARCHIVE: original}, mutations, lambda: load_cifar_from(folder), expected)
    outcomes.assert_rule_held()


# ----------------------------------------------------------------- memory: gzip bombs and lying headers
def gzip_stream(path, pieces):
    """Write a .gz from an iterable of byte pieces without holding them all (for bombs)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip framing
    with open(path, "wb") as f:
        f.writelines(compressor.compress(piece) for piece in pieces)
        f.write(compressor.flush())


def peak_bytes_of(call):
    """The most memory Python and NumPy held at once during ``call()``, above what they held before."""
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def rejected(*args, match=""):
    """``read_idx(*args)`` must raise DataFileError."""
    with pytest.raises(DataFileError, match=match):
        datasets.read_idx(*args)


def test_a_gzip_bomb_behind_a_small_header_allocates_about_the_declared_size(tmp_path):
    small = idx_bytes(np.zeros((N_TRAIN, 28, 28), np.uint8))  # declares 4,704 bytes of pixels
    path = tmp_path / "train-images-idx3-ubyte.gz"
    gzip_stream(path, [small] + [bytes(1 << 20)] * 64)  # …then 64 MiB of zeros, in a 64 KiB file
    start = time.perf_counter()
    peak = peak_bytes_of(lambda: rejected(path, (N_TRAIN, 28, 28), 0x08, match="more bytes follow"))
    assert time.perf_counter() - start < SLOWEST_ALLOWED_S
    # the declared size plus gzip's own read buffer (128 KiB); reading it all would take 64 MiB
    assert peak < len(small) + 512 * 1024, f"reading a 64 MiB bomb allocated {peak:,} bytes"


def test_a_header_that_promises_more_than_the_file_can_hold_allocates_nothing_large(tmp_path):
    lying = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (60_000, 28, 28)) + bytes(100)
    for name, data in (("a.idx", lying), ("a.idx.gz", gz(lying))):
        path = tmp_path / name
        path.write_bytes(data)
        peak = peak_bytes_of(lambda p=path: rejected(p, (60_000, 28, 28), 0x08, match="size check failed"))
        assert peak < 512 * 1024, f"{name}: a header promising 47 MB made the reader allocate {peak:,} bytes"
    huge = bytes([0, 0, 8, 3]) + (2**32 - 1).to_bytes(4, "big") * 3  # no expectations given; 2^96 bytes promised
    (tmp_path / "huge.idx.gz").write_bytes(gz(huge))
    peak = peak_bytes_of(lambda: rejected(tmp_path / "huge.idx.gz", match="more than a .gz of"))
    assert peak < 512 * 1024
