"""The exceptions gradwork raises at its boundaries, each with a message that says what to fix.

They subclass the built-in exception a Python user would expect (``ValueError`` for bad
values and shapes), so ``except ValueError`` keeps working.
"""


class GradworkError(Exception):
    """Base of every gradwork-specific error."""


class ShapeError(GradworkError, ValueError):
    """An operation was given arrays whose shapes do not fit together."""


class LabelError(GradworkError, ValueError):
    """Class labels outside ``[0, num_classes)`` or of the wrong type."""


class CheckpointError(GradworkError, ValueError):
    """A checkpoint file is missing, truncated, corrupt or of another architecture."""


class ConfigError(GradworkError, ValueError):
    """An unknown name (model, optimizer, dataset, …) or an invalid setting."""


class TrainingDivergedError(GradworkError, ArithmeticError):
    """The loss became NaN or infinite during training."""


class MissingExtraError(GradworkError, ImportError):
    """An optional library that a feature needs is not installed; the message names the extra to
    install (``pip install "gradwork[onnx]"``, ``"gradwork[tensorboard]"``)."""


class DataFileError(GradworkError, ValueError):
    """A data file is missing, truncated or not in the expected format."""


class DeviceError(GradworkError, RuntimeError):
    """A device cannot be used (CuPy finds no GPU), or an operation mixes tensors of two devices."""
