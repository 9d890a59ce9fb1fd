"""Arithmetic with NumPy broadcasting: ``+ - * / **``, negation and matrix product.

Each ``backward`` states the local derivative and then undoes broadcasting with ``sum_to``.
"""
import numbers

from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp
from gradwork.errors import ShapeError
from gradwork.ops._util import operands, sum_to


class Add(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy):  # d(a+b)/da = 1, d(a+b)/db = 1
        return sum_to(gy, self.shapes[0]), sum_to(gy, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy):  # d(a-b)/da = 1, d(a-b)/db = -1
        gb = sum_to(-gy, self.shapes[1]) if self.needs_input_grad[1] else None
        return sum_to(gy, self.shapes[0]), gb


class Mul(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, gy):  # d(ab)/da = b, d(ab)/db = a
        a, b = self.saved
        ga = sum_to(gy * b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(gy * a, b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, gy):  # d(a/b)/da = 1/b, d(a/b)/db = -a/b²
        a, b = self.saved
        ga = sum_to(gy / b, a.shape) if self.needs_input_grad[0] else None
        gb = sum_to(-gy * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class PowScalar(Function):
    """x ** c for a constant exponent c (the common case: squares, square roots, reciprocals)."""

    def __init__(self, exponent):
        self.exponent = exponent

    def forward(self, x):
        self.save_for_backward(x)
        return x ** self.exponent

    def backward(self, gy):  # d(x^c)/dx = c·x^(c-1)
        (x,) = self.saved
        c = self.exponent
        return gy * (c * x ** (c - 1))


class Pow(Function):
    """a ** b with both sides tensors."""

    def forward(self, a, b):
        y = a ** b
        self.save_for_backward(a, b, y)
        return y

    def backward(self, gy):  # d(a^b)/da = b·a^(b-1), d(a^b)/db = a^b·ln a
        a, b, y = self.saved
        ga = sum_to(gy * b * a ** (b - 1), a.shape) if self.needs_input_grad[0] else None
        gb = None
        if self.needs_input_grad[1]:
            with xp.errstate(divide="ignore", invalid="ignore"):
                log_a = xp.where(a > 0, xp.log(xp.where(a > 0, a, 1)), 0)  # the limit a^b·ln a → 0 at a = 0
            gb = sum_to(gy * y * log_a, b.shape)
        return ga, gb


class MatMul(Function):
    """Matrix product with NumPy's rules: 1-D operands are promoted, leading axes broadcast."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
        inner_a = a.shape[-1]
        inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
        if inner_a != inner_b:
            raise ShapeError(f"matmul: cannot multiply shapes {a.shape} and {b.shape}: "
                             f"inner dimensions {inner_a} and {inner_b} differ")
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, gy):  # Y = A B:  dA = dY Bᵀ,  dB = Aᵀ dY
        a, b = self.saved
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:  # a dot product: the output is a scalar
            gy = gy.reshape(1, 1)
        elif a.ndim == 1:  # the promoted row axis was dropped from the output: put it back
            gy = xp.expand_dims(gy, -2)
        elif b.ndim == 1:  # likewise the promoted column axis
            gy = xp.expand_dims(gy, -1)
        ga = gb = None
        if self.needs_input_grad[0]:
            ga = sum_to(gy @ xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            gb = sum_to(xp.swapaxes(a2, -1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb


def add(a, b):
    """a + b, broadcasting."""
    return Add()(*operands(a, b))


def sub(a, b):
    """a − b, broadcasting."""
    return Sub()(*operands(a, b))


def mul(a, b):
    """a · b elementwise, broadcasting."""
    return Mul()(*operands(a, b))


def div(a, b):
    """a / b elementwise, broadcasting."""
    return Div()(*operands(a, b))


def neg(x):
    """−x."""
    return Neg()(x)


def pow(a, b):
    """a ** b; a constant exponent takes the cheaper path that never needs log(a)."""
    if isinstance(a, Tensor) and isinstance(b, numbers.Number) and not isinstance(b, bool):
        return PowScalar(b)(a)
    return Pow()(*operands(a, b))


def matmul(a, b):
    """Matrix product a @ b (NumPy's rules for 1-D and batched operands)."""
    return kernels.choose(MatMul)()(*operands(a, b))
