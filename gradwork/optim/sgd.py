"""Stochastic gradient descent, with momentum and Nesterov momentum."""
from gradwork.autograd.sparse import SparseGrad
from gradwork.optim.optimizer import Optimizer


class SGD(Optimizer):
    """Stochastic gradient descent, PyTorch's update rule exactly::

        g = ∇θ + weight_decay·θ
        v = momentum·v + (1 − dampening)·g        (v = g on the first step)
        g = g + momentum·v   if nesterov   else   g = v
        θ = θ − lr·g

    The course writes momentum as ``v = β·v − lr·∇θ;  θ = θ + v``. With a constant learning rate the
    two are the same algorithm: the course's v is −lr times this one (β = momentum, dampening = 0).

    A sparse gradient (:class:`~gradwork.autograd.sparse.SparseGrad`, from ``Embedding(sparse=True)``)
    is taken, as PyTorch takes it: without momentum only its rows move, θ[rows] −= lr·g[rows] — plain
    SGD with a decaying rate is how word2vec trains. With momentum v decays in every row, so every
    row that ever had a gradient keeps moving: the same numbers as the dense update (PyTorch keeps v
    sparse; it grows to those rows). Weight decay would change every row; PyTorch refuses it with a
    sparse gradient, and so does this.

    Args:
        lr: learning rate. momentum: β (0 = plain SGD; 0.9 is usual). dampening: scales the new
        gradient in v. nesterov: look-ahead momentum. weight_decay: L2 penalty coefficient.
    """

    accepts_sparse_grads = True

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, nesterov=nesterov,
                                      weight_decay=weight_decay))

    def update(self, param, grad, state, group):
        if isinstance(grad, SparseGrad):
            if group["weight_decay"]:
                raise RuntimeError("SGD: weight_decay cannot be used with a sparse gradient (it would change "
                                   "every row; PyTorch refuses it too): set weight_decay=0 for the sparse "
                                   "parameters, or use a dense Embedding")
            if not group["momentum"]:
                param[grad.indices] -= group["lr"] * grad.values  # indices are distinct: no row twice
                return
            grad = grad.to_dense()  # momentum moves every row with a non-zero v, see the docstring
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()
            else:
                buf *= momentum
                self.add_scaled(buf, 1 - group["dampening"], grad)
            grad = grad + momentum * buf if group["nesterov"] else buf
        self.add_scaled(param, -group["lr"], grad)  # θ ← θ − lr·g
