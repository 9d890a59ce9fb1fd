"""``Flatten``: images to vectors, (N, C, H, W) → (N, C·H·W)."""
from gradwork.nn.module import Module
from gradwork.ops.shape import flatten


class Flatten(Module):
    """Merge axes start_dim … end_dim (by default all but the batch axis)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
