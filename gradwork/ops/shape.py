"""Shape operations: reshape, transpose/permute, flatten, squeeze/unsqueeze, expand, repeat, flip,
indexing, cat, stack, and their inverses split, chunk, unbind.

None of them changes a value, so each backward only puts gradients back where the values came from.
"""
import itertools
import math
import numbers

from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import compat, get_array_module, is_device_array, to_device_of, xp
from gradwork.errors import ShapeError
from gradwork.ops._util import normalize_axes, sum_to


class Reshape(Function):
    returns_views = True

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
    returns_views = True

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
        self.returns_views = not self.advanced and not _has_mask(index)

    def forward(self, x):
        self.input_shape, self.input_dtype = x.shape, x.dtype
        if type(x) is not xp.ndarray:  # index arrays given on the host go where x is
            self.index = _index_on_device_of(self.index, x)
        try:
            return x[self.index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (tensor shape {x.shape})") from None

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.input_shape, self.input_dtype)
        if self.advanced:
            # An integer array may name the same element twice: both uses add their gradient (np.add.at).
            compat.scatter_add(gx, self.index, gy)
        else:
            gx[self.index] = gy
        return gx


class Expand(Function):
    """Broadcast to a larger shape without copying (a read-only view)."""
    returns_views = True

    def __init__(self, shape):
        self.shape = shape

    def forward(self, x):
        self.input_shape = x.shape
        return xp.broadcast_to(x, self.shape)

    def backward(self, gy):  # each copy of an element adds its gradient (broadcasting undone)
        return sum_to(gy, self.input_shape)


class Repeat(Function):
    """Tile the tensor ``repeats[i]`` times along axis i (NumPy's ``tile``, PyTorch's ``repeat``)."""

    def __init__(self, repeats):
        self.repeats = repeats

    def forward(self, x):
        self.input_shape = x.shape
        return xp.tile(x, self.repeats)

    def backward(self, gy):  # view the output as (r₀, n₀, r₁, n₁, …) and add up the r copies
        shape = (1,) * (len(self.repeats) - len(self.input_shape)) + self.input_shape
        split = tuple(d for r, n in zip(self.repeats, shape) for d in (r, n))
        g = gy.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return g.reshape(self.input_shape)


class Flip(Function):
    returns_views = True

    def __init__(self, axes):
        self.axes = axes

    def forward(self, x):
        return xp.flip(x, self.axes)

    def backward(self, gy):  # flipping again puts each gradient back in place
        return xp.flip(gy, self.axes)


class Split(Function):
    """Cut along one axis into pieces of the given sizes; the pieces are views of the input."""
    returns_views = True

    def __init__(self, sizes, axis):
        self.sizes, self.axis = sizes, axis

    def forward(self, x):
        cuts = list(itertools.accumulate(self.sizes))[:-1]
        return tuple(xp.split(x, cuts, axis=self.axis))

    def backward(self, *gys):  # the pieces' gradients, side by side again
        return xp.concatenate(gys, axis=self.axis)


class Cat(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return xp.concatenate(xs, axis=self.axis)

    def backward(self, gy):
        cuts = list(itertools.accumulate(self.sizes))[:-1]
        return tuple(xp.split(gy, cuts, axis=self.axis))


class Stack(Function):
    def __init__(self, axis):
        self.axis = axis

    def forward(self, *xs):
        return xp.stack(xs, axis=self.axis)

    def backward(self, gy):
        return tuple(xp.moveaxis(gy, self.axis, 0))


def _is_array(part):
    return isinstance(part, (list, xp.ndarray)) or is_device_array(part)


def _has_integer_array(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(_is_array(p) and (p.dtype if hasattr(p, "dtype") else xp.asarray(p).dtype).kind in "iu"
               for p in parts)


def _has_mask(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(_is_array(p) and (p.dtype if hasattr(p, "dtype") else xp.asarray(p).dtype) == bool for p in parts)


def _index_on_device_of(index, x):
    """``index`` with its arrays and lists moved to the device of the array ``x``."""
    if isinstance(index, tuple):
        return tuple(to_device_of(p, x) if _is_array(p) else p for p in index)
    return to_device_of(index, x) if _is_array(index) else index


def plain_index(index):
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
    return GetItem(plain_index(index))(x)


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


def expand(x, *sizes):
    """``x`` broadcast to ``sizes`` without copying; −1 keeps an axis, new axes may be added in front.
    Only axes of length 1 can grow (PyTorch's rule)."""
    x = as_tensor(x)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise ShapeError(f"expand: {len(sizes)} sizes given for a tensor with {x.ndim} dimensions {x.shape}; "
                         "give at least one size per dimension")
    lead = len(sizes) - x.ndim
    shape = []
    for i, size in enumerate(sizes):
        old = x.shape[i - lead] if i >= lead else None
        if size == -1:
            if old is None:
                raise ShapeError(f"expand: -1 is not allowed for the new leading dimension {i}")
            size = old
        if old is not None and old != 1 and old != size:
            raise ShapeError(f"expand: dimension {i} of shape {x.shape} has length {old}, which cannot become "
                             f"{size}; only dimensions of length 1 can be expanded")
        shape.append(int(size))
    return Expand(tuple(shape))(x)


def repeat(x, *repeats):
    """``x`` tiled ``repeats[i]`` times along axis i; more repeats than axes adds leading axes."""
    x = as_tensor(x)
    if len(repeats) == 1 and isinstance(repeats[0], (tuple, list)):
        repeats = tuple(repeats[0])
    if len(repeats) < x.ndim:
        raise ShapeError(f"repeat: {len(repeats)} repeat counts given for a tensor with {x.ndim} dimensions; "
                         "give at least one per dimension")
    if any(not isinstance(r, numbers.Integral) or r < 0 for r in repeats):
        raise ValueError(f"repeat: repeat counts must be non-negative integers, got {repeats}")
    return Repeat(tuple(int(r) for r in repeats))(x)


def flip(x, *dims):
    """Reverse the order of the elements along each axis in ``dims``."""
    x = as_tensor(x)
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        dims = tuple(dims[0])
    if not dims:
        raise ValueError("flip: give the dims to reverse, e.g. flip(x, 0) or flip(x, (0, 1))")
    axes = normalize_axes(tuple(dims), x.ndim)
    if len(set(axes)) != len(axes):
        raise ValueError(f"flip: dims {dims} name an axis twice")
    return Flip(axes)(x)


def split(x, split_size_or_sections, dim=0):
    """Cut ``x`` along ``dim``: into pieces of ``split_size`` (the last one may be smaller), or into
    pieces of the listed sizes, which must add up to the length of ``dim``. Returns a tuple."""
    x = as_tensor(x)
    (axis,) = normalize_axes(dim, x.ndim)
    n = x.shape[axis]
    if isinstance(split_size_or_sections, numbers.Integral):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be a positive integer, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
        if not sizes:
            sizes = [0]
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if any(s < 0 for s in sizes) or sum(sizes) != n:
            raise ValueError(f"split: the sections {sizes} must be non-negative and add up to {n}, "
                             f"the length of dim {dim} of shape {x.shape}")
    pieces = kernels.choose(Split)(sizes, axis)(x)
    return pieces if isinstance(pieces, tuple) else (pieces,)


def chunk(x, chunks, dim=0):
    """Cut ``x`` along ``dim`` into ``chunks`` pieces of ⌈n / chunks⌉ (fewer when n is small, as in PyTorch)."""
    x = as_tensor(x)
    if not isinstance(chunks, numbers.Integral) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    (axis,) = normalize_axes(dim, x.ndim)
    return split(x, max(math.ceil(x.shape[axis] / chunks), 1), axis)


def unbind(x, dim=0):
    """The slices of ``x`` along ``dim``, that axis removed: a (3, 4) tensor unbinds into three (4,) rows."""
    x = as_tensor(x)
    (axis,) = normalize_axes(dim, x.ndim)
    if x.shape[axis] == 0:
        return ()
    return tuple(squeeze(piece, axis) for piece in split(x, 1, axis))
