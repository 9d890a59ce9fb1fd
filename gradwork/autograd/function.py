"""``Function``: one differentiable operation, and the one place where the graph is recorded.

A subclass writes two methods on plain arrays::

    class Exp(Function):
        def forward(self, x):
            y = xp.exp(x)
            self.save_for_backward(y)
            return y

        def backward(self, gy):            # d exp(x)/dx = exp(x)
            (y,) = self.saved
            return gy * y

and is used as ``Exp()(tensor)``. A Function is named after its operation; where a layer in
``gradwork.nn`` has the same name, the Function carries the suffix ``Function`` (``LinearFunction``
computes what the ``nn.Linear`` layer calls), as in PyTorch's documentation, so ``grad_fn=…`` in a
tensor's repr never looks like a layer. ``__call__`` unwraps the input tensors, runs ``forward``,
wraps the outputs and — only when some input requires a gradient and recording is on —
links the outputs to this function so that ``backward`` can find its way back.
"""
import re

from gradwork.autograd.grad_mode import is_grad_enabled
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import device_of, is_device_array, xp
from gradwork.errors import DeviceError, ShapeError


class Function:
    """Base class of every differentiable operation.

    Attributes set while recording:
        inputs: the input tensors (kept so their gradients can be delivered).
        needs_input_grad: one bool per input; ``backward`` may return ``None`` where False.
        generation: larger than the generation of every function that produced an input;
            the backward pass runs functions from the largest generation down.
        saved: the arrays ``forward`` stored with ``save_for_backward``.
    """

    saved = ()
    inputs = ()
    input_edges = ()
    needs_input_grad = ()
    generation = 0
    released = False

    def __call__(self, *inputs):
        # Tuples from list comprehensions, not generator expressions (faster to build): this runs for
        # every op, and the Python around a small layer's arithmetic is a fair part of its time.
        tensors = [x if isinstance(x, Tensor) else as_tensor(x) for x in inputs]
        needs = [t.requires_grad for t in tensors]
        record = is_grad_enabled() and any(needs)
        self.needs_input_grad = tuple(needs) if record else (False,) * len(tensors)
        arrays = [t.data for t in tensors]
        for array in arrays:
            if type(array) is not xp.ndarray:  # not all on the CPU: then all must be on one device
                _check_one_device(self.name, tensors)
                break
        try:
            outputs = self.forward(*arrays)
        except ValueError as error:
            shapes = ", ".join(str(t.shape) for t in tensors)
            raise ShapeError(f"{self.name}: cannot apply to inputs of shapes {shapes}: {error}") from None
        single = not isinstance(outputs, tuple)
        if single:
            outputs = (outputs,)
        results = tuple([Tensor(y if type(y) is xp.ndarray or is_device_array(y) else xp.asarray(y),
                                requires_grad=record) for y in outputs])
        if self.returns_views:
            for y in results:  # a view and its base change together, so they count changes together
                y._version = tensors[0]._version
        if record:
            self.inputs = tensors
            # Where each input came from *now*: an in-place op recorded later gives the tensor object a
            # new creator, but this op used the value from before it.
            edges = []
            generation = 0
            for t in tensors:
                creator = t._creator
                edges.append((creator, t._output_index))
                if creator is not None and creator.generation >= generation:
                    generation = creator.generation + 1
            self.input_edges = tuple(edges)
            self.generation = generation
            self.output_meta = tuple([(y.data.shape, y.data.dtype) for y in results])
            for index, y in enumerate(results):
                y._creator = self
                y._output_index = index
            if self.saved:
                self.saved_versions = _versions_of_saved(self.saved, tensors, results)
        else:
            self.saved = ()
        return results[0] if single else results

    #: True for ops whose outputs are views of their first input (reshape, permute, slicing, …):
    #: an in-place change through the view is a change of the input too.
    returns_views = False
    #: (version counter, its value when recorded) of each input/output whose array was saved.
    saved_versions = ()
    #: output index → weak reference to the output tensor whose gradient ``retain_grad`` keeps.
    retained = None

    op_name = None  # a subclass may set its name when snake case would mangle it (ReLU → relu)

    @property
    def name(self):
        """The operation's name in messages: ``op_name``, or the class name in snake case without a
        ``Function`` suffix (``MatMul`` → ``mat_mul``, ``LSTMLayer`` → ``lstm_layer``,
        ``Conv2dFunction`` → ``conv2d``)."""
        class_name = type(self).__name__.removesuffix("Function")
        return self.op_name or re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", class_name).lower()

    def save_for_backward(self, *arrays):
        """Keep the arrays ``backward`` needs; they are dropped once backward has used them."""
        self.saved = arrays

    def forward(self, *xs):
        """Compute the outputs from input arrays."""
        raise NotImplementedError

    def backward(self, *gys):
        """Turn gradients of the outputs into gradients of the inputs (one per input, or ``None``)."""
        raise NotImplementedError(f"{self.name} has no backward: it is not differentiable")

    def check_saved_unchanged(self):
        """Raise if a tensor whose array this function saved was changed in place since (its version
        moved on): the gradient would be computed from the new values and be silently wrong."""
        for counter, recorded in self.saved_versions:
            if counter[0] != recorded:
                raise RuntimeError(
                    f"backward: a tensor that {self.name} saved to compute its gradient was changed in place "
                    f"after it was used (version {recorded}, now {counter[0]}); the gradient would be wrong. "
                    "Change a copy instead (t.clone()), or make the in-place change after backward().")

    def release(self):
        """Drop the saved arrays and the inputs: the graph behind this function is freed."""
        self.saved = ()
        self.inputs = ()
        self.input_edges = ()
        self.saved_versions = ()
        self.released = True


def _check_one_device(name, tensors):
    """Raise when the inputs live on different devices: an op computes where its inputs are, so all
    of them must be in one place (move them with ``.to(device)`` first)."""
    devices = [device_of(t.data) for t in tensors]
    if any(d != devices[0] for d in devices):
        listed = ", ".join(f"{t.shape} on {d}" for t, d in zip(tensors, devices))
        distinct = sorted({str(d) for d in devices})
        raise DeviceError(f"{name}: expected all inputs on one device, got tensors on {' and '.join(distinct)} "
                          f"({listed}); move them with .to(device) first (model.to(device) for a model's parameters)")


def _versions_of_saved(saved, inputs, outputs):
    """The version counters of the tensors whose arrays are among ``saved`` — the same array, or one a
    view of the other (an LSTM saves all hidden states and returns views of them) — with their values now.

    Two arrays share memory in this sense when they have the same *owner*: the end of the chain of
    ``base``s (the array itself when it is not a view). NumPy usually points a view of a view straight at
    the owning array, but not always (an array over a buffer, a memmap, a subclass), so the chain is
    walked; one set of owners then answers for every tensor."""
    owners = {id(_owner(array)) for array in saved}
    return tuple([(t._version, t._version[0]) for t in (*inputs, *outputs) if id(_owner(t.data)) in owners])


def _owner(array):
    """The object at the end of ``array``'s chain of ``base``s: the array that owns the memory, or the
    buffer an array was made over."""
    base = getattr(array, "base", None)
    while base is not None:
        array, base = base, getattr(base, "base", None)
    return array
