"""The affine map of a fully connected layer, y = x Wᵀ + b, as one op."""
from gradwork.autograd.function import Function
from gradwork.errors import ShapeError


class LinearFunction(Function):
    """y = x Wᵀ + b with x (*, in), W (out, in), b (out,) → y (*, out).

    One op instead of matmul + transpose + add: one output array, and backward skips the input
    gradient of the first layer (nobody needs the gradient of the data).
    """

    def forward(self, x, weight, bias=None):
        if x.shape[-1:] != weight.shape[1:]:
            raise ShapeError(f"linear: input of shape {x.shape} has {x.shape[-1] if x.ndim else 0} features "
                             f"but the weight {weight.shape} expects {weight.shape[1]}")
        self.save_for_backward(x, weight)
        y = x @ weight.T
        if bias is not None:
            y += bias
        return y

    def backward(self, gy):  # dx = gy W,  dW = gyᵀ x,  db = Σ_n gy
        x, weight = self.saved
        gy2 = gy.reshape(-1, gy.shape[-1])
        gx = (gy @ weight) if self.needs_input_grad[0] else None
        gw = (gy2.T @ x.reshape(-1, x.shape[-1])) if self.needs_input_grad[1] else None
        gb = gy2.sum(axis=0) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return gx, gw, gb


def linear(x, weight, bias=None):
    """y = x Wᵀ + b, with weight (out_features, in_features) as in PyTorch's ``nn.Linear``."""
    if bias is None:
        return LinearFunction()(x, weight)
    return LinearFunction()(x, weight, bias)
