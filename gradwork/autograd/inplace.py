"""In-place changes to tensors: ``w -= lr * w.grad``, ``w.zero_()``, ``t[mask] = 0``, ``h.add_(x)``.

Three cases, as in PyTorch:

1. Outside the graph — under ``no_grad``, or on a tensor that does not require grad — the array
   itself is changed. This is the course's hand-written update, and the tensor stays the leaf it
   was (``requires_grad`` kept)::

       with gw.no_grad():
           w -= lr * w.grad

2. A leaf that requires grad, while the graph is being recorded: an error. Changing a weight in the
   middle of the computation that differentiates it has no meaning; do it under ``no_grad``.
3. A result of recorded ops (``h = x @ w; h += b``): the change is recorded like any op, so its
   gradient flows. The tensor gets the new value in a *new* array, because the old one may be saved
   for backward (``relu`` keeps its output); views taken before the change keep the old values, and
   the ops that used the tensor before the change keep using the old value (each op records where
   its inputs came from). A recorded change of a *view* (``h[:2].add_(1)``) is refused: the new array
   would not reach the tensor it is a view of; write ``h[:2] = h[:2] + 1`` on the base instead.

Every change counts up the tensor's version. An op that saved an array for its backward remembers
the version it saw, and backward refuses to run if it has moved on: changing, under ``no_grad``,
a tensor that backward still needs raises a clear error instead of giving silently wrong gradients.
"""

from gradwork import ops
from gradwork.autograd.grad_mode import is_grad_enabled, no_grad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp


def apply_(t, name, compute, operand=None):
    """Give ``t`` the value ``compute(t)`` (an out-of-place tensor expression), in place. ``operand`` is the
    other tensor the expression uses, if any: when it needs a gradient the change is recorded too."""
    if _recorded(t, name, operand):
        _rebind(t, compute(_previous_self(t)))
    else:
        with no_grad():
            result = compute(_detached(t))
        _write(t, name, result.data)
    return t


def fill_(t, value):
    """Set every element of ``t`` to ``value``."""
    value = getattr(value, "data", value)
    if _recorded(t, "fill_"):
        _rebind(t, ops.add(_previous_self(t) * 0, value))
    else:
        _write(t, "fill_", value)
    return t


def copy_(t, src):
    """Copy ``src`` (broadcast to ``t``'s shape) into ``t``; the gradient flows to ``src`` when recorded."""
    if _recorded(t, "copy_", src):
        _rebind(t, ops.add(_previous_self(t) * 0, src))
    else:
        _write(t, "copy_", getattr(src, "data", src))
    return t


def setitem_(t, index, value):
    """``t[index] = value``."""
    if _recorded(t, "setitem", value):
        _rebind(t, ops.index_put(_previous_self(t), index, value))
        return
    plain = ops.shape.plain_index(index)
    try:
        t.data[plain] = getattr(value, "data", value)
    except ValueError as error:
        raise ValueError(f"setitem: cannot assign a value of shape {xp.shape(getattr(value, 'data', value))} "
                         f"to t[{index!r}] of a tensor of shape {t.shape}: {error}") from None
    t._version[0] += 1


def _recorded(t, name, operand=None):
    """True when the change must be recorded in the graph — ``t`` or the ``operand`` it is changed with
    needs a gradient — and raises for a leaf that requires grad."""
    if not is_grad_enabled():
        return False
    if not t.requires_grad:
        return isinstance(operand, Tensor) and operand.requires_grad
    if t.is_leaf:
        _refuse_leaf(t, name)
    return True


def _refuse_leaf(t, name):
    raise RuntimeError(
        f"{name}: a leaf tensor that requires grad (a weight, shape {t.shape}) cannot be changed in place "
        "while gradients are recorded; make the update inside `with gw.no_grad():` "
        "(or change `w.data`), as an optimiser does")


def _write(t, name, values):
    """Write ``values`` into ``t``'s own array (broadcast, same dtype family) and count the change."""
    try:
        xp.copyto(t.data, values, casting="same_kind")
    except TypeError:
        raise TypeError(f"{name}: the result has dtype {xp.result_type(values)}, which cannot be stored in place "
                        f"in a tensor of dtype {t.dtype}; convert first (t = t.float())") from None
    except ValueError as error:
        raise ValueError(f"{name}: cannot change a tensor of shape {t.shape} in place with a value of shape "
                         f"{xp.shape(values)}: {error}") from None
    t._version[0] += 1


def _detached(t):
    return Tensor(t.data)


def _previous_self(t):
    """A stand-in for ``t`` as it was (same array, creator and version counter), so the recorded op
    takes it as input while ``t`` itself becomes the op's output."""
    if t._creator is not None and t._creator.returns_views:
        # Recording would give the view a new array and leave its base unchanged (PyTorch rewrites the
        # base's history instead). Say so rather than compute something else.
        raise RuntimeError(
            f"in-place change of a view ({t._creator.name} of another tensor, shape {t.shape}) while gradients "
            "are recorded is not supported: it would not reach the tensor it is a view of. Change the base "
            "tensor with indexing (base[index] = value) or write it out of place (v = v + 1)")
    old = Tensor.__new__(Tensor)
    old.data, old.grad, old.requires_grad = t.data, None, t.requires_grad
    old._creator, old._output_index, old._version = t._creator, t._output_index, t._version
    return old


def _rebind(t, result):
    """Make ``t`` the tensor ``result`` is: its new array, creator and a fresh version count."""
    if result.shape != t.shape:
        raise ValueError(f"in-place op: the result has shape {result.shape} but the tensor has shape {t.shape}; "
                         "an in-place change cannot broadcast the tensor itself")
    retains = t.retains_grad
    if retains:  # the retained gradient is the one of the changed value (as in PyTorch)
        del t._creator.retained[t._output_index]
    t.data, t.requires_grad = result.data, result.requires_grad
    t._creator, t._output_index = result._creator, result._output_index
    t._version = [t._version[0] + 1]
    if retains:
        t.retain_grad()
