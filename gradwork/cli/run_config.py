"""What a run's ``config.json`` holds, field by field, and the check that reads it back.

``gradwork train`` writes the file; ``--resume``, ``evaluate``, ``diagnose`` and ``generate`` rebuild
the run from it. A file that is damaged or edited by hand (a list, ``{}``, ``"seed": "zero"``, a
missing field) is refused with one message naming the file and the field, before anything is built.
The checks are the command line's own (``gradwork.cli.checks``), so a value the command line would
refuse is refused here in the same words.

Older runs lack the fields added since (``schedule``, ``augment``, …): those take the value that the
run was trained with, their default. A model option the model does not take (older runs recorded
``dropout`` for every model) is ignored when reading, and refused when given on the command line.
"""
from gradwork import models
from gradwork.cli.checks import FRACTION, NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT
from gradwork.cli.common import OPTIMIZERS, SCHEDULES
from gradwork.cli.language_model import LANGUAGE_MODEL
from gradwork.data.datasets import LOADERS
from gradwork.errors import ConfigError
from gradwork.models.char_rnn import CELLS
from gradwork.models.mlp import ACTIVATIONS

REQUIRED = object()  # marks a field without a default: every run ever written has it


def one_of(choices):
    def check(value, where):
        if not isinstance(value, str) or value not in choices:
            raise ConfigError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
        return value
    return check


def sizes(value, where):
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)):
        raise ConfigError(f"{where} must be a list of positive integers such as [256, 128], got {value!r}")
    return value


def boolean(value, where):
    if not isinstance(value, bool):
        raise ConfigError(f"{where} must be true or false, got {value!r}")
    return value


def text(value, where):
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be a string, got {value!r}")
    return value


def optional(check):
    return lambda value, where: None if value is None else check(value, where)


def rule(r):
    return r.check


COMMON = {  # every run: name -> (check, default)
    "epochs": (rule(POSITIVE_INT), REQUIRED),
    "batch_size": (rule(POSITIVE_INT), REQUIRED),
    "optimizer": (one_of(list(OPTIMIZERS)), REQUIRED),
    "lr": (rule(POSITIVE), REQUIRED),
    "schedule": (one_of(SCHEDULES), "constant"),
    "weight_decay": (rule(NON_NEGATIVE), 0.0),
    "seed": (rule(NON_NEGATIVE_INT), REQUIRED),
}
CLASSIFIER = {
    **COMMON,
    "dataset": (one_of(list(LOADERS)), REQUIRED),
    "clip_grad_norm": (optional(rule(POSITIVE)), None),
    "augment": (text, ""),
    "val_fraction": (rule(FRACTION), 0.2),
}
MODEL_OPTIONS = {  # the options of the registry's models (models.MODELS[name].options says which takes which)
    "hidden": sizes,
    "activation": one_of(list(ACTIVATIONS)),
    "dropout": rule(FRACTION),
    "batchnorm": boolean,
    "variant": one_of(["modern", "classic"]),
}
LANGUAGE_MODEL_FIELDS = {
    **COMMON,
    "dataset": (one_of(["text"]), "text"),
    "text": (optional(text), None),
    "vocabulary": (text, REQUIRED),
    "seq_len": (rule(POSITIVE_INT), REQUIRED),
    "hidden": (sizes, REQUIRED),
    "cell": (one_of(list(CELLS)), REQUIRED),
    "embedding_dim": (rule(POSITIVE_INT), REQUIRED),
    "dropout": (rule(FRACTION), 0.0),
    "clip_grad_norm": (rule(POSITIVE), REQUIRED),
    "held_out": (rule(FRACTION), REQUIRED),
}


def check_config(config, source):
    """``config`` with every field checked and missing optional fields filled in; a ``ConfigError``
    naming ``source`` (the file) and the field otherwise."""
    if not isinstance(config, dict):
        raise ConfigError(f"{source} must hold a JSON object of settings (as `gradwork train` writes it), got "
                          f"{type(config).__name__ if config is not None else 'null'}; the run folder is damaged")
    model = _get(config, "model", one_of([*models.MODELS, LANGUAGE_MODEL]), REQUIRED, source)
    fields = LANGUAGE_MODEL_FIELDS if model == LANGUAGE_MODEL else CLASSIFIER
    checked = dict(config)
    for name, (check, default) in fields.items():
        checked[name] = _get(config, name, check, default, source)
    if model == LANGUAGE_MODEL:
        if len(set(checked["hidden"])) != 1:
            raise ConfigError(f"{source}: field 'hidden' must list one size per layer, all equal (char-rnn), "
                              f"got {checked['hidden']}")
        if not checked["vocabulary"]:
            raise ConfigError(f"{source}: field 'vocabulary' is empty; the run folder is damaged")
    else:
        for name, default in models.MODELS[model].options.items():
            default = list(default) if isinstance(default, tuple) else default
            checked[name] = _get(config, name, MODEL_OPTIONS[name], default, source)
    return checked


def model_options(config):
    """The options of ``config``'s model, as ``build_model`` takes them (only those the model takes)."""
    return {name: config[name] for name in models.MODELS[config["model"]].options if name in config}


def _get(config, name, check, default, source):
    if name not in config:
        if default is REQUIRED:
            raise ConfigError(f"{source}: the field {name!r} is missing; the run folder is damaged (was the file "
                              f"edited by hand?) — restore the field, or start a new run")
        return default
    return check(config[name], f"{source}: field {name!r}")
