"""Dataset readers. ``load(name)`` returns (train, test) datasets by name:

    digits         scikit-learn's 8×8 digits (bundled, no files needed)
    mnist          handwritten digits, 28×28 (IDX files)
    fashion-mnist  clothing, 28×28 (IDX files; Debian's dataset-fashion-mnist package is found)
    cifar10        colour images, 32×32 (binary version)
"""
from gradwork.data.datasets.cifar10 import load_cifar10
from gradwork.data.datasets.digits import load_digits
from gradwork.data.datasets.idx import read_idx, write_idx
from gradwork.data.datasets.mnist import load_fashion_mnist, load_mnist
from gradwork.errors import ConfigError, DataFileError  # noqa: F401  (re-exported)

LOADERS = {"digits": load_digits, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist,
           "cifar10": load_cifar10}


def load(name, root=None, download=True):
    """(train, test) for the data set called ``name``; files are searched for (``root``, then
    ``$GRADWORK_DATA``, ``~/.cache/gradwork``, ``/usr/share/datasets``) and downloaded, with checksum
    verification, only when not found and ``download`` is true."""
    if name not in LOADERS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    if name == "digits":
        return load_digits()
    return LOADERS[name](root=root, download=download)
