"""AdamW: Adam with weight decay applied to the weights directly, not through the gradient."""
from gradwork.optim.adam import Adam


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019), PyTorch's rule::

        θ = θ · (1 − lr·weight_decay)        (decoupled decay: not scaled by Adam's 1/√v̂)
        then the Adam step on the raw gradient.

    With Adam's L2 penalty, weights with large gradients are barely decayed; AdamW decays all
    weights at the same rate. Default weight_decay is 0.01, as in PyTorch.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)

    def update(self, param, grad, state, group):
        if group["weight_decay"]:
            param *= 1 - group["lr"] * group["weight_decay"]
        self.adam_step(param, grad, state, group)
