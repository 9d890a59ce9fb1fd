"""CIFAR-10, binary version: 60,000 colour images of 32×32 in 10 classes (50,000 train, 10,000 test).

Each record of ``data_batch_1.bin`` … ``data_batch_5.bin`` and ``test_batch.bin`` is 3,073 bytes:
one label byte (0–9), then 1,024 red, 1,024 green and 1,024 blue pixel bytes, row-major — already
the (C, H, W) layout. Read from ``cifar-10-binary.tar.gz`` directly or from the extracted files.
No pickle: the Python version of the data set is pickled, so gradwork reads the binary one.
"""
import os
import tarfile

from gradwork.backend import get_default_dtype, xp
from gradwork.data.dataset import ArrayDataset
from gradwork.data.datasets import locate
from gradwork.errors import DataFileError

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST_FILES = ["test_batch.bin"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def parse_batch(data, name):
    """(images uint8 (N, 3, 32, 32), labels int64 (N,)) from the bytes of one batch file."""
    if len(data) == 0 or len(data) % RECORD:
        raise DataFileError(f"{name}: size check failed — {len(data):,} bytes is not a whole number of "
                            f"{RECORD}-byte records; the file is truncated or not a CIFAR-10 binary batch")
    records = xp.frombuffer(data, dtype=xp.uint8).reshape(-1, RECORD)
    labels = records[:, 0].astype(xp.int64)
    if labels.max() > 9:
        raise DataFileError(f"{name}: label check failed — found label {labels.max()}, CIFAR-10 labels are 0–9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def read_batches(source, names):
    """Concatenate the named batches from a folder or from ``cifar-10-binary.tar.gz``."""
    source = os.fspath(source)
    contents = {}
    if source.endswith((".tar.gz", ".tgz")):
        try:
            with tarfile.open(source, "r:gz") as archive:
                for member in archive.getmembers():
                    base = os.path.basename(member.name)
                    if base in names:
                        contents[base] = archive.extractfile(member).read()
        except (tarfile.TarError, OSError, EOFError) as error:
            raise DataFileError(f"{source}: cannot read the archive ({error}); it is probably truncated — "
                                "delete it and fetch it again") from None
    else:
        for name in names:
            path = os.path.join(source, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    contents[name] = f.read()
    missing = [n for n in names if n not in contents]
    if missing:
        raise DataFileError(f"{source}: missing {', '.join(missing)}")
    parts = [parse_batch(contents[n], os.path.join(source, n)) for n in names]
    return xp.concatenate([p[0] for p in parts]), xp.concatenate([p[1] for p in parts])


ARCHIVE = "cifar-10-binary.tar.gz"
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
MD5 = {ARCHIVE: "c32a1d4ab5d03f1284b67883e8d87530"}


def load_cifar10(root=None, download=True):
    """(train, test): images float32 (N, 3, 32, 32) in [0, 1], labels int64 0–9 (see ``CLASSES``)."""
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
    x_train, y_train = read_batches(source, TRAIN_FILES)
    x_test, y_test = read_batches(source, TEST_FILES)
    dtype = get_default_dtype()
    train = ArrayDataset((x_train * dtype.type(1 / 255)).astype(dtype), y_train)
    test = ArrayDataset((x_test * dtype.type(1 / 255)).astype(dtype), y_test)
    train.classes = test.classes = CLASSES
    return train, test
