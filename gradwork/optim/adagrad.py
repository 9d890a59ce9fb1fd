"""AdaGrad: per-parameter learning rates that shrink with the sum of squared gradients."""
from gradwork.backend import xp
from gradwork.optim.optimizer import Optimizer


class Adagrad(Optimizer):
    """AdaGrad (Duchi et al., 2011), PyTorch's rule::

        g = ∇θ + weight_decay·θ
        h = h + g²                       (h starts at initial_accumulator_value)
        θ = θ − lr_t · g / (√h + eps),   lr_t = lr / (1 + (t − 1)·lr_decay)

    Parameters with large past gradients take smaller steps; the step size only ever decreases.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value, eps=eps))

    def update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(param, group["initial_accumulator_value"])
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        lr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        param -= lr * grad / (xp.sqrt(state["sum"]) + group["eps"])
