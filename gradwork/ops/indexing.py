"""Indexing ops beyond ``x[index]``: ``gather`` (pick one element per position along an axis),
``masked_fill`` and ``index_put`` (the recorded form of ``x[index] = value``)."""
import numbers

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import compat, get_array_module, to_device_of, xp
from gradwork.errors import ShapeError
from gradwork.ops._util import sum_to
from gradwork.ops.shape import _index_on_device_of, plain_index


class Gather(Function):
    """out[i][j][k] = x[index[i][j][k]][j][k] for dim = 0 (and likewise for the other dims).

    ``index`` has the input's number of dimensions and may be smaller than the input along the other
    axes; the output has the index's shape. The backward adds each output gradient back at the
    position it was picked from (an index may pick the same element twice).
    """

    def __init__(self, axis, index):
        self.axis, self.index = axis, index

    def forward(self, x):
        self.input_shape = x.shape
        corner = tuple(slice(None) if d == self.axis else slice(0, n) for d, n in enumerate(self.index.shape))
        return xp.take_along_axis(x[corner], self.index, axis=self.axis)

    def backward(self, gy):
        gx = get_array_module(gy).zeros(self.input_shape, gy.dtype)
        compat.scatter_add(gx, self._positions(), gy)  # np.add.at: an element picked twice adds both
        return gx

    def _positions(self):
        """The full index tuple of the picked elements: ``index`` on the gather axis, ranges elsewhere."""
        ndim = self.index.ndim
        xp = get_array_module(self.index)
        return tuple(self.index if d == self.axis else
                     xp.arange(n).reshape((1,) * d + (n,) + (1,) * (ndim - d - 1))
                     for d, n in enumerate(self.index.shape))


class MaskedFill(Function):
    def __init__(self, mask, value):
        self.mask, self.value = mask, value

    def forward(self, x):
        return xp.where(self.mask, get_array_module(x).asarray(self.value, dtype=x.dtype), x)

    def backward(self, gy):  # filled positions no longer depend on x
        return xp.where(self.mask, 0, gy).astype(gy.dtype, copy=False)


class IndexPut(Function):
    """y = x with y[index] = v: the gradient of x is zeroed where it was overwritten, and v gets the
    gradient of the positions it was written to (summed where v was broadcast)."""

    def __init__(self, index):
        self.index = index

    def forward(self, x, v):
        self.value_shape = v.shape
        if type(x) is not xp.ndarray:  # index arrays given on the host go where x is
            self.index = _index_on_device_of(self.index, x)
        y = x.copy()
        y[self.index] = v
        return y

    def backward(self, gy):
        gx = gv = None
        if self.needs_input_grad[0]:
            gx = gy.copy()
            gx[self.index] = 0
        if self.needs_input_grad[1]:
            picked = gy[self.index]
            extra = len(self.value_shape) - picked.ndim  # NumPy drops a value's leading 1-axes
            if extra > 0:
                picked = picked.reshape((1,) * extra + picked.shape)
            gv = sum_to(picked, self.value_shape)
        return gx, gv


def gather(x, dim, index):
    """Pick values of ``x`` along ``dim`` at the positions ``index`` (an integer tensor with x's number of
    dimensions): for dim = 1, out[i][j] = x[i][index[i][j]]."""
    x = as_tensor(x)
    index = to_device_of(index.data if isinstance(index, Tensor) else index, x.data)
    if not isinstance(dim, numbers.Integral) or not -x.ndim <= dim < max(x.ndim, 1):
        raise IndexError(f"gather: dim {dim!r} is out of range for a tensor with {x.ndim} dimensions")
    axis = dim % max(x.ndim, 1)
    if index.dtype.kind not in "iu":
        raise TypeError(f"gather: index must hold integers (int64), got dtype {index.dtype}")
    if index.ndim != x.ndim:
        raise ShapeError(f"gather: index has {index.ndim} dimensions but the input has {x.ndim}; they must be equal")
    for d, (n, m) in enumerate(zip(index.shape, x.shape)):
        if d != axis and n > m:
            raise ShapeError(f"gather: index shape {index.shape} is larger than the input shape {x.shape} "
                             f"in dimension {d}, which is not the gather dimension {axis}")
    if index.size and (index.min() < 0 or index.max() >= x.shape[axis]):
        bad = int(index.min()) if index.min() < 0 else int(index.max())
        raise IndexError(f"gather: index {bad} is out of range for dimension {axis} of size {x.shape[axis]} "
                         f"(valid: 0 … {x.shape[axis] - 1})")
    return Gather(axis, index.astype(xp.int64, copy=False))(x)


def masked_fill(x, mask, value):
    """``x`` with ``value`` where the boolean ``mask`` (broadcastable to x's shape) is true."""
    x = as_tensor(x)
    mask = to_device_of(mask.data if isinstance(mask, Tensor) else mask, x.data)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be boolean, got dtype {mask.dtype}")
    try:
        if xp.broadcast_shapes(mask.shape, x.shape) != x.shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"masked_fill: mask of shape {mask.shape} cannot be broadcast to the input shape "
                         f"{x.shape}") from None
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(f"masked_fill: value must be a number or a 0-dimensional tensor, got shape {value.shape}")
        value = value.item()
    if not isinstance(value, numbers.Number):
        raise TypeError(f"masked_fill: value must be a number, got {type(value).__name__}")
    return MaskedFill(mask, value)(x)


def index_put(x, index, value):
    """The recorded form of ``x[index] = value``: a new tensor, differentiable in ``x`` and ``value``."""
    x = as_tensor(x)
    value = as_tensor(value, like=x)
    if value.dtype != x.dtype:
        value = Tensor(value.data.astype(x.dtype)) if not value.requires_grad else value.astype(x.dtype)
    return IndexPut(plain_index(index))(x, value)
