"""Dataset readers. ``load(name)`` returns (train, test) datasets by name."""
from gradwork.data.datasets.digits import load_digits
from gradwork.errors import ConfigError

LOADERS = {"digits": load_digits}


def load(name, **options):
    """(train, test) for the data set called ``name`` (one of ``LOADERS``)."""
    if name not in LOADERS:
        raise ConfigError(f"unknown dataset {name!r}; choose one of: {', '.join(sorted(LOADERS))}")
    return LOADERS[name](**options)
