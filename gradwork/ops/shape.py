"""Shape operations: reshape, transpose/permute, flatten, squeeze/unsqueeze, indexing, cat, stack.

None of them changes a value, so each backward only puts gradients back where the values came from.
"""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import xp
from gradwork.errors import ShapeError
from gradwork.ops._util import normalize_axes


class Reshape(Function):
    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        try:
            return x.reshape(self.shape)
        except ValueError:
            raise ShapeError(f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) "
                             f"into {self.shape}") from None

    def backward(self, gy):
        return gy.reshape(self.input_shape)


class Permute(Function):
    def __init__(self, dims):
        self.dims = dims

    def forward(self, x):
        if sorted(d % max(x.ndim, 1) for d in self.dims) != list(range(x.ndim)):
            raise ShapeError(f"permute: {self.dims} is not an ordering of the {x.ndim} axes of shape {x.shape}")
        return x.transpose(self.dims)

    def backward(self, gy):  # undo the reordering with the inverse permutation
        return gy.transpose(xp.argsort([d % gy.ndim for d in self.dims]))


class GetItem(Function):
    """``x[index]`` for basic slices, boolean masks and integer arrays."""

    def __init__(self, index):
        self.index = index
        self.advanced = _has_integer_array(index)

    def forward(self, x):
        self.input_shape, self.input_dtype = x.shape, x.dtype
        try:
            return x[self.index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (tensor shape {x.shape})") from None

    def backward(self, gy):
        gx = xp.zeros(self.input_shape, self.input_dtype)
        if self.advanced:
            # An integer array may name the same element twice: both uses add their gradient.
            xp.add.at(gx, self.index, gy)
        else:
            gx[self.index] = gy
        return gx


class Cat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        cuts = xp.cumsum(self.sizes)[:-1]
        return tuple(xp.split(gy, cuts, axis=self.axis))


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(xp.moveaxis(gy, self.axis, 0))


def _has_integer_array(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, xp.ndarray)) and xp.asarray(p).dtype.kind in "iu" for p in parts)


def _plain_index(index):
    """Replace tensors inside an index by their arrays."""
    if isinstance(index, tuple):
        return tuple(p.data if isinstance(p, Tensor) else p for p in index)
    return index.data if isinstance(index, Tensor) else index


def reshape(x, *shape):
    """``x`` with a new shape of the same size; one dimension may be -1."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return Reshape(shape)(x)


def permute(x, *dims):
    """Reorder the axes: output axis i is input axis ``dims[i]``."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    return Permute(tuple(dims))(x)


def transpose(x, dim0, dim1):
    """Swap axes ``dim0`` and ``dim1`` (PyTorch's ``transpose``)."""
    x = as_tensor(x)
    dims = list(range(x.ndim))
    a, b = normalize_axes((dim0, dim1), x.ndim)
    dims[a], dims[b] = dims[b], dims[a]
    return Permute(tuple(dims))(x)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge axes ``start_dim`` … ``end_dim`` into one: (N, C, H, W) → (N, C·H·W) with start_dim=1."""
    x = as_tensor(x)
    if x.ndim == 0:
        return reshape(x, (1,))
    start, end = normalize_axes((start_dim, end_dim), x.ndim)
    shape = x.shape[:start] + (-1,) + x.shape[end + 1:]
    if 0 in x.shape:
        shape = x.shape[:start] + (int(xp.prod(x.shape[start:end + 1])),) + x.shape[end + 1:]
    return reshape(x, shape)


def squeeze(x, dim=None):
    """Drop axes of length 1 (all of them, or only ``dim``)."""
    x = as_tensor(x)
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        (d,) = normalize_axes(dim, x.ndim)
        shape = x.shape if x.shape[d] != 1 else x.shape[:d] + x.shape[d + 1:]
    return reshape(x, shape)


def unsqueeze(x, dim):
    """Insert an axis of length 1 at position ``dim``."""
    x = as_tensor(x)
    d = dim if dim >= 0 else dim + x.ndim + 1
    if not 0 <= d <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dimensions")
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def getitem(x, index):
    """``x[index]``; gradients of repeated integer indices are added."""
    return GetItem(_plain_index(index))(x)


def cat(tensors, axis=0, *, dim=None):
    """Join tensors along an existing axis."""
    axis = dim if dim is not None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    _check_same_rank("cat", tensors)
    return Cat(axis)(*tensors)


def stack(tensors, axis=0, *, dim=None):
    """Join same-shape tensors along a new axis."""
    axis = dim if dim is not None else axis
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors need the same shape, got {sorted(shapes)}")
    return Stack(axis)(*tensors)


def _check_same_rank(name, tensors):
    ranks = {t.ndim for t in tensors}
    if len(ranks) > 1:
        raise ShapeError(f"{name}: all tensors need the same number of dimensions, got shapes "
                         f"{[t.shape for t in tensors]}")
