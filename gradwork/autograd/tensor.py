"""``Tensor``: an array that remembers how it was computed, so gradients can flow back through it.

``t.data`` is the backend array (NumPy on the CPU, CuPy on a GPU: ``t.device`` says which), ``t.grad``
a plain array of the same shape once ``backward`` has reached ``t`` (for the weight of
``Embedding(sparse=True)``, a ``SparseGrad``: only the rows a batch used). A tensor made by an operation knows its creator (a
:class:`~gradwork.autograd.function.Function`); a tensor made by the user is a *leaf*.

Operators are defined here, in the class body, and each one calls the op of the same name in
:mod:`gradwork.ops`, where its forward and its derivative stand side by side.
"""
import numbers
import weakref

from gradwork import backend
from gradwork.backend import Device, device_of, get_array_module, is_device_array, to_host, xp


class Tensor:
    """A multi-dimensional array with automatic differentiation.

    Args:
        data: an array, a NumPy number, a Python number or a (nested) list.
            NumPy arrays keep their dtype; Python floats and lists of floats become the default
            float dtype (float32); Python integers stay integer (int64); bools stay bool.
        requires_grad: record operations on this tensor so ``backward`` computes ``.grad``.
        dtype: convert to this dtype first.
    """

    __slots__ = ("data", "grad", "requires_grad", "_creator", "_output_index", "_version", "__weakref__")
    # Let NumPy hand `ndarray <op> Tensor` over to our reflected operators instead of looping.
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        if type(data) is not xp.ndarray or dtype is not None:
            data = _to_array(data, dtype)
        if requires_grad and data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {data.dtype}")
        self.data = data
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._creator = None
        self._output_index = 0
        # How many times the array was changed in place: a one-element list, shared with the views
        # of this tensor, so backward can tell when a value it saved has changed since.
        self._version = [0]

    # ----------------------------------------------------------------- properties
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        """Where the array lives: ``device(type='cpu')`` or ``device(type='cuda', index=0)``."""
        return device_of(self.data)

    def size(self, dim=None):
        """The shape, as in PyTorch: ``t.size()`` is the tuple, ``t.size(d)`` the length of axis ``d``.
        (NumPy's ``size``, the number of elements, is :meth:`numel`.)"""
        if dim is None:
            return self.data.shape
        if not -self.ndim <= dim < max(self.ndim, 1) or self.ndim == 0:
            raise IndexError(f"size: dim {dim} is out of range for a tensor with {self.ndim} dimensions")
        return self.data.shape[dim]

    def numel(self):
        """Number of elements."""
        return self.data.size

    def dim(self):
        """Number of dimensions (PyTorch's name for ``ndim``)."""
        return self.data.ndim

    @property
    def is_leaf(self):
        """True for tensors the user made (and parameters); False for results of recorded operations."""
        return self._creator is None

    @property
    def creator(self):
        """The :class:`Function` that computed this tensor, or ``None`` for a leaf."""
        return self._creator

    @property
    def T(self):
        """All axes reversed (the matrix transpose for 2-D tensors)."""
        return ops.permute(self, tuple(reversed(range(self.ndim))))

    # ----------------------------------------------------------------- conversion
    def numpy(self):
        """The values as a NumPy array: on the CPU the underlying array itself (shared, not copied),
        on a GPU a copy on the host."""
        return self.data if type(self.data) is xp.ndarray else to_host(self.data)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python number, "
                             f"this one has shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def detach(self):
        """A new leaf sharing this tensor's data, cut off from the graph (an in-place change to one
        is a change to both)."""
        t = Tensor(self.data)
        t._version = self._version
        return t

    def clone(self):
        """A copy with its own memory that stays in the graph (its gradient flows back to this tensor)."""
        return ops.clone(self)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` after ``backward`` (leaves always keep theirs)."""
        if self._creator is None:
            return self
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so no gradient will reach it")
        if self._creator.retained is None:
            self._creator.retained = {}
        self._creator.retained[self._output_index] = weakref.ref(self)
        return self

    @property
    def retains_grad(self):
        creator = self._creator
        return bool(creator is not None and creator.retained and self._output_index in creator.retained)

    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking of this leaf on or off, in place; returns self."""
        if requires_grad and self.data.dtype.kind not in "fc":
            raise TypeError(f"only floating-point tensors can require gradients, got dtype {self.dtype}")
        self.requires_grad = bool(requires_grad)
        return self

    def astype(self, dtype):
        """This tensor converted to ``dtype`` (differentiable between float types)."""
        return ops.cast(self, dtype)

    def to(self, *args, device=None, dtype=None):
        """This tensor on another device and/or of another dtype, as in PyTorch: ``t.to("cuda")``,
        ``t.to("cpu")``, ``t.to(float64)``, ``t.to("cuda", float32)``, ``t.to(other_tensor)``.

        Returns ``self`` when only a device is given and it is this tensor's; otherwise a new tensor that
        stays in the graph (its gradient flows back to this tensor, on this tensor's device)."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, Device) or (isinstance(arg, str) and _names_a_device(arg)):
                device = arg
            else:
                dtype = arg
        result = self if dtype is None else ops.cast(self, dtype)
        return result if device is None else ops.to_device(result, device)

    def cpu(self):
        """This tensor on the CPU (``self`` when it already is)."""
        return ops.to_device(self, "cpu")

    def cuda(self, device=None):
        """This tensor on GPU ``device`` (an index, or the first GPU)."""
        return ops.to_device(self, Device("cuda", device if isinstance(device, int) else None)
                             if not isinstance(device, (str, Device)) else device)

    def float(self):
        return ops.cast(self, xp.float32)

    def double(self):
        return ops.cast(self, xp.float64)

    def __array__(self, dtype=None, copy=None):
        data = self.data if type(self.data) is xp.ndarray else to_host(self.data)  # NumPy sees host values
        return data if dtype is None else data.astype(dtype)

    # ----------------------------------------------------------------- autograd
    def backward(self, grad=None, retain_graph=False):
        """Compute the gradient of this tensor w.r.t. every leaf that requires one, into ``leaf.grad``.

        Args:
            grad: d(result)/d(self); may be omitted for a one-element tensor (it is then 1).
            retain_graph: keep the graph so ``backward`` can run through it again. Without it the
                graph is freed, and a second call raises instead of silently doubling gradients.
        """
        if not self.requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no graph; "
                               "create the leaves with requires_grad=True (Parameters do by default)")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(f"backward: grad can be omitted only for a one-element output, this one "
                                   f"has shape {self.shape}; pass grad= of that shape or reduce it first")
            seed = xp.ones_like(self.data)
        else:
            seed = get_array_module(self.data).array(grad.data if isinstance(grad, Tensor) else grad, dtype=self.dtype)
            if seed.shape != self.shape:
                raise ValueError(f"backward: grad has shape {seed.shape} but the tensor has shape {self.shape}")
        engine.run_backward(self, seed, retain_graph)

    # ----------------------------------------------------------------- arithmetic
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, other):
        return ops.pow(self, other)

    def __rpow__(self, other):
        return ops.pow(other, self)

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return ops.matmul(self, other)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    # Comparisons give boolean tensors and are not differentiable.
    def __eq__(self, other):
        return Tensor(self.data == _data(other))

    def __ne__(self, other):
        return Tensor(self.data != _data(other))

    def __lt__(self, other):
        return Tensor(self.data < _data(other))

    def __le__(self, other):
        return Tensor(self.data <= _data(other))

    def __gt__(self, other):
        return Tensor(self.data > _data(other))

    def __ge__(self, other):
        return Tensor(self.data >= _data(other))

    __hash__ = object.__hash__

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data)

    def any(self):
        return bool(self.data.any())

    def all(self):
        return bool(self.data.all())

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def __setitem__(self, index, value):
        inplace.setitem_(self, index, value)

    # ----------------------------------------------------------------- in place
    # See gradwork/autograd/inplace.py: under no_grad (or on tensors outside the graph) these change
    # the array itself; on a recorded result they are recorded like any op.
    def add_(self, other, *, alpha=1):
        return inplace.apply_(self, "add_", lambda t: t + (other if alpha == 1 else other * alpha), other)

    def sub_(self, other, *, alpha=1):
        return inplace.apply_(self, "sub_", lambda t: t - (other if alpha == 1 else other * alpha), other)

    def mul_(self, other):
        return inplace.apply_(self, "mul_", lambda t: t * other, other)

    def div_(self, other):
        return inplace.apply_(self, "div_", lambda t: t / other, other)

    def pow_(self, exponent):
        return inplace.apply_(self, "pow_", lambda t: t ** exponent, exponent)

    def clamp_(self, min=None, max=None):
        return inplace.apply_(self, "clamp_", lambda t: ops.clip(t, min, max))

    clip_ = clamp_

    def zero_(self):
        return inplace.fill_(self, 0)

    def fill_(self, value):
        return inplace.fill_(self, value)

    def copy_(self, src):
        """Copy ``src``'s values (broadcast to this shape) into this tensor."""
        return inplace.copy_(self, src)

    def __iadd__(self, other):
        return self.add_(other)

    def __isub__(self, other):
        return self.sub_(other)

    def __imul__(self, other):
        return self.mul_(other)

    def __itruediv__(self, other):
        return self.div_(other)

    # ----------------------------------------------------------------- reductions
    def prod(self, dim=None, keepdim=False):
        return ops.prod(self, dim, keepdim)

    def cumsum(self, dim):
        return ops.cumsum(self, dim)

    def logsumexp(self, dim=None, keepdim=False):
        return ops.logsumexp(self, dim, keepdim)

    def norm(self, p="fro", dim=None, keepdim=False):
        return ops.norm(self, p, dim, keepdim)

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.sum(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.mean(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.max(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.min(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def var(self, axis=None, keepdims=False, *, dim=None, keepdim=None, correction=1):
        return ops.var(self, axis, keepdims, dim=dim, keepdim=keepdim, correction=correction)

    def std(self, axis=None, keepdims=False, *, dim=None, keepdim=None, correction=1):
        return ops.sqrt(self.var(axis, keepdims, dim=dim, keepdim=keepdim, correction=correction))

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.argmax(self, axis, keepdims, dim=dim, keepdim=keepdim)

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        return ops.argmin(self, axis, keepdims, dim=dim, keepdim=keepdim)

    # ----------------------------------------------------------------- shape
    def reshape(self, *shape):
        return ops.reshape(self, *shape)

    view = reshape

    def transpose(self, dim0, dim1):
        """Swap two axes (PyTorch's meaning); use ``permute`` to reorder all of them."""
        return ops.transpose(self, dim0, dim1)

    def permute(self, *dims):
        return ops.permute(self, *dims)

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None):
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim):
        return ops.unsqueeze(self, dim)

    def expand(self, *sizes):
        return ops.expand(self, *sizes)

    def expand_as(self, other):
        return ops.expand(self, other.shape)

    def repeat(self, *sizes):
        return ops.repeat(self, *sizes)

    def flip(self, *dims):
        return ops.flip(self, *dims)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def split(self, split_size_or_sections, dim=0):
        return ops.split(self, split_size_or_sections, dim)

    def unbind(self, dim=0):
        return ops.unbind(self, dim)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    # ----------------------------------------------------------------- elementwise
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def log1p(self):
        return ops.log1p(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def clip(self, min=None, max=None):
        return ops.clip(self, min, max)

    clamp = clip

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def softmax(self, axis=-1, *, dim=None):
        return ops.softmax(self, axis, dim=dim)

    def log_softmax(self, axis=-1, *, dim=None):
        return ops.log_softmax(self, axis, dim=dim)

    # ----------------------------------------------------------------- display
    def __repr__(self):
        body = xp.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4)
        extras = []
        if type(self.data) is not xp.ndarray:
            extras.append(f"device='{self.device}'")
        if self.data.dtype not in (backend.get_default_dtype(), xp.int64, xp.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self._creator is not None:
            extras.append(f"grad_fn={type(self._creator).__name__}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def _names_a_device(name):
    """True for "cpu", "cuda", "cuda:1", "auto" and registered devices; False for dtype names ("float32")."""
    try:
        Device(name)
    except ValueError:
        return False
    return True


def _to_array(data, dtype=None):
    if isinstance(data, Tensor):
        data = data.data
    if is_device_array(data):  # a GPU array stays where it is
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, (xp.ndarray, xp.generic)):
        array = xp.asarray(data)
    elif isinstance(data, bool) or isinstance(data, numbers.Integral):
        array = xp.asarray(data, dtype=xp.int64) if not isinstance(data, bool) else xp.asarray(data)
    elif isinstance(data, numbers.Number):
        array = xp.asarray(data, dtype=backend.get_default_dtype())
    else:
        try:
            array = xp.asarray(data)
        except (ValueError, TypeError) as error:
            raise TypeError(f"tensor: cannot make an array out of {type(data).__name__}: {error}") from None
        if array.dtype == xp.float64:
            array = array.astype(backend.get_default_dtype())
        elif array.dtype == object:
            raise TypeError(f"tensor: the data is ragged or not numeric ({type(data).__name__}); "
                            "give a rectangular list of numbers or an array")
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def as_tensor(x, like=None):
    """``x`` as a Tensor. Python and NumPy scalars take the float dtype of ``like`` when it has one,
    so ``float32_tensor * 0.5`` stays float32 (as in PyTorch)."""
    if isinstance(x, Tensor):
        return x
    if like is not None and isinstance(x, (numbers.Number, xp.generic)) and not isinstance(x, bool):
        module = get_array_module(like.data)  # the number joins ``like`` on its device
        kind = like.data.dtype.kind
        if kind == "f":
            return Tensor(module.asarray(x, dtype=like.data.dtype))
        if isinstance(x, (float, xp.floating)):
            return Tensor(module.asarray(x, dtype=backend.get_default_dtype()))
        if module is not xp:
            return Tensor(module.asarray(_to_array(x)))
    return Tensor(x)


from gradwork.autograd import engine, inplace  # noqa: E402
from gradwork import ops  # noqa: E402  (ops are built on Tensor, so they are imported after it)
