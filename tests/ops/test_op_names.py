"""Names that cannot be mistaken: an op's Function class never has the name of a layer."""
import importlib
import inspect
import pkgutil

import gradwork as gw
import gradwork.nn as nn
import gradwork.ops as ops
from gradwork.autograd.function import Function
from gradwork.nn.module import Module


def classes_in(package, base):
    found = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for name, obj in vars(module).items():
            if inspect.isclass(obj) and issubclass(obj, base) and obj.__module__ == module.__name__:
                found[name] = module.__name__
    return found


def test_no_function_class_shares_its_name_with_a_layer():
    functions, layers = classes_in(ops, Function), classes_in(nn, Module)
    assert not sorted(set(functions) & set(layers))


def test_a_linear_layers_output_shows_the_op_not_the_layer():
    out = nn.Linear(2, 3)(gw.ones(1, 2))
    function = "LinearFunction" if gw.kernels.current() == "reference" else "FastLinear"  # (both paths run)
    assert f"grad_fn={function}" in repr(out) and out.creator.name == "linear"
