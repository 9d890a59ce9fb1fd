"""``Module``: the base of every layer and model.

Assigning a :class:`Parameter` or another ``Module`` to an attribute registers it, so
``model.parameters()`` finds every weight and ``model.state_dict()`` names each one by its
attribute path (``layers.0.weight``) — the same names PyTorch uses, so weights can move between
the two frameworks by name. Buffers (``register_buffer``) are state that is saved but not learned,
such as BatchNorm's running statistics.
"""
import contextlib
from collections import OrderedDict, namedtuple

from gradwork.autograd.grad_mode import no_grad

from gradwork.autograd.tensor import Tensor
from gradwork.autograd.sparse import SparseGrad
from gradwork.autograd.tensor import _names_a_device
from gradwork.backend import Device, is_device_array, to_device, xp
from gradwork.errors import CheckpointError, ShapeError
from gradwork.nn.parameter import Parameter

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class Module:
    """Base class for layers and models: subclasses set attributes in ``__init__`` and write ``forward``."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "training", True)

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        # Re-assigning a registered name keeps its place, as in PyTorch: the order of parameters()
        # is the optimiser's index order and the order of loading weights by position.
        if isinstance(value, Parameter):
            if name not in self._parameters:
                self._forget(name)
            self._parameters[name] = value
        elif isinstance(value, Module):
            if name not in self._modules:
                self._forget(name)
            self._modules[name] = value
        elif name in self._parameters or name in self._modules:
            kind = "parameter" if name in self._parameters else "sub-module"
            if value is not None:
                raise TypeError(f"cannot assign a {type(value).__name__} to {name!r}: it is registered as a {kind} "
                                f"(assign a {'Parameter' if kind == 'parameter' else 'Module'} or None)")
            (self._parameters if kind == "parameter" else self._modules)[name] = None
        elif name in self._buffers:
            self._buffers[name] = value if value is None or isinstance(value, Tensor) else Tensor(_as_array(value))
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        # Only called when normal lookup fails: look in the registries.
        d = self.__dict__
        for table in ("_parameters", "_buffers", "_modules"):
            if table in d and name in d[table]:
                return d[table][name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name):
        if any(name in t for t in (self._parameters, self._buffers, self._modules)):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, param):
        """Register ``param`` (a Parameter or None) under ``name``."""
        if param is None:
            if name not in self._parameters:
                self._forget(name)
            self._parameters[name] = None
        else:
            setattr(self, name, param)

    def register_buffer(self, name, value):
        """Register state that is saved in the state dict but not trained (e.g. running means)."""
        self._forget(name)
        self._buffers[name] = None if value is None else (value if isinstance(value, Tensor) else Tensor(_as_array(value)))

    def add_module(self, name, module):
        """Register a sub-module under ``name`` (for names that are not valid attributes, like "0")."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module, got {type(module).__name__}")
        if name not in self._modules:
            self._forget(name)
        self._modules[name] = module

    # ----------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        try:
            output = self.forward(*args, **kwargs)
        except ShapeError as error:
            _name_the_layer(error, self)
            raise
        if self._forward_hooks:  # (a copy: a hook may remove itself)
            for hook, with_kwargs in list(self._forward_hooks):
                result = hook(self, args, kwargs, output) if with_kwargs else hook(self, args, output)
                if result is not None:
                    output = result
        return output

    def register_forward_hook(self, hook, *, with_kwargs=False):
        """Call ``hook(module, inputs, output)`` after every forward — ``hook(module, inputs, kwargs,
        output)`` with ``with_kwargs=True`` (PyTorch's option) — ; a hook that returns a value replaces the
        output. Returns a handle with ``remove()``."""
        entry = (hook, with_kwargs)
        self._forward_hooks.append(entry)
        hooks = self._forward_hooks

        class Handle:
            def remove(self):
                if entry in hooks:
                    hooks.remove(entry)

        return Handle()

    # ----------------------------------------------------------------- traversal
    def named_modules(self, prefix=""):
        """(path, module) for this module and every descendant, each module once, in definition order."""
        seen = set()
        stack = [(prefix, self)]
        while stack:
            path, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield path, module
            children = [(f"{path}.{n}" if path else n, m) for n, m in module._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self):
        for _, module in self.named_children():
            yield module

    def _named_members(self, table, recurse):
        seen = set()
        modules = self.named_modules() if recurse else [("", self)]
        for path, module in modules:
            for name, value in getattr(module, table).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))  # a tensor shared by two layers (tied weights) is listed once
                yield (f"{path}.{name}" if path else name), value

    def named_parameters(self, recurse=True):
        """(name, Parameter) pairs, in the order the attributes were assigned."""
        return self._named_members("_parameters", recurse)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse):
            yield p

    def named_buffers(self, recurse=True):
        return self._named_members("_buffers", recurse)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse):
            yield b

    def num_parameters(self, trainable_only=False):
        """Total number of parameter values (only those that require grad, if asked)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)

    def apply(self, fn):
        """Call ``fn(module)`` on every descendant and this module (e.g. a custom initialisation)."""
        for module in list(self.modules())[::-1]:
            fn(module)
        return self

    # ----------------------------------------------------------------- modes and state
    def train(self, mode=True):
        """Training mode (dropout active, batch statistics) for this module and all descendants."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        """Evaluation mode (dropout off, running statistics)."""
        return self.train(False)

    @contextlib.contextmanager
    def evaluating(self):
        """Evaluation mode and no graph inside the block; the previous mode comes back afterwards,
        also when the block raises::

            with model.evaluating():
                predictions = model(x)
        """
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                yield self
        finally:
            self.train(was_training)

    def requires_grad_(self, requires_grad=True):
        """Turn gradient tracking on or off for every parameter of this sub-tree (freezing)."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def freeze(self):
        """Stop training this sub-tree (transfer learning: keep pretrained features fixed); returns self."""
        return self.requires_grad_(False)

    def unfreeze(self):
        """Train this sub-tree again; returns self."""
        return self.requires_grad_(True)

    def zero_grad(self):
        """Forget every parameter's gradient (sets ``.grad`` to None, as PyTorch does by default)."""
        for p in self.parameters():
            p.grad = None

    def to(self, *args, device=None, dtype=None):
        """Move parameters and buffers to ``device`` and/or convert the floating-point ones to ``dtype``,
        in place, as in PyTorch: ``model.to("cuda")``, ``model.to(float64)``, ``model.to("cuda", float32)``.
        Returns self.

        The Parameter objects stay the same (their arrays are replaced), so an optimiser made before
        keeps working. An optimiser that already has state (moments, after a step or a resume) moves
        it with ``optimizer.to(device)``; one made after ``model.to(device)`` needs nothing.
        """
        for arg in args:
            if isinstance(arg, Device) or (isinstance(arg, str) and _names_a_device(arg)):
                device = arg
            else:
                dtype = arg
        dtype = None if dtype is None else xp.dtype(dtype)
        device = None if device is None else Device(device)
        for t in list(self.parameters()) + list(self.buffers()):
            if dtype is not None and t.data.dtype.kind == "f":
                t.data = t.data.astype(dtype)
                if t.grad is not None:
                    t.grad = t.grad.astype(dtype)
            if device is not None:
                t.data = to_device(t.data, device)
                if t.grad is not None and not isinstance(t.grad, SparseGrad):
                    t.grad = to_device(t.grad, device)
                elif t.grad is not None:
                    t.grad = None  # a sparse gradient of the old device: the next backward makes a new one
        return self

    def cpu(self):
        """Move parameters and buffers to the CPU, in place; returns self."""
        return self.to("cpu")

    def cuda(self, device=None):
        """Move parameters and buffers to GPU ``device`` (an index, default the first), in place; returns self."""
        return self.to(Device("cuda", device) if isinstance(device, int) or device is None else Device(device))

    def float(self):
        return self.to(xp.float32)

    def double(self):
        return self.to(xp.float64)

    def state_dict(self):
        """Every parameter and buffer as an array, keyed by attribute path (``layers.0.weight``).

        The arrays are the module's own (not copies): copy them to keep a snapshot.
        """
        state = OrderedDict()
        for path, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        state[f"{path}.{name}" if path else name] = value.data
        return state

    def load_state_dict(self, state_dict, strict=True):
        """Copy values from ``state_dict`` (arrays or tensors) into this module's parameters and buffers.

        With ``strict`` (the default) every key must match; a mismatch raises one
        :class:`CheckpointError` that names every missing key, unexpected key and shape difference.
        """
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                shape = tuple(value.shape) if hasattr(value, "shape") else xp.shape(value)
                if shape != target.shape:
                    mismatched.append(f"{key}: checkpoint {shape} vs model {target.shape}")
        problems = []
        if mismatched:
            problems.append("shape mismatch: " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise CheckpointError(f"load_state_dict into {type(self).__name__}: the state dict does not fit this "
                                  "architecture — " + " | ".join(problems))
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                value = value.data if isinstance(value, Tensor) else _as_array(value)
                value = value.astype(target.dtype, copy=True)  # on the module's device, wherever it was saved
                target.data = value if type(value) is type(target.data) else to_device(value, target.device)
        return IncompatibleKeys(missing, unexpected)

    def _state_tensors(self):
        tensors = OrderedDict()
        for path, module in self.named_modules():
            for table in (module._parameters, module._buffers):
                for name, value in table.items():
                    if value is not None:
                        tensors[f"{path}.{name}" if path else name] = value
        return tensors

    # ----------------------------------------------------------------- display
    def extra_repr(self):
        """The arguments shown between the parentheses of this module's repr."""
        return ""

    def __repr__(self):
        own = sum(p.numel() for p in self.parameters())
        lines = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        count = f"  # {own:,} params" if own else ""
        if not lines:
            return head + ")" + count
        return head + "\n" + "\n".join(lines) + "\n)" + count


def _name_the_layer(error, module):
    """Put the path of the layer where a shape error arose in front of its message:
    "features.3 (Conv2d): conv2d: input has 1 channels but the layer expects 16 …".

    The innermost module the error passes through is its origin; every enclosing module, as the
    error travels out, rewrites the prefix with the origin's path inside itself, so the outermost
    call — the user's model — leaves the full path.
    """
    if not hasattr(error, "layer_origin"):
        error.layer_origin, error.bare_message = module, str(error)
    for path, candidate in module.named_modules():
        if candidate is error.layer_origin:
            if path:
                error.args = (f"{path} ({type(candidate).__name__}): {error.bare_message}",)
            return


def _as_array(value):
    """``value`` as an array, keeping a device array where it is."""
    return value if is_device_array(value) else xp.asarray(value)
