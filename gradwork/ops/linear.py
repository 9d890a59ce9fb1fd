"""The affine map of a fully connected layer, y = x Wᵀ + b, as one op."""
import math

from gradwork import kernels
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
        # Every leading axis in one (N, in) matrix of rows: one product, not one per sequence of a
        # (batch, seq, in) input (NumPy's matmul would loop over the batch: 1.7× slower for a Transformer).
        rows = as_matrix(x)
        y = rows @ weight.T
        if bias is not None:
            y += bias
        return y.reshape(x.shape[:-1] + weight.shape[:1])

    def backward(self, gy):  # dx = gy W,  dW = gyᵀ x,  db = Σ_n gy
        x, weight = self.saved
        gy2 = as_matrix(gy)
        gx = (gy2 @ weight).reshape(x.shape) if self.needs_input_grad[0] else None
        gw = (gy2.T @ as_matrix(x)) if self.needs_input_grad[1] else None
        gb = self.bias_gradient(gy2) if len(self.needs_input_grad) > 2 and self.needs_input_grad[2] else None
        return gx, gw, gb

    @staticmethod
    def bias_gradient(gy2):
        """db = Σ_n gy: the (N, out) output gradient summed over its rows."""
        return gy2.sum(axis=0)


def as_matrix(a):
    """(*, k) → (N, k) with N the product of the leading axes (1 for a vector)."""
    return a.reshape(math.prod(a.shape[:-1]), a.shape[-1])


def linear(x, weight, bias=None):
    """y = x Wᵀ + b, with weight (out_features, in_features) as in PyTorch's ``nn.Linear``."""
    function = kernels.choose(LinearFunction)()
    if bias is None:
        return function(x, weight)
    return function(x, weight, bias)
