"""The errors of ONNX export (importable without onnx installed)."""
from gradwork.errors import ConfigError, MissingExtraError


class UnsupportedOperatorError(ConfigError):
    """The traced graph holds an op (or an op's setting) that has no ONNX form here; nothing was written."""


def require(module_name):
    """Import ``module_name`` (onnx, onnxruntime), or say which extra installs it."""
    import importlib
    try:
        return importlib.import_module(module_name)
    except ImportError:
        raise MissingExtraError(f"ONNX export needs the {module_name} package, which is not installed: "
                                f'pip install "gradwork[onnx]"') from None
