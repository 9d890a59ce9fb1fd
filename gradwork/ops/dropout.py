"""Inverted dropout: zero each unit with probability p during training and scale the survivors
by 1/(1 − p), so the expected activation is unchanged and evaluation needs no rescaling."""
from gradwork import backend
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import as_tensor
from gradwork.backend import get_array_module, xp


class DropoutFunction(Function):
    """y = x ⊙ mask, mask = keep/(1 − p) with keep ~ Bernoulli(1 − p). ``mask_shape`` may have
    axes of length 1 so one draw covers a whole channel (``dropout2d``)."""

    def __init__(self, p, mask_shape=None):
        self.p, self.mask_shape = p, mask_shape

    def forward(self, x):
        keep = 1.0 - self.p
        shape = self.mask_shape or x.shape
        if keep == 0:
            mask = get_array_module(x).zeros(shape, x.dtype)
        else:
            draw_dtype = x.dtype if x.dtype in (xp.float32, xp.float64) else xp.float64
            mask = (backend.rng_like(x).random(shape, dtype=draw_dtype) < keep).astype(x.dtype) / x.dtype.type(keep)
        self.save_for_backward(mask)
        return x * mask

    def backward(self, gy):  # the same mask: dropped units get no gradient
        (mask,) = self.saved
        return gy * mask


def dropout(x, p=0.5, training=True):
    """Inverted dropout with drop probability ``p``; the identity when ``training`` is False or p = 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p is a probability in [0, 1], got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    return DropoutFunction(p)(x)


def dropout2d(x, p=0.5, training=True):
    """Channel dropout for (N, C, H, W): each whole feature map is zeroed with probability ``p``
    (neighbouring pixels are correlated, so dropping single pixels regularises little)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout2d: p is a probability in [0, 1], got {p}")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    if x.ndim < 3:
        raise ValueError(f"dropout2d: expected input of shape (N, C, H, W), got {x.shape}")
    return DropoutFunction(p, x.shape[:2] + (1,) * (x.ndim - 2))(x)
