"""Normalisation: batch norm and layer norm.

Both standardise x̂ = (x − μ) / √(σ² + ε) over some axes and then scale and shift, y = γ·x̂ + β.
They differ only in the axes: batch norm over the batch (and spatial) axes, per channel; layer
norm over the feature axes, per example.

These are the course's versions. The fast path (the default, see ``gradwork.kernels``) runs batch norm
(in training and in evaluation) and layer norm as one op each (``gradwork.kernels.normalization``), with
the same numbers to rounding.
"""
from gradwork import kernels
from gradwork.autograd.function import Function
from gradwork.autograd.tensor import Tensor, as_tensor
from gradwork.backend import xp
from gradwork.errors import ShapeError
from gradwork.ops import shape as shape_ops


class Standardize(Function):
    """x̂ = (x − mean) / √(var + ε) over ``axes`` (biased variance), as one op.

    Backward, with m values per group and g = ∂L/∂x̂:
        ∂L/∂x = (g − mean(g) − x̂ · mean(g ⊙ x̂)) / √(var + ε)
    (the two subtracted terms are what flows through the mean and the variance).
    """

    def __init__(self, axes, eps):
        self.axes, self.eps = axes, eps

    def forward(self, x):
        mean = x.mean(axis=self.axes, keepdims=True)
        centered = x - mean
        var = (centered * centered).mean(axis=self.axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        x_hat = centered * inv_std
        self.save_for_backward(x_hat, inv_std)
        self.mean, self.var = mean, var  # read by batch_norm to update its running statistics
        return x_hat

    def backward(self, g):
        x_hat, inv_std = self.saved
        return (g - g.mean(axis=self.axes, keepdims=True)
                - x_hat * (g * x_hat).mean(axis=self.axes, keepdims=True)) * inv_std


class BatchNormalize(Function):
    """Batch normalisation with the batch's own statistics (training mode) and the affine step, as one op:

        μ = mean(x),  σ² = mean((x − μ)²),  x̂ = (x − μ) / √(σ² + ε),  y = γ ⊙ x̂ + β

    per channel, over the batch and every spatial position (m values each). Backward, with g = ∂L/∂y,
    is the closed form the course derives (the paths through μ and σ² collapse into two sums):

        ∂L/∂β = Σ g,   ∂L/∂γ = Σ g ⊙ x̂,   ∂L/∂x = γ/√(σ² + ε) ⊙ (g − (∂L/∂β + x̂ ⊙ ∂L/∂γ) / m)
    """

    def __init__(self, eps):
        self.eps = eps

    def forward(self, x, weight, bias):
        axes = (0,) + tuple(range(2, x.ndim))  # every axis but the channels
        shape = _channel_shape(x)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        inv_std = 1.0 / xp.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self.save_for_backward(x_hat, inv_std, weight.reshape(shape))
        self.axes = axes
        self.mean, self.var = mean, var  # read by batch_norm to update its running statistics
        return weight.reshape(shape) * x_hat + bias.reshape(shape)

    def backward(self, g):
        x_hat, inv_std, weight = self.saved
        m = g.size // g.shape[1]
        g_bias = g.sum(axis=self.axes, keepdims=True)
        g_weight = (g * x_hat).sum(axis=self.axes, keepdims=True)
        gx = weight * inv_std * (g - (g_bias + x_hat * g_weight) / m)
        return gx, g_weight.reshape(-1), g_bias.reshape(-1)


def _channel_shape(x):
    return (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(x, running_mean=None, running_var=None, weight=None, bias=None, training=False, momentum=0.1,
               eps=1e-5):
    """Batch normalisation of x (N, C) or (N, C, *spatial), per channel C.

    training: normalise with the batch's mean and (biased) variance over N and the spatial axes,
        and update the running statistics in place with PyTorch's convention
        ``running = (1 − momentum)·running + momentum·batch`` (the running variance uses the
        unbiased batch variance, n/(n − 1) times the biased one). ``momentum=None`` keeps a
        cumulative average instead (pass it as ``momentum=1/num_batches_tracked``).
    evaluation: normalise with the running statistics.
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected input of shape (N, C) or (N, C, H, W), got {x.shape}")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight),
                    ("bias", bias)):
        if t is not None and tuple(t.shape) != (channels,):
            raise ShapeError(f"batch_norm: input has {channels} channels (shape {x.shape}) but {name} has shape "
                             f"{tuple(t.shape)}")
    shape = _channel_shape(x)
    if training or running_mean is None:
        axes = (0,) + tuple(range(2, x.ndim))
        count = x.numel() // channels if channels else 0
        if count == 0:  # an empty batch: nothing to normalise and no statistics to take (PyTorch's answer too)
            return _scale_and_shift(x, weight, bias, shape)
        if count < 2 and training:
            raise ValueError(f"batch_norm: training needs more than one value per channel to estimate a variance, "
                             f"got input of shape {x.shape} (use a batch of 2 or more, or eval mode)")
        if weight is not None and bias is not None:  # the usual case: normalise, scale and shift in one op
            normalize = kernels.choose(BatchNormalize)(eps)
            out = normalize(x, weight, bias)
        else:
            normalize = Standardize(axes, eps)
            out = _scale_and_shift(normalize(x), weight, bias, shape)
        if training and running_mean is not None:
            _update_running_statistics(normalize, running_mean, running_var, momentum, count)
        return out
    mean = running_mean.data if isinstance(running_mean, Tensor) else running_mean
    var = running_var.data if isinstance(running_var, Tensor) else running_var
    return normalize_with_statistics(x, mean, var, weight, bias, eps)


def normalize_with_statistics(x, mean, var, weight, bias, eps):
    """Evaluation's batch norm: γ ⊙ (x − μ)/√(σ² + ε) + β with the given (running) μ and σ² per channel,
    arrays that take no gradient; γ, β optional."""
    fused = kernels.choose(normalize_with_statistics)  # the fast path: one op (kernels.normalization.FrozenBatchNorm)
    if fused is not normalize_with_statistics and fused.applies(x, weight, bias):
        return fused(mean, var, eps)(x, weight, bias)
    shape = _channel_shape(x)
    inv_std = (1.0 / xp.sqrt(var + eps)).astype(x.dtype).reshape(shape)
    return _scale_and_shift((x - mean.astype(x.dtype).reshape(shape)) * inv_std, weight, bias, shape)


def _scale_and_shift(x_hat, weight, bias, shape):
    """γ ⊙ x̂ + β, either of them optional, broadcast over the channel axis."""
    if weight is not None:
        x_hat = x_hat * shape_ops.reshape(weight, shape)
    if bias is not None:
        x_hat = x_hat + shape_ops.reshape(bias, shape)
    return x_hat


def _update_running_statistics(normalize, running_mean, running_var, momentum, count):
    """running = (1 − momentum)·running + momentum·batch, in place, from the batch statistics that
    ``normalize`` kept; the running variance takes the unbiased batch variance, count/(count − 1)·σ²."""
    channels = running_mean.shape[0]
    batch_mean = normalize.mean.reshape(channels)
    batch_var = normalize.var.reshape(channels) * (count / max(count - 1, 1))
    for stat, value in ((running_mean, batch_mean), (running_var, batch_var)):
        data = stat.data if isinstance(stat, Tensor) else stat
        data *= 1 - momentum
        data += momentum * value.astype(data.dtype, copy=False)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise each example over its last ``len(normalized_shape)`` axes, then y = γ·x̂ + β with
    γ, β of shape ``normalized_shape`` (the same statistics in training and evaluation)."""
    x = as_tensor(x)
    normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(normalized_shape)
    if x.shape[x.ndim - k:] != normalized_shape:
        raise ShapeError(f"layer_norm: input of shape {x.shape} does not end in the normalized shape {normalized_shape}")
    fused = kernels.choose(layer_norm)  # the fast path: one op (gradwork.kernels.normalization.FusedLayerNorm)
    if fused is not layer_norm and fused.applies(x, normalized_shape, weight, bias):
        affine = [as_tensor(t) for t in (weight, bias) if t is not None]
        return fused(k, eps, weight is not None, bias is not None)(x, *affine)
    x_hat = Standardize(tuple(range(x.ndim - k, x.ndim)), eps)(x)
    if weight is not None:
        x_hat = x_hat * weight
    if bias is not None:
        x_hat = x_hat + bias
    return x_hat
