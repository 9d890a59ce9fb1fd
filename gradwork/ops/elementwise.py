"""Elementwise maths: exp, log, log1p, sqrt, sin, cos, abs, clip, where, clone and dtype casts."""
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import get_array_module, xp
from gradwork.errors import ShapeError
from gradwork.ops._util import sum_to


class Exp(Function):
    def forward(self, x):
        y = xp.exp(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # d eˣ/dx = eˣ
        (y,) = self.saved
        return gy * y


class Log(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.log(x)

    def backward(self, gy):  # d ln x/dx = 1/x
        (x,) = self.saved
        return gy / x


class Log1p(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.log1p(x)

    def backward(self, gy):  # d ln(1 + x)/dx = 1/(1 + x); log1p keeps precision for tiny x
        (x,) = self.saved
        return gy / (1 + x)


class Sin(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.sin(x)

    def backward(self, gy):  # d sin x/dx = cos x
        (x,) = self.saved
        return gy * xp.cos(x)


class Cos(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.cos(x)

    def backward(self, gy):  # d cos x/dx = −sin x
        (x,) = self.saved
        return -gy * xp.sin(x)


class Clone(Function):
    def forward(self, x):
        return x.copy()

    def backward(self, gy):  # the identity
        return gy


class Sqrt(Function):
    def forward(self, x):
        y = xp.sqrt(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):  # d √x/dx = 1/(2√x)
        (y,) = self.saved
        return gy / (2 * y)


class Abs(Function):
    def forward(self, x):
        self.save_for_backward(x)
        return xp.abs(x)

    def backward(self, gy):  # d|x|/dx = sign(x), taken as 0 at 0
        (x,) = self.saved
        return gy * xp.sign(x)


class Clip(Function):
    def __init__(self, low, high):
        self.low, self.high = low, high

    def forward(self, x):
        self.save_for_backward(x)
        return xp.clip(x, self.low, self.high)

    def backward(self, gy):  # 1 inside [low, high], 0 where the value was clipped
        (x,) = self.saved
        inside = get_array_module(x).ones(x.shape, dtype=bool)
        if self.low is not None:
            inside &= x >= self.low
        if self.high is not None:
            inside &= x <= self.high
        return gy * inside


class Where(Function):
    def __init__(self, condition):
        self.condition = condition

    def forward(self, a, b):
        self.shapes = a.shape, b.shape
        return xp.where(self.condition, a, b)

    def backward(self, gy):  # the gradient goes to whichever side was chosen
        ga = sum_to(xp.where(self.condition, gy, 0), self.shapes[0]) if self.needs_input_grad[0] else None
        gb = sum_to(xp.where(self.condition, 0, gy), self.shapes[1]) if self.needs_input_grad[1] else None
        return ga, gb


class Cast(Function):
    def __init__(self, dtype):
        self.dtype = xp.dtype(dtype)

    def forward(self, x):
        self.input_dtype = x.dtype
        return x.astype(self.dtype, copy=False)

    def backward(self, gy):
        return gy.astype(self.input_dtype, copy=False)


def exp(x):
    """eˣ elementwise."""
    return Exp()(x)


def log(x):
    """Natural logarithm elementwise."""
    return Log()(x)


def log1p(x):
    """ln(1 + x) elementwise, accurate for x near 0."""
    return Log1p()(x)


def sin(x):
    """Sine elementwise (radians)."""
    return Sin()(x)


def cos(x):
    """Cosine elementwise (radians)."""
    return Cos()(x)


def clone(x):
    """A copy of ``x`` in its own memory; gradients flow through it unchanged."""
    return Clone()(x)


def sqrt(x):
    """Square root elementwise."""
    return Sqrt()(x)


def abs(x):
    """|x| elementwise."""
    return Abs()(x)


def clip(x, min=None, max=None):
    """Limit values to [min, max] (either bound may be None); PyTorch calls it ``clamp``."""
    if min is None and max is None:
        raise ValueError("clip: give at least one of min and max")
    return Clip(min, max)(x)


def where(condition, a, b):
    """Elementwise choice: ``a`` where ``condition`` is true, else ``b`` (broadcasting)."""
    condition = as_tensor(condition).data.astype(bool, copy=False)
    # A Python number takes the dtype of the tensor on the other side (0.1 beside float64 stays exact).
    if isinstance(a, Tensor):
        a, b = a, as_tensor(b, like=a)
    else:
        b = as_tensor(b)
        a = as_tensor(a, like=b)
    try:
        xp.broadcast_shapes(condition.shape, a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"where: condition {condition.shape}, a {a.shape} and b {b.shape} "
                         "cannot be broadcast together") from None
    if a.dtype.kind == "f" and b.dtype.kind != "f":
        b = as_tensor(b.data.astype(a.dtype))
    elif b.dtype.kind == "f" and a.dtype.kind != "f":
        a = as_tensor(a.data.astype(b.dtype))
    return Where(condition)(a, b)


def cast(x, dtype):
    """``x`` converted to ``dtype``; gradients are converted back."""
    x = as_tensor(x)
    if x.dtype == xp.dtype(dtype):
        return x
    return Cast(dtype)(x)
