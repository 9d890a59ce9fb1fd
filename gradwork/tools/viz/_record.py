"""Recording what layers output: forward hooks on the chosen sub-modules, one forward pass in eval
mode without a graph, hooks removed afterwards (also on error)."""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp


def record_outputs(model, x, chosen):
    """[(name, output array)] of every sub-module for which ``chosen(name, module)`` is true, in the
    order they ran, for the input batch ``x``."""
    recorded, handles = [], []
    for name, module in model.named_modules():
        if chosen(name, module):
            handles.append(module.register_forward_hook(
                lambda m, inputs, output, name=name: recorded.append((name, output.data.copy()))))
    if not handles:
        return []
    try:
        with model.evaluating():
            model(Tensor(xp.asarray(getattr(x, "data", x))))
    finally:
        for h in handles:
            h.remove()
    return recorded
