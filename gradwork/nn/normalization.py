"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``."""
from gradwork.backend import get_default_dtype, xp
from gradwork.errors import ShapeError
from gradwork.nn.module import Module
from gradwork.nn.parameter import Parameter
from gradwork.ops import normalization


class _BatchNorm(Module):
    """y = γ·(x − μ)/√(σ² + ε) + β per channel; μ, σ² from the batch in training and from the running
    averages in evaluation.

    Parameters ``weight`` (γ, init 1) and ``bias`` (β, init 0); buffers ``running_mean`` (init 0),
    ``running_var`` (init 1) and ``num_batches_tracked`` — saved in the state dict, never trained.
    ``momentum`` is PyTorch's: running = (1 − momentum)·running + momentum·batch; ``None`` keeps a
    cumulative average over all batches seen.
    """

    expected_dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        if not isinstance(num_features, int) or num_features <= 0:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive integer, got {num_features!r}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dtype = dtype or get_default_dtype()
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype))
            self.bias = Parameter(xp.zeros(num_features, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", xp.zeros(num_features, dtype))
            self.register_buffer("running_var", xp.ones(num_features, dtype))
            self.register_buffer("num_batches_tracked", xp.zeros((), xp.int64))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x):
        if x.ndim not in self.expected_dims:
            raise ShapeError(f"{type(self).__name__}: expected input with {' or '.join(map(str, self.expected_dims))} "
                             f"dimensions, got shape {x.shape}")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{type(self).__name__}({self.num_features}): input has {x.shape[1]} channels "
                             f"(shape {x.shape})")
        use_batch_stats = self.training or not self.track_running_stats
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:
                momentum = 1.0 / int(self.num_batches_tracked.data)
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return normalization.batch_norm(x, running_mean, running_var, self.weight, self.bias,
                                        training=use_batch_stats, momentum=momentum or 0.0, eps=self.eps)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L): statistics per feature C."""

    expected_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W): statistics per channel, over the batch and every pixel."""

    expected_dims = (4,)


class LayerNorm(Module):
    """Normalise each example over its last dimensions ``normalized_shape``; same in train and eval.
    Parameters ``weight`` (init 1) and ``bias`` (init 0) of shape ``normalized_shape``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        dtype = dtype or get_default_dtype()
        if elementwise_affine:
            self.weight = Parameter(xp.ones(self.normalized_shape, dtype))
            self.bias = Parameter(xp.zeros(self.normalized_shape, dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def forward(self, x):
        return normalization.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
