"""Padding: ``pad`` widens the trailing dimensions of a tensor (or, by a negative amount, crops them).

``pad`` is flat, as in PyTorch's ``F.pad``: (left, right) of the last dimension first, then
(top, bottom) of the one before, and so on — ``pad(x, (1, 1, 2, 2))`` adds one column on each side
and two rows above and below. Four ways to make up the new values, shown on the row [1 2 3] padded
by 2 on each side:

    constant    0 0 [1 2 3] 0 0      a fixed value (``value``)
    reflect     3 2 [1 2 3] 2 1      mirrored at the edge, the edge itself not repeated
    replicate   1 1 [1 2 3] 3 3      the edge value repeated
    circular    2 3 [1 2 3] 1 2      wrapped around, as if the row were a ring

Backward. A constant border holds no input, so the input's gradient is the output gradient cropped
to where the input sits. The other three modes fill the border with *copies* of input elements;
each copy carries its gradient back to its source, so an input element receives its own gradient
plus the gradients of all its copies (for reflect, the element next to the edge gets its mirror
image's; for replicate, the edge element gets the whole border's).

Those three modes are one operation: along each padded axis, output position j holds input
element ``source[j]`` (a gather), where ``source`` maps the positions −left … size+right−1 back
into 0 … size−1 — mirrored, clipped or taken modulo the size.
"""
import numbers

from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_array_module, to_device_of, xp
from gradwork.errors import ConfigError, ShapeError

MODES = ("constant", "reflect", "replicate", "circular")


def source_index(mode, size, left, right):
    """For each output position along one axis, the input position it copies: (size + left + right,).

    The positions −left … size+right−1 (negative and ≥ size are the border) mapped into the input:
    reflect mirrors at 0 and size − 1 (valid while left, right < size), replicate clips to the
    edges, circular wraps around. With a negative amount (a crop), reflect and replicate still
    copy from the whole input, while circular wraps around what is left after cropping — the
    order PyTorch uses.
    """
    if mode == "circular":
        start, stop = max(-left, 0), size - max(-right, 0)  # the part that survives the crop
        positions = xp.arange(-max(left, 0), stop - start + max(right, 0))
        return start + positions % max(stop - start, 1)
    positions = xp.arange(-left, size + right)
    if mode == "reflect":  # −i for i < 0, 2(size − 1) − i for i ≥ size
        return (size - 1) - xp.abs((size - 1) - xp.abs(positions))
    return xp.clip(positions, 0, size - 1)  # replicate


class ConstantPad(Function):
    """out = value everywhere, with x written in its place: out[…, left + i] = x[…, i].

    Negative amounts crop: the input part that is kept is x[…, max(−left, 0) : size − max(−right, 0)].
    """

    op_name = "pad"

    def __init__(self, pairs, value):
        self.pairs, self.value = pairs, value  # pairs: {axis: (left, right)}

    def forward(self, x):
        out_shape = list(x.shape)
        self.source, self.target = [slice(None)] * x.ndim, [slice(None)] * x.ndim
        for axis, (left, right) in self.pairs.items():
            size = x.shape[axis]
            out_shape[axis] = size + left + right
            kept = slice(max(-left, 0), size - max(-right, 0))  # the part of the input that survives the crop
            self.source[axis] = kept
            self.target[axis] = slice(max(left, 0), max(left, 0) + kept.stop - kept.start)
        self.source, self.target = tuple(self.source), tuple(self.target)
        self.input_shape = x.shape
        out = get_array_module(x).full(out_shape, self.value, dtype=x.dtype)
        out[self.target] = x[self.source]
        return out

    def backward(self, gy):  # the border received no input: keep only the gradient where the input sits
        gx = get_array_module(gy).zeros(self.input_shape, dtype=gy.dtype)
        gx[self.source] = gy[self.target]
        return gx


class CopyPad(Function):
    """Reflect, replicate or circular padding: along each padded axis, out[…, j] = x[…, source[j]]
    (see :func:`source_index`). Backward adds every copy's gradient back to its source."""

    op_name = "pad"

    def __init__(self, pairs, mode):
        self.pairs, self.mode = pairs, mode

    def forward(self, x):
        self.input_shape = x.shape
        for axis, (left, right) in self.pairs.items():
            x = xp.take(x, to_device_of(source_index(self.mode, x.shape[axis], left, right), x), axis=axis)
        return x

    def backward(self, gy):
        for axis, (left, right) in reversed(self.pairs.items()):  # undo the axes in the opposite order
            gy = _gather_adjoint(gy, axis, self.input_shape[axis], left, right,
                                 source_index(self.mode, self.input_shape[axis], left, right))
        return gy


def _gather_adjoint(g, axis, size, left, right, source):
    """The backward of ``take(x, source, axis)``: each output slice's gradient added to its source.

    The interior (positions 0 … size−1 that were not cropped) maps one to one, so it is copied as a
    block; only the border — as many slices as the padding is wide — is added slice by slice. (One
    ``add.at`` over every slice is the obvious version; it is ten times slower.)
    """
    g = xp.moveaxis(g, axis, 0)
    gx = get_array_module(g).zeros((size,) + g.shape[1:], dtype=g.dtype)
    first, last = max(0, -left), max(max(0, -left), min(size, size + right))  # the interior, in input positions
    gx[first:last] = g[first + left:last + left]
    interior = range(first + left, last + left)  # output positions of the interior block (maybe empty)
    for j in range(len(source)):  # the border: a few slices (all of them when a crop ate the interior)
        if j not in interior:
            gx[source[j]] += g[j]
    return xp.moveaxis(gx, 0, axis)


def pad(input, pad, mode="constant", value=0.0):
    """Pad (or, with negative amounts, crop) the trailing dimensions of ``input``, as PyTorch's ``F.pad``.

    Args:
        input: a tensor of any shape.
        pad: (left, right) pairs of ints, the last dimension first: length 2·k pads the last k dims.
        mode: 'constant' (any number of dims), or 'reflect', 'replicate', 'circular' — these pad the
            last 1, 2 or 3 dimensions of an input with one or two leading (batch, channel) dims.
        value: the fill value of 'constant' mode (``None`` means 0).

    Shape: dimension −i (i = 1 … k) grows from n to n + pad[2i − 2] + pad[2i − 1]; the others stay.
    reflect needs each amount smaller than the dimension it pads; circular at most its size.
    """
    x = as_tensor(input)
    pairs = _check_pad(x.shape, pad, mode, value)
    if mode == "constant":
        return ConstantPad(pairs, 0.0 if value is None else value)(x)
    return CopyPad(pairs, mode)(x)


def _check_pad(shape, pad, mode, value):
    """Validate ``pad(…)``'s arguments; return {axis: (left, right)} with the last axis first."""
    if mode not in MODES:
        raise ConfigError(f"pad: mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    if isinstance(pad, numbers.Integral) or not all(isinstance(p, numbers.Integral) for p in pad):
        raise ConfigError(f"pad: pad must be a sequence of ints, (left, right) pairs from the last dimension, "
                          f"got {pad!r}")
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2:
        raise ShapeError(f"pad: pad must hold (left, right) pairs, one pair per padded dimension starting from the "
                         f"last; got {len(pad)} numbers {pad}")
    ndim, k = len(shape), len(pad) // 2
    if k > ndim:
        raise ShapeError(f"pad: pad has {k} (left, right) pairs but the input has only {ndim} dimensions "
                         f"(shape {shape}); it can be at most {2 * ndim} long")
    if mode != "constant":
        if value is not None and value != 0:
            raise ConfigError(f"pad: value={value!r} is only for mode='constant'; mode={mode!r} takes no value")
        if k not in (1, 2, 3) or ndim not in (k + 1, k + 2):
            raise ShapeError(f"pad: mode={mode!r} pads the last 1, 2 or 3 dimensions of an input with one or two "
                             f"leading dimensions (channels, or batch and channels), so a pad of {len(pad)} numbers "
                             f"needs a {k + 1}-D or {k + 2}-D input; got shape {shape}")
    pairs = {}
    for i in range(k):
        axis, (left, right) = ndim - 1 - i, pad[2 * i:2 * i + 2]
        size = shape[axis]
        where = f"padding ({left}, {right}) of dimension {axis} of size {size} (input shape {shape})"
        if mode in ("constant", "circular") and size + min(left, 0) + min(right, 0) < 0:
            raise ShapeError(f"pad: negative padding crops more than the dimension holds: {where}")
        if size + left + right < 0:  # reflect and replicate pad from the whole input, then crop
            raise ShapeError(f"pad: the padding leaves a negative size {size + left + right}: {where}")
        if mode == "reflect" and max(left, right) >= size:
            raise ShapeError(f"pad: mode='reflect' needs each padding smaller than the dimension it pads: {where}")
        if mode == "circular" and max(left, right) > size + min(left, 0) + min(right, 0):
            raise ShapeError(f"pad: mode='circular' wraps around at most once, so each padding must be at most the "
                             f"size of the dimension it pads (after any cropping): {where}")
        if mode == "replicate" and size == 0 and (left > 0 or right > 0):
            raise ShapeError(f"pad: mode='replicate' has no edge value to repeat in an empty dimension: {where}")
        pairs[axis] = (left, right)
    return pairs
