"""MNIST and Fashion-MNIST: 70,000 grey images of 28×28 (60,000 train, 10,000 test), 10 classes."""
import os

from gradwork.backend import get_default_dtype, xp
from gradwork.data.dataset import ArrayDataset
from gradwork.data.datasets import locate
from gradwork.data.datasets.idx import read_idx
from gradwork.errors import DataFileError

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


def _load(name, root=None, download=True):
    source = SOURCES[name]
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
    arrays = [read_idx(os.path.join(folder, n)) for n in names]
    x_train, y_train, x_test, y_test = arrays
    for images, labels, split in ((x_train, y_train, "train"), (x_test, y_test, "test")):
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DataFileError(f"{name} ({folder}): the {split} images {images.shape} and labels {labels.shape} "
                                "do not belong together")
    scale = get_default_dtype().type(1 / 255)
    train = ArrayDataset((x_train[:, None] * scale).astype(get_default_dtype()), y_train.astype(xp.int64))
    test = ArrayDataset((x_test[:, None] * scale).astype(get_default_dtype()), y_test.astype(xp.int64))
    train.classes = test.classes = source["classes"]
    train.source = test.source = folder
    return train, test


def load_mnist(root=None, download=True):
    """(train, test): images float32 (N, 1, 28, 28) in [0, 1], labels int64 0–9."""
    return _load("mnist", root, download)


def load_fashion_mnist(root=None, download=True):
    """(train, test) of Fashion-MNIST: images float32 (N, 1, 28, 28) in [0, 1], labels int64 0–9
    (T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot)."""
    return _load("fashion-mnist", root, download)
