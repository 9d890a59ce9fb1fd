"""Dataset readers. ``load(name)`` returns (train, test) datasets by name:

    digits         scikit-learn's 8×8 digits (bundled, no files needed)
    mnist          handwritten digits, 28×28 (IDX files)
    fashion-mnist  clothing, 28×28 (IDX files; Debian's dataset-fashion-mnist package is found)
    cifar10        colour images, 32×32 (binary version)
"""
import inspect

from gradwork.data.datasets.cifar10 import load_cifar10
from gradwork.data.datasets.digits import load_digits
from gradwork.data.datasets.idx import read_idx, write_idx
from gradwork.data.datasets.mnist import load_fashion_mnist, load_mnist
from gradwork.errors import ConfigError, DataFileError  # noqa: F401  (re-exported)

LOADERS = {"digits": load_digits, "mnist": load_mnist, "fashion-mnist": load_fashion_mnist,
           "cifar10": load_cifar10}


def load(name, root=None, download=True, **options):
    """(train, test) for the data set called ``name``; files are searched for (``root``, then
    ``$GRADWORK_DATA``, ``~/.cache/gradwork``, ``/usr/share/datasets``) and downloaded, with checksum
    verification, only when not found and ``download`` is true.

    ``options`` go to the data set's loader: ``counts=(train, test)`` for mnist and fashion-mnist,
    ``records_per_batch`` for cifar10 — the sizes the files must have, which only tests change.
    """
    if name not in LOADERS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(LOADERS)}")
    if name == "digits":
        if options:
            raise ConfigError(f"digits takes no options; got {', '.join(options)}")
        return load_digits()
    loader = LOADERS[name]
    accepted = [p for p in inspect.signature(loader).parameters if p not in ("root", "download")]
    unknown = [k for k in options if k not in accepted]
    if unknown:
        raise ConfigError(f"{name} does not take {', '.join(unknown)}; its options are: {', '.join(accepted)}")
    return loader(root=root, download=download, **options)
