"""``Optimizer``: the base of every update rule, with parameter groups and a resumable state.

Parameters are held in *groups*, each a dict with its own ``lr`` and options::

    Adam([{"params": model.body.parameters()},
          {"params": model.head.parameters(), "lr": 1e-2}], lr=1e-3)

Schedulers change ``group["lr"]``; ``step()`` reads it on every call.

The state (moments, …) is made on the first ``step()`` beside each parameter, so an optimiser made
before or after ``model.to(device)`` works; state that exists already (after steps or a resume) moves
with ``optimizer.to(device)``, as ``load_state_dict`` puts it beside each parameter.

A gradient may be sparse (a :class:`~gradwork.autograd.sparse.SparseGrad`, from an ``Embedding`` with
``sparse=True``). Only optimisers that say so take one (``SGD``, ``SparseAdam``); the others refuse it
in ``step()``, as PyTorch's do, because their update of an untouched row is not zero (Adam's moments
keep moving it) and a sparse update would silently be another algorithm.
"""
from gradwork import kernels
from gradwork.autograd.sparse import SparseGrad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import device_of, get_array_module, is_device_array, to_device, to_device_of, xp
from gradwork.errors import DeviceError


def add_scaled(target, alpha, x):
    """``target += alpha·x``, in place: the move every update rule makes (θ − lr·g is ``add_scaled(θ, −lr, g)``).

    This is the course's version; update rules call :meth:`Optimizer.add_scaled`, which on the fast path
    (``gw.kernels``) runs BLAS's axpy instead (``kernels/blas.py``: one pass, no temporary ``alpha * x``).
    """
    target += alpha * x


class Optimizer:
    """Base class. Subclasses define ``update(param, grad, state, group)`` for one parameter."""

    #: Whether ``update`` accepts a :class:`SparseGrad`; ``step()`` refuses one otherwise.
    accepts_sparse_grads = False

    def __init__(self, params, defaults):
        for name, value in defaults.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{type(self).__name__}: {name} must be non-negative, got {value}")
        self.defaults = defaults
        self.param_groups = []
        self.state = {}
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list; pass model.parameters()")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group):
        """Add a group of parameters with its own options (missing options take the defaults)."""
        group = dict(group)
        params = group["params"]
        group["params"] = [params] if isinstance(params, Tensor) else list(params)
        for p in group["params"]:
            if not isinstance(p, Tensor) or not p.is_leaf:
                raise TypeError(f"{type(self).__name__}: can only optimise leaf tensors (parameters), "
                                f"got {type(p).__name__}")
        existing = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in existing for p in group["params"]):
            raise ValueError(f"{type(self).__name__}: a parameter appears in more than one group")
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.param_groups.append(group)

    def zero_grad(self):
        """Forget all gradients (``.grad = None``) before the next backward pass."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self):
        """Update every parameter that has a gradient, in place. Each update counts as an in-place
        change of the parameter (its version moves on), so a backward pass through a graph recorded
        before the step raises instead of using the new weights (as in PyTorch)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if isinstance(p.grad, SparseGrad) and not self.accepts_sparse_grads:
                        raise RuntimeError(
                            f"{type(self).__name__} does not support sparse gradients (a parameter of shape "
                            f"{p.shape} has one: an Embedding with sparse=True); use optim.SparseAdam or "
                            f"optim.SGD for it — or a second optimizer for the sparse parameters only — "
                            f"or make the Embedding dense (sparse=False)")
                    if type(p.grad) is not type(p.data) and not isinstance(p.grad, SparseGrad):
                        raise DeviceError(f"{type(self).__name__}.step: a parameter of shape {p.shape} is on "
                                          f"{p.device} but its gradient is on {device_of(p.grad)}; move the model "
                                          "before the forward pass (model.to(device)), not between backward and step")
                    self.update(p.data, p.grad, self.state.setdefault(p, {}), group)
                    p._version[0] += 1

    def to(self, device):
        """Move every state array (moments, accumulators) to ``device``, in place; returns self. Needed only
        for state that exists already: after ``model.to(device)`` following steps or a resume."""
        def moved(value):
            if isinstance(value, xp.ndarray) or is_device_array(value):
                return to_device(value, device)
            if isinstance(value, list):  # L-BFGS keeps its history as lists of arrays
                return [moved(item) for item in value]
            return value

        for state in self.state.values():
            for key, value in state.items():
                state[key] = moved(value)
        return self

    def update(self, param, grad, state, group):
        """Update the array ``param`` in place from ``grad``; ``state`` is this parameter's memory."""
        raise NotImplementedError

    @staticmethod
    def add_scaled(target, alpha, x):
        """``target += alpha·x`` in place (:func:`add_scaled`), on the path ``gw.kernels`` selects."""
        kernels.choose(add_scaled)(target, alpha, x)

    # ----------------------------------------------------------------- resuming
    def state_dict(self):
        """Options and per-parameter state, with parameters numbered in group order (as in PyTorch)."""
        index = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, xp.ndarray) or is_device_array(v) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned (for the same parameters in the same order)."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(g["params"]) != len(own["params"]) for g, own in zip(groups, self.param_groups)):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the saved state has groups of sizes "
                             f"{[len(g['params']) for g in groups]}, this optimizer "
                             f"{[len(g['params']) for g in self.param_groups]}")
        by_index = {}
        for saved, own in zip(groups, self.param_groups):
            for i, p in zip(saved["params"], own["params"]):
                by_index[i] = p
            own.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for i, values in state_dict["state"].items():
            p = by_index[int(i)]
            self.state[p] = {k: (to_device_of(get_array_module(v).array(v, dtype=p.dtype), p.data)
                                 if isinstance(v, xp.ndarray) or is_device_array(v) else v)
                             for k, v in values.items()}

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            options = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} tensors, {options}")
        return "\n".join(lines) + "\n)"
