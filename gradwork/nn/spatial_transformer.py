"""``SpatialTransformer``: a layer that learns to turn, zoom and move its own input (Jaderberg et al., 2015).

    features = localisation(x)                     any network, (N, …) → (N, F)
    θ        = fc_loc(features)  reshaped (N, 2, 3)  one affine map per image
    out      = grid_sample(x, affine_grid(θ, size))  x read at θ · (x_out, y_out, 1)ᵀ

Nothing tells the layer which transformation is right: the gradient of the network's loss flows back
through ``grid_sample`` into θ and the localisation network, which learn whatever warp makes the
classifier's task easier — typically undoing the rotation, scale and position of the object.
"""
from gradwork.backend import xp
from gradwork.errors import ConfigError, ShapeError
from gradwork.nn import init
from gradwork.nn.linear import Linear
from gradwork.nn.module import Module
from gradwork.ops.grid_sample import MODES, PADDING_MODES, affine_grid, grid_sample
from gradwork.ops.shape import flatten

#: θ of the identity map, row by row: [[1, 0, 0], [0, 1, 0]].
IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


class SpatialTransformer(Module):
    """Warp the input by an affine map that a localisation network predicts from the input itself.

    Args:
        localisation: a module mapping the input (N, C, H, W) to features (N, F) (or to (N, …),
            which is flattened).
        output_size: (H', W') of the output; None keeps the input's (H, W).
        align_corners, mode, padding_mode: as for :func:`gradwork.nn.functional.grid_sample`.
        features: F, the number of features the localisation returns; by default the
            ``out_features`` of its last ``Linear``.

    The final layer ``fc_loc`` = Linear(F, 6) (the name of PyTorch's spatial-transformer tutorial) starts
    with weight 0 and bias (1, 0, 0, 0, 1, 0): θ is the identity for every input, so the layer starts by
    passing its input through unchanged and learns to move away from that only where it helps.

    Shapes: input (N, C, H, W) → output (N, C, H', W'). After each forward, ``theta`` holds that batch's
    affine maps (N, 2, 3), cut off from the graph — for pictures of what the layer learned.
    """

    def __init__(self, localisation, output_size=None, align_corners=False, mode="bilinear", padding_mode="zeros",
                 features=None):
        super().__init__()
        if not isinstance(localisation, Module):
            raise ConfigError(f"SpatialTransformer: localisation must be a Module mapping the input to features, "
                              f"got {type(localisation).__name__}")
        if output_size is not None and (not isinstance(output_size, (tuple, list)) or len(output_size) != 2
                                        or not all(isinstance(s, int) and s > 0 for s in output_size)):
            raise ConfigError(f"SpatialTransformer: output_size must be (H', W'), two positive ints, or None "
                              f"(keep the input's size), got {output_size!r}")
        if mode not in MODES or padding_mode not in PADDING_MODES:
            raise ConfigError(f"SpatialTransformer: mode must be one of {', '.join(MODES)} and padding_mode one of "
                              f"{', '.join(PADDING_MODES)}, got {mode!r} and {padding_mode!r}")
        features = features or _last_out_features(localisation)
        self.localisation = localisation
        self.fc_loc = Linear(features, 6)
        self.output_size = None if output_size is None else tuple(output_size)
        self.align_corners, self.mode, self.padding_mode = bool(align_corners), mode, padding_mode
        self.theta = None
        self.reset_parameters()

    def reset_parameters(self):
        """θ starts as the identity: the last layer's weight 0, its bias (1, 0, 0, 0, 1, 0)."""
        init.zeros_(self.fc_loc.weight)
        init.constant_(self.fc_loc.bias, xp.asarray(IDENTITY))

    def forward(self, x):
        if x.ndim != 4:
            raise ShapeError(f"SpatialTransformer: expected input of shape (N, C, H, W), got {x.shape}")
        features = self.localisation(x)
        features = flatten(features, 1) if features.ndim > 2 else features
        if features.ndim != 2 or features.shape[1] != self.fc_loc.in_features:
            raise ShapeError(f"SpatialTransformer: the localisation network returned features of shape "
                             f"{features.shape}, but fc_loc expects (N, {self.fc_loc.in_features}); pass "
                             f"features={features.shape[-1] if features.ndim == 2 else '…'} to SpatialTransformer")
        theta = self.fc_loc(features).reshape(-1, 2, 3)
        self.theta = theta.detach()
        size = (*x.shape[:2], *(self.output_size or x.shape[2:]))
        grid = affine_grid(theta, size, align_corners=self.align_corners)
        return grid_sample(x, grid, mode=self.mode, padding_mode=self.padding_mode, align_corners=self.align_corners)

    def extra_repr(self):
        return (f"output_size={self.output_size}, align_corners={self.align_corners}, mode={self.mode!r}, "
                f"padding_mode={self.padding_mode!r}")


def _last_out_features(localisation):
    """The ``out_features`` of the localisation network's last Linear layer."""
    found = [m.out_features for m in localisation.modules() if isinstance(m, Linear)]
    if not found:
        raise ConfigError("SpatialTransformer: cannot tell how many features the localisation network returns "
                          "(it has no Linear layer); pass features=F, the size of its flattened output")
    return found[-1]
