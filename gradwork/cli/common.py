"""What several commands share: building the optimizer and its schedule, loading a data set by name."""
from gradwork import data, optim
from gradwork.errors import ConfigError

OPTIMIZERS = {
    # name: (class, default learning rate, fixed options)
    "sgd": (optim.SGD, 0.1, {}),
    "momentum": (optim.SGD, 0.05, {"momentum": 0.9}),
    "nesterov": (optim.SGD, 0.05, {"momentum": 0.9, "nesterov": True}),
    "adagrad": (optim.Adagrad, 0.05, {}),
    "rmsprop": (optim.RMSprop, 1e-3, {}),
    "adam": (optim.Adam, 1e-3, {}),
    "adamw": (optim.AdamW, 1e-3, {}),
}


def build_optimizer(name, params, lr=None, weight_decay=0.0):
    if name not in OPTIMIZERS:
        raise ConfigError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    cls, default_lr, options = OPTIMIZERS[name]
    return cls(params, lr=default_lr if lr is None else lr, weight_decay=weight_decay, **options)


def default_lr(name):
    return OPTIMIZERS[name][1] if name in OPTIMIZERS else None


def load_dataset(name):
    """(train, test) datasets, with input shape and class count."""
    train, test = data.datasets.load(name)
    x, _ = train[0]
    return train, test, tuple(x.shape), len(train.classes)


SCHEDULES = ("constant", "cosine", "step")


def build_schedule(name, optimizer, epochs):
    """The learning-rate schedule ``--schedule`` names, stepped once per epoch (None: constant)."""
    if name == "cosine":
        return optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    if name == "step":
        return optim.lr_scheduler.StepLR(optimizer, step_size=max(1, epochs // 3), gamma=0.1)
    return None
