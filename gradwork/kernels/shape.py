"""Fast split: the same numbers as ``gradwork/ops/shape.py``'s ``Split``, with the input's gradient stored in
the input's own memory order.

``Split``'s backward joins the pieces' gradients with ``concatenate``, which makes a C-ordered array. When
the input that was split is a permuted view, that is not its memory order — and that is the usual case in
a Transformer: the packed projection (B, T, 3·E) is reshaped to (B, T, 3, H, d), permuted to
(3, B, H, T, d) and split into Q, K and V. Backward then runs the other way: the permute's backward hands a
transposed view of the C-ordered gradient to the reshape's backward, which must copy it into (B, T, 3·E)
order (3 MB a layer for W7). Joined into an array laid out as the input was, the permute's backward is
C-ordered again and the reshape's backward a free view. In W7's step (``bench/op_profile.py W7 --layers``,
a slow day of the machine) the reshape's backward went 2.10 → 0.02 ms and the split's 1.58 → 2.20 ms (its
writes now land in runs of d values instead of one stream): about 1.4 ms of a 125 ms step; A/B in one
process 1.016× (a first version, 16 rounds) and 1.007× (``python bench/ab_kernel.py
gradwork/kernels/shape.py --against reference W7``, 16 rounds) — small, but a copy of the size of the
projection's output less per layer (bench/RESULTS.md, 2026-12-01). The values are the reference's; only
where they sit in memory differs.
"""
from gradwork.backend import xp
from gradwork.ops.shape import Split


def empty_in_order_of(strides, shape, dtype):
    """An uninitialised array of ``shape`` whose axes are stored in the order of ``strides`` (the axis with
    the largest stride outermost), as NumPy's ``empty_like`` lays out a copy of a permuted array."""
    order = sorted(range(len(shape)), key=lambda axis: -abs(strides[axis]))
    stored = xp.empty([shape[axis] for axis in order], dtype)
    if order == sorted(order):  # C order already: the array itself (not a view, which a leaf would copy)
        return stored
    return stored.transpose([order.index(axis) for axis in range(len(shape))])  # back to the logical axis order


class FastSplit(Split):
    """Cut along one axis into views (the reference's forward); backward joins the gradients into an array
    stored in the input's memory order."""

    op_name = "split"

    def forward(self, x):
        self.input_strides = x.strides
        return super().forward(x)

    def backward(self, *gys):
        if not all(type(g) is xp.ndarray and g.dtype == gys[0].dtype for g in gys):  # another device or dtypes
            return super().backward(*gys)
        shape = list(gys[0].shape)
        shape[self.axis] = sum(g.shape[self.axis] for g in gys)
        return xp.concatenate(gys, axis=self.axis, out=empty_in_order_of(self.input_strides, shape, gys[0].dtype))
