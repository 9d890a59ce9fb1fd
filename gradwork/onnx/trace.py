"""Run a model once and collect what export needs: the recorded graph in topological order, which
layer made each op, and the modules exported whole (batch norm, embedding).

A value of the graph is named by a *key*: ``("op", id(function), output index)`` for an op's output,
``("leaf", id(tensor))`` for a tensor no recorded op made (the input, a parameter, a constant). Keys
come from a function's ``input_edges`` (where each input came from when the op ran), so a later
in-place change of a tensor cannot redirect the walk.
"""
import contextlib

from gradwork import kernels
from gradwork.autograd.grad_mode import enable_grad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp


def key_of(tensor):
    """The key of ``tensor`` now (its creator and output index, or the tensor itself for a leaf)."""
    if tensor._creator is not None:
        return ("op", id(tensor._creator), tensor._output_index)
    return ("leaf", id(tensor))


def _edge_key(edge, tensor):
    creator, index = edge
    return ("op", id(creator), index) if creator is not None else ("leaf", id(tensor))


class OpNode:
    """One recorded Function: its inputs' keys and tensors, its outputs' keys and shapes."""

    def __init__(self, fn):
        self.fn = fn
        self.id = ("op", id(fn))
        self.inputs = list(fn.inputs)
        self.input_keys = [_edge_key(e, t) for e, t in zip(fn.input_edges, fn.inputs)]
        self.input_creators = [creator for creator, _ in fn.input_edges]
        self.output_keys = [("op", id(fn), i) for i in range(len(fn.output_meta))]
        self.out_shapes = [shape for shape, _ in fn.output_meta]
        self.out_dtypes = [dtype for _, dtype in fn.output_meta]


class ModuleNode:
    """A module exported as a whole (its inner ops are skipped): one call, its tensor inputs and output."""

    def __init__(self, record):
        self.record = record
        self.module = record.module
        self.path = record.path or type(record.module).__name__.lower()  # the model itself: a name, not ""
        self.id = ("module", id(record))
        self.inputs = record.inputs
        self.input_keys = record.input_keys
        self.input_creators = record.input_creators
        self.output_keys = [key_of(o) for o in record.outputs]
        self.out_shapes = [o.shape for o in record.outputs]
        self.out_dtypes = [o.dtype for o in record.outputs]


class Record:
    """One module call seen by a forward hook."""

    def __init__(self, path, module, args, kwargs, output):
        self.path, self.module, self.args, self.kwargs = path, module, args, kwargs
        self.inputs = flatten_tensors(args)
        self.input_keys = [key_of(a) for a in self.inputs]
        self.input_creators = [a._creator for a in self.inputs]
        self.outputs = flatten_tensors(output)  # (output, (h_n, c_n)) → [output, h_n, c_n]
        self.output = self.outputs[0] if len(self.outputs) == 1 else None
        self.output_key = key_of(self.output) if self.output is not None else None


def flatten_tensors(value):
    """The tensors of a (nested) tuple or list, in order; anything else left out."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for item in value for t in flatten_tensors(item)]
    return []


class Trace:
    """The result of one traced forward pass.

    inputs: the tensors the model was called with; outputs: its output tensors (a tuple flattened,
    ``None`` left out); nodes: OpNodes and ModuleNodes, each after the nodes that make its inputs;
    layer_of: id(function) → the path of the innermost module whose forward ran it.
    """

    def __init__(self, inputs, outputs, records, whole_modules):
        self.inputs, self.outputs, self.records = inputs, outputs, records
        self.module_outputs = {}
        for record in records:  # a module exported whole: each of its outputs leads to it
            if isinstance(record.module, whole_modules) and record.outputs:
                for output in record.outputs:
                    self.module_outputs.setdefault(key_of(output), record)
        self.nodes = self._topological_order()
        self.layer_of = self._layers()

    def _node(self, key, creator):
        if key in self.module_outputs:
            return ModuleNode(self.module_outputs[key])
        return OpNode(creator) if creator is not None else None

    def _topological_order(self):
        """Post-order depth-first walk from the outputs back (a loop, not recursion: deep graphs)."""
        order, entered = [], set()
        stack = [(self._node(key_of(t), t._creator), False) for t in reversed(self.outputs)]
        while stack:
            node, done = stack.pop()
            if node is None:
                continue
            if done:
                order.append(node)
                continue
            if node.id in entered:
                continue
            entered.add(node.id)
            stack.append((node, True))
            deps = [self._node(key, creator) for key, creator in zip(node.input_keys, node.input_creators)]
            stack.extend((d, False) for d in reversed(deps) if d is not None and d.id not in entered)
        return order

    def _layers(self):
        """Each recorded op's innermost layer: hooks run innermost first, so each module claims the
        ops between its output and its inputs that no inner module claimed."""
        layer_of = {}
        for record in self.records:
            stop = set(record.input_keys)
            stack = [t._creator for t in record.outputs if t._creator is not None]
            while stack:
                fn = stack.pop()
                if id(fn) in layer_of:
                    continue
                layer_of[id(fn)] = (record.path, record.module)
                for (creator, index), t in zip(fn.input_edges, fn.inputs):
                    if creator is not None and ("op", id(creator), index) not in stop:
                        stack.append(creator)
        return layer_of


@contextlib.contextmanager
def tracing(model):
    """Eval mode, every parameter requiring a gradient (so every op on them is recorded), the reference
    kernels, and a hook on every module; all put back afterwards, also on an error."""
    modes = [(m, m.training) for m in model.modules()]
    frozen = [p for p in model.parameters() if not p.requires_grad]
    records, handles = [], []
    for path, module in model.named_modules():
        def hook(module, args, kwargs, output, path=path):
            records.append(Record(path, module, args, kwargs, output))
        handles.append(module.register_forward_hook(hook, with_kwargs=True))
    try:
        model.eval()
        for p in frozen:
            p.requires_grad = True
        with kernels.use("reference"), enable_grad():
            yield records
    finally:
        for handle in handles:
            handle.remove()
        for p in frozen:
            p.requires_grad = False
        for module, mode in modes:
            object.__setattr__(module, "training", mode)


def as_input_arrays(example_input):
    """The example input(s) as a list of arrays; integer arrays become int64 (token ids)."""
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    arrays = []
    for item in items:
        a = xp.asarray(item.data if isinstance(item, Tensor) else item)
        if a.dtype.kind in "iub" and a.dtype != xp.bool_:
            a = a.astype(xp.int64)
        arrays.append(a)
    return arrays


def trace(model, arrays, whole_modules):
    """Run ``model`` on copies of ``arrays`` (float inputs as leaves that require a gradient) and
    return the :class:`Trace`."""
    inputs = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    with tracing(model) as records:
        output = model(*inputs)
    outputs = _flatten_outputs(output)
    for o in outputs:
        if not isinstance(o, Tensor):
            from gradwork.onnx.errors import UnsupportedOperatorError
            raise UnsupportedOperatorError(f"ONNX export: the model returned a {type(o).__name__}; "
                                           "export needs tensors (or a tuple of tensors)")
    return Trace(inputs, outputs, records, whole_modules)


def _flatten_outputs(output):
    """A model's output(s): a tensor, or a (nested) tuple or list of them; ``None`` left out."""
    if isinstance(output, (tuple, list)):
        return [o for item in output for o in _flatten_outputs(item)]
    return [] if output is None else [output]
