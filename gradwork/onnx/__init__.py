"""Export a gradwork model to ONNX, PyTorch's call: ``gw.onnx.export(model, example_input, "model.onnx")``.

The model runs once in eval mode on the example input while gradwork records its graph; the graph is
walked from the output back and each recorded op becomes ONNX nodes (``converters.py``); parameters
and buffers become initializers under their state-dict names. The file is checked with
``onnx.checker`` and written atomically: an op without an ONNX form raises
:class:`UnsupportedOperatorError` before anything is written.

This package imports ``onnx`` only when ``export`` runs, so ``import gradwork`` stays fast and works
without it (``pip install "gradwork[onnx]"`` installs onnx and onnxruntime).
"""
from gradwork.onnx.errors import MissingExtraError, UnsupportedOperatorError


def export(model, example_input, path, input_names=None, output_names=None, dynamic_batch=True, opset_version=17):
    """Trace ``model`` on ``example_input`` and write the ONNX file ``path``; returns the path.

    example_input: a Tensor or array (N, …), or a tuple of them for a model with several inputs;
        integer inputs (token ids) stay int64.
    input_names, output_names: the graph's names (default ``input``/``output``, numbered when several).
    dynamic_batch: axis 0 of the inputs and outputs is a named dimension ``batch``, so the file runs
        at any batch size (the model is traced twice, at two batch sizes, to tell which reshape sizes
        follow the batch); False fixes the example's batch size.
    opset_version: the ONNX operator set (13 to 21; 17 by default, as PyTorch).
    """
    from gradwork.onnx.exporter import export as _export
    return _export(model, example_input, path, input_names=input_names, output_names=output_names,
                   dynamic_batch=dynamic_batch, opset_version=opset_version)


__all__ = ["export", "UnsupportedOperatorError", "MissingExtraError"]
