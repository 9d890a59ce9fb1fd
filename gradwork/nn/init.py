"""Weight initialisation, in place, with PyTorch's names and formulas.

For a weight of shape (out, in, *kernel): fan_in = in·∏kernel, fan_out = out·∏kernel.

    xavier (Glorot):  Var(w) = gain² · 2 / (fan_in + fan_out)   — keeps variance through tanh/sigmoid
    kaiming (He):     Var(w) = gain² / fan                      — gain √2 for ReLU keeps variance
    uniform on [−a, a] has variance a²/3, so a = √3 · std.

Every draw comes from gradwork's generator (``manual_seed``).
"""
import math

from gradwork import backend
from gradwork.autograd.grad_mode import no_grad
from gradwork.backend import to_device_of, xp

_GAINS = {"linear": 1.0, "identity": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "sigmoid": 1.0,
          "tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 3.0 / 4}


def calculate_gain(nonlinearity, param=None):
    """The factor that keeps activations' variance steady through ``nonlinearity``.

    relu √2, tanh 5/3, sigmoid and linear 1, leaky_relu √(2 / (1 + slope²)) (slope ``param``, default 0.01).
    """
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in _GAINS:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}; "
                         f"choose from {sorted(_GAINS) + ['leaky_relu']}")
    return _GAINS[nonlinearity]


def _fans(tensor):
    if tensor.ndim < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions, got shape {tensor.shape}")
    receptive = int(xp.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fill(tensor, values):
    with no_grad():  # values are drawn on the host (same weights on every device), then moved to the tensor's
        tensor.data[...] = values if type(tensor.data) is xp.ndarray else to_device_of(values, tensor.data)
    return tensor


def zeros_(tensor):
    return _fill(tensor, 0)


def ones_(tensor):
    return _fill(tensor, 1)


def constant_(tensor, val):
    return _fill(tensor, val)


def uniform_(tensor, a=0.0, b=1.0):
    """w ~ U(a, b)."""
    return _fill(tensor, backend.rng().uniform(a, b, tensor.shape))


def normal_(tensor, mean=0.0, std=1.0):
    """w ~ N(mean, std²)."""
    return _fill(tensor, backend.rng().normal(mean, std, tensor.shape))


def xavier_uniform_(tensor, gain=1.0):
    """w ~ U(−a, a), a = gain·√(6 / (fan_in + fan_out)) (Glorot & Bengio, 2010)."""
    fan_in, fan_out = _fans(tensor)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound)


def xavier_normal_(tensor, gain=1.0):
    """w ~ N(0, std²), std = gain·√(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(tensor, a, mode, nonlinearity):
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """w ~ U(−b, b), b = √3 · gain/√fan (He et al., 2015); ``a`` is the leaky-ReLU slope."""
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    """w ~ N(0, std²), std = gain/√fan (He et al., 2015)."""
    return normal_(tensor, 0.0, _kaiming_std(tensor, a, mode, nonlinearity))


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix, scaled by ``gain``: Q of the QR decomposition of a Gaussian matrix,
    with signs fixed so the result is uniformly distributed (Saxe et al., 2013)."""
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dimensions, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    flat = backend.rng().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q *= xp.sign(xp.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))
