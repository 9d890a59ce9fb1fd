"""RMSProp: AdaGrad with a moving average, so old gradients are forgotten."""
from gradwork.backend import xp
from gradwork.optim.optimizer import Optimizer


class RMSprop(Optimizer):
    """RMSProp (Hinton, 2012), PyTorch's rule::

        g = ∇θ + weight_decay·θ
        s = alpha·s + (1 − alpha)·g²
        denom = √(s − ḡ²) + eps  if centered (ḡ = alpha·ḡ + (1 − alpha)·g)   else  √s + eps
        b = momentum·b + g/denom;  θ = θ − lr·b      if momentum > 0
        θ = θ − lr·g/denom                              otherwise

    The course's ``s = β·s + (1 − β)·g²`` has β = alpha (0.99 here, 0.9 in many lecture notes).
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                                      centered=centered))

    def update(self, param, grad, state, group):
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(param)
            if group["momentum"] > 0:
                state["momentum_buffer"] = xp.zeros_like(param)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(param)
        state["step"] += 1
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        alpha = group["alpha"]
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            self.add_scaled(grad_avg, 1 - alpha, grad)
            denom = xp.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            denom = xp.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / denom
            self.add_scaled(param, -group["lr"], buf)
        else:
            param -= group["lr"] * grad / denom
