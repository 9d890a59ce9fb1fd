"""MNIST and Fashion-MNIST: 70,000 grey images of 28×28 (60,000 train, 10,000 test), 10 classes.

Every file is checked before it is used: unsigned bytes, exactly the known shape (60,000 × 28 × 28
training images, 60,000 labels, …), labels 0–9. A damaged file is an error that says how to replace
it — never data that is silently wrong.
"""
import os

from gradwork.backend import get_default_dtype, xp
from gradwork.data.dataset import ArrayDataset
from gradwork.data.datasets import locate
from gradwork.data.datasets.idx import read_idx
from gradwork.errors import ConfigError, DataFileError

FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

SOURCES = {
    "mnist": {
        "mirrors": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        "md5": {"train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
                "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
                "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
                "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c"},
        "classes": [str(d) for d in range(10)],
        "hint": "Without network access, copy the four MNIST .gz files there by hand.",
    },
    "fashion-mnist": {
        "mirrors": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"],
        "md5": {"train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
                "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
                "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
                "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310"},
        "classes": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                    "Ankle boot"],
        "hint": "On Debian or Ubuntu, `apt-get install dataset-fashion-mnist` installs them in "
                "/usr/share/datasets/fashion-mnist, which is searched.",
    },
}


#: Examples in the real (train, test) files; the files must hold exactly these many.
COUNTS = (60_000, 10_000)
IMAGE_SIZE = (28, 28)
NUM_CLASSES = 10
#: The element type of every file: 0x08, unsigned byte.
TYPE_CODE = 0x08


def _load(name, root=None, download=True, counts=COUNTS):
    source = SOURCES[name]
    shapes = _expected_shapes(counts)
    alternatives = [[f + ".gz" for f in FILES], FILES]
    found = locate.find(name, alternatives, root)
    if found is None:
        if not download:
            raise DataFileError(locate.not_found_message(name, alternatives[0], root, source["hint"]))
        try:
            folder = locate.download(name, source["md5"], source["mirrors"])
        except DataFileError as error:
            raise DataFileError(locate.not_found_message(name, alternatives[0], root, source["hint"])
                                + f"\nDownloading failed too: {error}") from None
        found = folder, alternatives[0]
    folder, names = found
    x_train, y_train, x_test, y_test = [_read(name, os.path.join(folder, n), shapes[file])
                                        for n, file in zip(names, FILES)]
    for images, labels, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if len(images) != len(labels):  # only possible when counts=None
            raise DataFileError(f"{name} ({folder}): {len(images):,} {split} images but {len(labels):,} labels; "
                                "the files do not belong together")
    scale = get_default_dtype().type(1 / 255)
    train = ArrayDataset((x_train[:, None] * scale).astype(get_default_dtype()), y_train.astype(xp.int64))
    test = ArrayDataset((x_test[:, None] * scale).astype(get_default_dtype()), y_test.astype(xp.int64))
    train.classes = test.classes = source["classes"]
    train.source = test.source = folder
    return train, test


def _expected_shapes(counts):
    """{file name: the shape it must hold} for ``counts`` = (train, test) examples; None allows any count."""
    if counts is None:
        counts = (None, None)
    if (not isinstance(counts, (tuple, list)) or len(counts) != 2
            or any(n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0) for n in counts)):
        raise ConfigError(f"counts must be (train examples, test examples), e.g. {COUNTS}, or None; got {counts!r}")
    n_train, n_test = counts
    return {"train-images-idx3-ubyte": (n_train, *IMAGE_SIZE), "train-labels-idx1-ubyte": (n_train,),
            "t10k-images-idx3-ubyte": (n_test, *IMAGE_SIZE), "t10k-labels-idx1-ubyte": (n_test,)}


def _read(name, path, shape):
    """One checked file; a damaged one raises a DataFileError that also says how to get a good copy."""
    try:
        array = read_idx(path, shape=shape, type_code=TYPE_CODE)
        if len(shape) == 1 and array.size and array.max() >= NUM_CLASSES:
            raise DataFileError(f"{path}: label check failed — found label {array.max()}, {name} labels are "
                                f"0–{NUM_CLASSES - 1}; the file is damaged")
    except DataFileError as error:
        source = SOURCES[name]
        raise DataFileError(f"{error}\nTo replace it: delete {path} and load {name} again with download allowed "
                            f"(gradwork fetches a verified copy from {source['mirrors'][0]}). {source['hint']}") from None
    return array


def load_mnist(root=None, download=True, counts=COUNTS):
    """(train, test): images float32 (N, 1, 28, 28) in [0, 1], labels int64 0–9.

    ``counts`` is the number of (train, test) examples the files must hold — the real 60,000 and 10,000
    unless given; tests that write small MNIST-like files pass theirs, and ``None`` accepts any.
    """
    return _load("mnist", root, download, counts)


def load_fashion_mnist(root=None, download=True, counts=COUNTS):
    """(train, test) of Fashion-MNIST: images float32 (N, 1, 28, 28) in [0, 1], labels int64 0–9
    (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot).

    ``counts`` as for :func:`load_mnist`.
    """
    return _load("fashion-mnist", root, download, counts)
