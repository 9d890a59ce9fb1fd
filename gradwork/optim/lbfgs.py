"""L-BFGS: a quasi-Newton method that builds a picture of the curvature from its last few steps."""
from gradwork.autograd.grad_mode import enable_grad
from gradwork.autograd.sparse import SparseGrad
from gradwork.backend import get_array_module, xp
from gradwork.errors import ConfigError
from gradwork.optim.optimizer import Optimizer


class LBFGS(Optimizer):
    """L-BFGS (Liu & Nocedal, 1989), PyTorch's algorithm and arguments, without a line search.

    Newton's method steps by −H⁻¹g; L-BFGS never forms the inverse Hessian H⁻¹ but applies an
    estimate of it to g from the last ``history_size`` pairs sₖ = θₖ₊₁ − θₖ, yₖ = gₖ₊₁ − gₖ
    (the *two-loop recursion*)::

        q = −g
        for k newest → oldest:   αₖ = ρₖ sₖ·q,  q = q − αₖ yₖ              (ρₖ = 1 / yₖ·sₖ)
        r = γ q                   γ = y·s / y·y of the newest pair: the scale of H⁻¹
        for k oldest → newest:   βₖ = ρₖ yₖ·r,  r = r + (αₖ − βₖ) sₖ
        d = r                     the direction;  θ = θ + t·d

    The first step is plain gradient descent with t = lr · min(1, 1/‖g‖₁); after it t = lr. A pair
    with yₖ·sₖ ≤ 1e-10 (no positive curvature along the step) is not kept.

    As in PyTorch, ``step(closure)`` runs up to ``max_iter`` iterations and needs a ``closure`` that
    zeroes the gradients, computes the loss, calls ``backward()`` and returns the loss; it returns
    the loss of the first evaluation. Each iteration evaluates the closure once. It stops early when
    the largest gradient entry is ≤ ``tolerance_grad``, when a step or the change of the loss is
    ≤ ``tolerance_change``, when d is not a descent direction, or after ``max_eval`` evaluations (default
    ``max_iter · 5/4``). The history is kept between calls, so ``max_iter=1`` makes each ``step`` one
    iteration. One parameter group; every parameter is one part of a single flat vector θ.

    ``line_search_fn="strong_wolfe"`` (PyTorch's option) is not implemented: the step is always
    ``lr`` along d, which is what PyTorch does with the default ``line_search_fn=None``.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if line_search_fn is not None:
            raise ConfigError(f"LBFGS: line_search_fn={line_search_fn!r} is not implemented in gradwork; use "
                              "line_search_fn=None (a fixed step of lr along the L-BFGS direction)")
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        for name, value in (("max_iter", max_iter), ("max_eval", max_eval), ("history_size", history_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"LBFGS: {name} must be a positive integer, got {value!r}")
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))
        if len(self.param_groups) != 1:
            raise ConfigError("LBFGS doesn't support per-parameter options (parameter groups): give one list "
                              "of parameters")
        self._params = self.param_groups[0]["params"]

    # ----------------------------------------------------------------- θ and g as flat vectors
    def _flat_grad(self):
        parts = []
        for p in self._params:
            if isinstance(p.grad, SparseGrad):
                raise RuntimeError("LBFGS does not support sparse gradients (an Embedding with sparse=True)")
            parts.append(get_array_module(p.data).zeros(p.data.size, p.dtype) if p.grad is None else p.grad.reshape(-1))
        return xp.concatenate(parts)

    def _add_to_params(self, step):
        """θ = θ + step, the flat ``step`` cut into each parameter's shape, in place (a counted change)."""
        offset = 0
        for p in self._params:
            n = p.data.size
            p.data += step[offset:offset + n].reshape(p.data.shape).astype(p.dtype, copy=False)
            p._version[0] += 1
            offset += n

    # ----------------------------------------------------------------- the algorithm
    def step(self, closure=None):
        if closure is None:
            raise TypeError("LBFGS.step needs a closure that zeroes the gradients, computes the loss, calls "
                            "backward() and returns the loss: optimizer.step(closure)")
        group = self.param_groups[0]
        lr, history_size = group["lr"], group["history_size"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        # all of the state lives with the first parameter, as in PyTorch
        state = self.state.setdefault(self._params[0], {})
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            original_loss = closure()
        loss = float(original_loss)
        evaluations = 1
        state["func_evals"] += 1
        grad = self._flat_grad()
        if xp.abs(grad).max() <= tolerance_grad:  # already at a stationary point
            return original_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_steps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag = state.get("H_diag")
        prev_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < group["max_iter"]:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:  # the very first iteration: steepest descent, an empty history
                d = -grad
                old_dirs, old_steps, ro, h_diag = [], [], [], 1.0
            else:
                y = grad - prev_grad  # how the gradient changed over the last step s
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:  # keep the pair only where the curvature along s is positive
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0), old_steps.pop(0), ro.pop(0)
                    old_dirs.append(y)
                    old_steps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                d = self._two_loop(grad, old_dirs, old_steps, ro, h_diag)
            prev_grad = grad.copy()
            prev_loss = loss

            t = lr * min(1.0, 1.0 / float(xp.abs(grad).sum())) if state["n_iter"] == 1 else lr
            if float(grad @ d) > -tolerance_change:  # not a descent direction: stop
                break

            self._add_to_params(t * d)
            if n_iter != group["max_iter"]:  # the next iteration needs the gradient at the new θ
                with enable_grad():
                    loss = float(closure())
                grad = self._flat_grad()
                evaluations += 1
                state["func_evals"] += 1
                converged = xp.abs(grad).max() <= tolerance_grad
            else:
                converged = False

            if n_iter == group["max_iter"] or evaluations >= group["max_eval"] or converged:
                break
            if xp.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break  # no progress: the step or the change of the loss is negligible

        state.update(d=d, t=t, old_dirs=old_dirs, old_stps=old_steps, ro=ro, H_diag=h_diag,
                     prev_flat_grad=prev_grad, prev_loss=prev_loss)
        return original_loss

    @staticmethod
    def _two_loop(grad, old_dirs, old_steps, ro, h_diag):
        """H⁻¹ applied to −g from the stored pairs (the recursion in the class docstring)."""
        alphas = [0.0] * len(old_dirs)
        q = -grad
        for i in reversed(range(len(old_dirs))):
            alphas[i] = float(old_steps[i] @ q) * ro[i]
            q = q - alphas[i] * old_dirs[i]
        r = q * h_diag
        for i in range(len(old_dirs)):
            beta = float(old_dirs[i] @ r) * ro[i]
            r = r + (alphas[i] - beta) * old_steps[i]
        return r

    def update(self, param, grad, state, group):
        raise TypeError("LBFGS updates all parameters together in step(closure)")
