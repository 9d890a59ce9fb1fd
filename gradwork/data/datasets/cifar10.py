"""CIFAR-10, binary version: 60,000 colour images of 32×32 in 10 classes (50,000 train, 10,000 test).

Each record of ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin`` is 3,073 bytes:
one label byte (0–9), then 1,024 red, 1,024 green and 1,024 blue pixel bytes, row-major — already
the (C, H, W) layout. Read from ``cifar-10-binary.tar.gz`` directly or from the extracted files.
No pickle: the Python version of the data set is pickled, so gradwork reads the binary one.
"""
import gzip
import os
import tarfile
import zlib

from gradwork.backend import get_default_dtype, xp
from gradwork.data.dataset import ArrayDataset
from gradwork.data.datasets import locate
from gradwork.errors import ConfigError, DataFileError

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
#: Records in each real batch file; every batch must hold exactly this many.
RECORDS_PER_BATCH = 10_000
#: Zero padding a tar writer may leave after the archive's end (GNU tar pads to 10 KiB); more is damage.
TRAILING_LIMIT = 1 << 20
REPAIR = ("delete it and download cifar-10-binary.tar.gz again from https://www.cs.toronto.edu/~kriz/cifar.html "
          "(the binary version)")
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def parse_batch(data, name, records=RECORDS_PER_BATCH):
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from the bytes of one batch file, which must hold
    exactly ``records`` records (``None``: any whole number of them)."""
    if len(data) == 0 or len(data) % RECORD:
        raise DataFileError(f"{name}: size check failed — {len(data):,} bytes is not a whole number of "
                            f"{RECORD}-byte records; the file is truncated or not a CIFAR-10 binary batch — {REPAIR}")
    if records is not None and len(data) != records * RECORD:
        raise DataFileError(f"{name}: size check failed — {len(data) // RECORD:,} records, but a CIFAR-10 batch "
                            f"holds exactly {records:,}; the file is truncated — {REPAIR}")
    rows = xp.frombuffer(data, dtype=xp.uint8).reshape(-1, RECORD)
    labels = rows[:, 0].astype(xp.int64)
    if labels.max() > 9:
        raise DataFileError(f"{name}: label check failed — found label {labels.max()}, CIFAR-10 labels are 0–9; "
                            f"the file is damaged — {REPAIR}")
    return rows[:, 1:].reshape(-1, 3, 32, 32), labels


def read_batches(source, names, records=RECORDS_PER_BATCH):
    """Concatenate the named batches from a folder or from ``cifar-10-binary.tar.gz``; each must hold
    exactly ``records`` records (``None``: any number)."""
    parts = _batches(source, names, records)
    return xp.concatenate([p[0] for p in parts]), xp.concatenate([p[1] for p in parts])


def _batches(source, names, records):
    """[(images, labels) of each named batch], checked, read in one pass over a folder or an archive."""
    source = os.fspath(source)
    size = None if records is None else records * RECORD
    if source.endswith((".tar.gz", ".tgz")):
        contents = _read_archive(source, names, size)
    else:
        contents = {name: _read_file(os.path.join(source, name), size) for name in names
                    if os.path.isfile(os.path.join(source, name))}
    missing = [n for n in names if n not in contents]
    if missing:
        raise DataFileError(f"{source}: missing {', '.join(missing)}; {REPAIR}")
    return [parse_batch(contents[n], os.path.join(source, n), records) for n in names]


def _read_file(path, size):
    """The bytes of one batch file — checked against ``size`` before anything is read."""
    if size is not None and os.path.getsize(path) != size:
        raise DataFileError(f"{path}: size check failed — {os.path.getsize(path):,} bytes, but a CIFAR-10 batch "
                            f"is exactly {size:,} ({size // RECORD:,} records of {RECORD} bytes); "
                            f"the file is truncated or damaged — {REPAIR}")
    with open(path, "rb") as f:
        return f.read()


def _read_archive(source, names, size):
    """{name: bytes} of the wanted batches in a .tar.gz, streamed once from start to end.

    The tar is read as a stream straight from the decompressor, each member's declared size is checked
    before it is read, and the rest of the archive is decompressed too: only at its end does gzip check
    its CRC, which is what catches a flipped byte anywhere in the file.
    """
    damaged = f"the archive is damaged or incomplete — {REPAIR}"
    contents = {}
    try:
        with gzip.open(source, "rb") as gz, tarfile.open(fileobj=gz, mode="r|") as archive:
            for member in archive:
                base = os.path.basename(member.name)
                if base not in names:
                    continue
                if base in contents:
                    raise DataFileError(f"{source}: {member.name} is there twice; {damaged}")
                if not member.isfile():
                    raise DataFileError(f"{source}: {member.name} is not a regular file; {damaged}")
                if size is not None and member.size != size:
                    raise DataFileError(f"{source}: size check failed — {member.name} has {member.size:,} bytes, "
                                        f"but a CIFAR-10 batch is exactly {size:,}; {damaged}")
                contents[base] = archive.extractfile(member).read()
            _read_to_the_end(gz, source, damaged)
    except (tarfile.TarError, OSError, EOFError, zlib.error) as error:  # how tarfile and gzip report damage
        raise DataFileError(f"{source}: cannot read the archive ({error}); {damaged}") from None
    return contents


def _read_to_the_end(gz, source, damaged):
    """Decompress what follows the tar's end marker (a few KiB of zero padding) so gzip checks its CRC."""
    left = TRAILING_LIMIT
    while piece := gz.read(min(1 << 16, left + 1)):
        left -= len(piece)
        if left < 0:
            raise DataFileError(f"{source}: more than {TRAILING_LIMIT:,} bytes follow the end of the tar archive; "
                                f"{damaged}")


ARCHIVE = "cifar-10-binary.tar.gz"
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
MD5 = {ARCHIVE: "c32a1d4ab5d03f1284b67883e8d87530"}


def load_cifar10(root=None, download=True, records_per_batch=RECORDS_PER_BATCH):
    """(train, test): images float32 (N, 3, 32, 32) in [0, 1], labels int64 0–9 (see ``CLASSES``).

    Each of the six batch files must hold exactly ``records_per_batch`` records — the real 10,000 unless
    given; tests that write small batches pass theirs, and ``None`` accepts any number.
    """
    if records_per_batch is not None and (isinstance(records_per_batch, bool) or not isinstance(records_per_batch, int)
                                          or records_per_batch < 1):
        raise ConfigError(f"records_per_batch must be a positive whole number (CIFAR-10's is {RECORDS_PER_BATCH:,}) "
                          f"or None; got {records_per_batch!r}")
    found = locate.find("cifar10", [TRAIN_FILES + TEST_FILES, [ARCHIVE]], root, subfolder="cifar-10-batches-bin")
    hint = f"Download {ARCHIVE} from https://www.cs.toronto.edu/~kriz/cifar.html (the binary version)."
    if found is None:
        if not download:
            raise DataFileError(locate.not_found_message("cifar10", [ARCHIVE], root, hint))
        try:
            found = locate.download("cifar10", MD5, MIRRORS), [ARCHIVE]
        except DataFileError as error:
            raise DataFileError(locate.not_found_message("cifar10", [ARCHIVE], root, hint)
                                + f"\nDownloading failed too: {error}") from None
    folder, names = found
    source = os.path.join(folder, ARCHIVE) if names == [ARCHIVE] else folder
    parts = _batches(source, TRAIN_FILES + TEST_FILES, records_per_batch)  # one pass over the archive
    x_train, y_train = (xp.concatenate(arrays) for arrays in zip(*parts[:len(TRAIN_FILES)]))
    x_test, y_test = parts[len(TRAIN_FILES)]
    dtype = get_default_dtype()
    train = ArrayDataset((x_train * dtype.type(1 / 255)).astype(dtype), y_train)
    test = ArrayDataset((x_test * dtype.type(1 / 255)).astype(dtype), y_test)
    train.classes = test.classes = CLASSES
    return train, test
