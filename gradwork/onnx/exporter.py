"""``export``: trace, convert every node, check the model, write the file atomically.

Dynamic batch: the model is traced a second time with one more example; sizes that differ between the
two traces follow the batch, and become −1 in reshapes and ``batch`` in the graph's inputs and outputs.
"""
import os

import numpy as np

from gradwork._files import atomic_open
from gradwork.autograd.tensor import Tensor
from gradwork.errors import ConfigError, ShapeError
from gradwork.onnx import converters
from gradwork.onnx.errors import UnsupportedOperatorError, require
from gradwork.onnx.trace import ModuleNode, as_input_arrays, key_of, trace

OPSETS = range(13, 22)


class Context:
    """What a converter sees of one node (see ``converters.py``)."""

    def __init__(self, graph, node, x, out, other_shapes, layer):
        self.graph, self.opset = graph, graph.opset
        self.node_ = node
        self.fn = getattr(node, "fn", None)
        self.module = getattr(node, "module", None)
        self.x, self.out = x, out
        self.in_shapes = [tuple(t.shape) for t in node.inputs]
        self.out_shapes = [tuple(s) for s in node.out_shapes]
        self.out_dtype = np.dtype(node.out_dtypes[0])
        self._other_shapes = other_shapes
        self.layer = layer

    def dynamic_axes(self, i):
        """The axes of output ``i`` whose size follows the batch size."""
        if self._other_shapes is None:
            return []
        return [a for a, (m, n) in enumerate(zip(self.out_shapes[i], self._other_shapes[i])) if m != n]

    def node(self, op_type, inputs, outputs=None, **attributes):
        return self.graph.add_node(op_type, inputs, outputs, **attributes)

    def const(self, array):
        return self.graph.add_const(np.asarray(array))

    def ints(self, values):
        return self.graph.add_const(np.asarray(list(values), dtype=np.int64))

    def scalar(self, value):
        return self.graph.add_const(np.asarray(value, dtype=self.out_dtype))

    def param(self, tensor):
        return self.graph.name_of_leaf(tensor, None)

    def unsupported(self, reason):
        raise self.graph.unsupported(self, reason)


class Graph:
    """The ONNX graph being built: nodes, initializers, and the name of every traced value."""

    def __init__(self, model, opset):
        self.opset = opset
        self.nodes, self.initializers, self.names, self.value_names = [], [], set(), {}
        self.param_names = {}
        for name, t in list(model.named_buffers()) + list(model.named_parameters()):
            if isinstance(t, Tensor):
                self.param_names.setdefault(id(t), name)
        self.constant_count = 0

    def fresh(self, hint):
        hint = hint.replace("/", "_")
        name, n = hint, 1
        while name in self.names:
            n += 1
            name = f"{hint}_{n}"
        self.names.add(name)
        return name

    def add_node(self, op_type, inputs, outputs=None, **attributes):
        from onnx import helper
        single = outputs is None
        outputs = [self.fresh(f"{op_type.lower()}_out")] if single else list(outputs)
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=self.fresh(op_type), **attributes))
        return outputs[0] if single or len(outputs) == 1 else outputs

    def add_const(self, array, name=None):
        from onnx import numpy_helper
        name = self.fresh(name or "const")
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def name_of_leaf(self, tensor, dtype):
        """A parameter or buffer: an initializer under its state-dict name (once); any other leaf a
        constant (cast to ``dtype`` when given and both are floating point, as the op computed)."""
        key = ("leaf", id(tensor))
        if key in self.value_names:
            return self.value_names[key]
        array = np.asarray(tensor.data)
        if id(tensor) in self.param_names:
            name = self.add_const(array, self.param_names[id(tensor)])
        else:
            if dtype is not None and array.dtype.kind == "f" and np.dtype(dtype).kind == "f":
                array = array.astype(dtype)
            return self.add_const(array)
        self.value_names[key] = name
        return name

    def unsupported(self, context, reason):
        path, module = context.layer if context.layer else ("", None)
        where = f"layer '{path}' ({type(module).__name__})" if path else (
            f"the model's own forward ({type(module).__name__})" if module is not None else "the model")
        what = context.fn.name if context.fn is not None else type(context.module).__name__
        return UnsupportedOperatorError(f"ONNX export (opset {self.opset}): cannot export the op '{what}' in {where}: "
                                        f"{reason}; nothing was written")


def export(model, example_input, path, input_names=None, output_names=None, dynamic_batch=True, opset_version=17):
    onnx = require("onnx")
    from onnx import helper
    if opset_version not in OPSETS:
        raise ConfigError(f"ONNX export: opset_version must be between {OPSETS[0]} and {OPSETS[-1]}, got {opset_version}")
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ConfigError(f"ONNX export: the folder {directory} does not exist")
    arrays = as_input_arrays(example_input)
    if dynamic_batch and any(a.ndim == 0 for a in arrays):
        raise ConfigError("ONNX export: dynamic_batch needs inputs with a batch axis (axis 0); got a 0-d input")
    whole = tuple(converters.module_converters())
    first = trace(model, arrays, whole)
    other = None
    if dynamic_batch:
        other = _trace_one_more(model, arrays, whole, converters.square_inputs(first.records), first.inputs)
        if [type(getattr(n, "fn", n)) for n in other.nodes] != [type(getattr(n, "fn", n)) for n in first.nodes]:
            raise ConfigError("ONNX export: the model's graph changes with the batch size, so it cannot be exported "
                              "with a dynamic batch axis; use dynamic_batch=False")

    graph = Graph(model, opset_version)
    input_names = _names(input_names, "input", len(arrays))
    output_names = _names(output_names, "output", len(first.outputs))
    for t, name in zip(first.inputs, input_names):
        graph.value_names[("leaf", id(t))] = name
        graph.names.add(name)
    graph.names.update(output_names)
    table = converters.module_converters()
    for index, node in enumerate(first.nodes):
        if isinstance(node, ModuleNode):
            convert = next(f for cls, f in table.items() if isinstance(node.module, cls))
            layer = (node.path, node.module)
        else:
            convert = converters.CONVERTERS.get(type(node.fn).__name__)
            layer = first.layer_of.get(id(node.fn))
        x = []
        for position, (key, t) in enumerate(zip(node.input_keys, node.inputs)):
            if key in graph.value_names:
                x.append(graph.value_names[key])
            else:  # a leaf no op made: a parameter, a buffer, or a constant
                x.append(graph.name_of_leaf(t, node.out_dtypes[0]))
                if other is not None and key[0] == "leaf" and id(t) not in graph.param_names:
                    _check_constant(graph, node, layer, t, other.nodes[index], position)
        hint = node.path if isinstance(node, ModuleNode) else node.fn.name
        out = [graph.fresh(hint) for _ in node.output_keys]
        context = Context(graph, node, x, out, other.nodes[index].out_shapes if other is not None else None, layer)
        if convert is None:
            raise graph.unsupported(context, "no ONNX mapping for this op")
        convert(context)
        for key, name in zip(node.output_keys, out):
            graph.value_names[key] = name

    used = {name for n in graph.nodes for name in n.input}
    for name in input_names:
        if name not in used:
            raise UnsupportedOperatorError(
                f"ONNX export (opset {opset_version}): the input '{name}' reaches no recorded op: the model uses it "
                "outside gradwork's ops (e.g. in NumPy, as GraphConv normalises its adjacency matrix), so the "
                "traced value would be baked into the file as a constant; nothing was written")
    inputs = [_value_info(helper, name, t.data, dynamic_batch, _varying(t, other.inputs[i]) if other else ())
              for i, (t, name) in enumerate(zip(first.inputs, input_names))]
    outputs = []
    for i, (t, name) in enumerate(zip(first.outputs, output_names)):
        key = key_of(t)
        source = graph.value_names.get(key) or graph.name_of_leaf(t, None)
        graph.add_node("Identity", [source], [name])
        varying = [] if other is None else _varying(t, other.outputs[i])
        outputs.append(_value_info(helper, name, t.data, bool(varying), varying))
    onnx_graph = helper.make_graph(graph.nodes, type(model).__name__, inputs, outputs, graph.initializers)
    proto = helper.make_model(onnx_graph, opset_imports=[helper.make_opsetid("", opset_version)],
                              producer_name="gradwork", ir_version=8)
    onnx.checker.check_model(proto, full_check=True)
    data = proto.SerializeToString()
    with atomic_open(path, "wb") as f:
        f.write(data)
    return path


def _trace_one_more(model, arrays, whole, square, traced_inputs):
    """Trace again with one more example: every input one longer on axis 0, and a graph's adjacency (an
    input in ``square``) one longer on both axes, so it stays the graph of the grown node set."""
    grown = []
    for a, t in zip(arrays, traced_inputs):
        a = np.concatenate([a, a[:1]])
        if id(t) in square:
            a = np.concatenate([a, a[:, :1]], axis=1)
        grown.append(a)
    try:
        return trace(model, grown, whole)
    except ShapeError as error:
        raise ConfigError(f"ONNX export: the model does not run at another batch size ({error}), so it cannot be "
                          "exported with a dynamic batch axis; use dynamic_batch=False") from None


def _varying(first, other):
    """The axes on which two traced values' sizes differ: those that follow the batch."""
    return [a for a, (m, n) in enumerate(zip(first.shape, other.shape)) if m != n]


def _check_constant(graph, node, layer, tensor, other_node, position):
    """A constant whose shape follows the batch size was computed from the input outside the graph."""
    other_tensor = other_node.inputs[position]
    if tuple(other_tensor.shape) != tuple(tensor.shape):
        context = Context(graph, node, [], [], None, layer)
        raise graph.unsupported(context, f"one of its inputs, of shape {tuple(tensor.shape)}, follows the batch size "
                                         "but was not recorded in the graph (computed outside gradwork's ops, or "
                                         "created with the batch size); use dynamic_batch=False")


def _names(names, default, count):
    if names is None:
        return [default] if count == 1 else [f"{default}{i}" for i in range(count)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != count or len(set(names)) != count:
        raise ConfigError(f"ONNX export: {count} distinct {default} name(s) needed, got {names}")
    return names


def _value_info(helper, name, array, dynamic, axes=(0,)):
    shape = ["batch" if dynamic and a in axes else n for a, n in enumerate(array.shape)]
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.asarray(array).dtype), shape)
