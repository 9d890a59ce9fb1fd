"""Adam: momentum and RMSProp together, with bias correction."""
import math

from gradwork.backend import xp
from gradwork.optim.optimizer import Optimizer


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015), PyTorch's rule::

        g = ∇θ + weight_decay·θ                       (L2 penalty folded into the gradient)
        m = β1·m + (1 − β1)·g                          (momentum: first moment)
        v = β2·v + (1 − β2)·g²                         (RMSProp: second moment)
        m̂ = m / (1 − β1ᵗ),  v̂ = v / (1 − β2ᵗ)          (bias correction: m, v start at 0)
        θ = θ − lr · m̂ / (√v̂ + eps)
        with amsgrad, v̂ uses the running maximum of v instead.

    On the first step m̂ = g and v̂ = g², so every parameter moves by lr·sign(g).

    A sparse gradient (``Embedding(sparse=True)``) is refused, as in PyTorch: Adam moves every row on
    every step, even rows without a gradient; ``SparseAdam`` is the variant that moves only the rows used.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False):
        beta1, beta2 = betas
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, amsgrad=amsgrad))

    def update(self, param, grad, state, group):
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        self.adam_step(param, grad, state, group)

    def adam_step(self, param, grad, state, group):
        """The moment updates and the bias-corrected step, shared by Adam and AdamW."""
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(param)
            state["exp_avg_sq"] = xp.zeros_like(param)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(param)
        state["step"] += 1
        t = state["step"]
        beta1, beta2 = group["betas"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        self.add_scaled(m, 1 - beta1, grad)
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = group["lr"] / (1 - beta1 ** t)
        denom = xp.sqrt(v) / math.sqrt(1 - beta2 ** t) + group["eps"]
        param -= step_size * m / denom
