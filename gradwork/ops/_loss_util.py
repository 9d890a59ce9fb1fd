"""What every loss shares: checking the arguments, and reducing per-example losses to one number.

Targets, class weights and ``pos_weight`` are constants: they receive no gradient, so they are
handled as plain arrays in the input's dtype (a float32 model keeps float32 losses).
"""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import is_device_array, to_device, xp
from gradwork.errors import ConfigError, LabelError, ShapeError
from gradwork.ops import reductions, shape

REDUCTIONS = ("mean", "sum", "none")


def array_of(x, like=None):
    """The array behind a Tensor, list or array — on the device of the tensor ``like`` when given (a
    NumPy target beside a model's output on the GPU moves there, as a constant)."""
    array = x.data if isinstance(x, Tensor) else x if is_device_array(x) else xp.asarray(x)
    if like is not None and type(array) is not type(like.data):
        array = to_device(array, like.device)
    return array


def check_reduction(reduction, name, allowed=REDUCTIONS):
    """Fail early, before any work, on a reduction the loss does not know."""
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ConfigError(f"{name}: reduction must be one of {allowed}, got {reduction!r}")


def reduce(loss, reduction):
    """'mean': average over every element, 'sum': their sum, 'none': ``loss`` itself."""
    if reduction == "mean":
        return reductions.mean(loss)
    if reduction == "sum":
        return reductions.sum(loss)
    return loss


def weighted_mean(loss, total):
    """Σ loss / ``total``: PyTorch's mean of a class-weighted loss, where ``total`` = Σ_n w_{y_n} over
    the targets that count (so a weight of 2 counts an example twice, also in the denominator)."""
    if total == 0:
        # Every target ignored: PyTorch returns 0/0 = nan with zero gradients. Do the same, without
        # NumPy's division warning (× 0 keeps the graph, so the gradient is an honest 0).
        return reductions.sum(loss) * 0.0 + float("nan")
    return reductions.sum(loss) / total


def float_target(target, like, name):
    """A target of exactly ``like``'s shape, as an array of its dtype."""
    t = array_of(target, like)
    if t.shape != like.shape:
        raise ShapeError(f"{name}: target shape {t.shape} differs from input shape {like.shape}; "
                         "make them equal (e.g. reshape the target) — broadcasting here is almost always a bug")
    return t.astype(like.dtype, copy=False)


def class_indices(target, num_classes, expected_shape, name, ignore_index=None):
    """Validate integer class labels: shape ``expected_shape``, values in [0, num_classes) or equal
    to ``ignore_index`` (a label that marks a target to skip, e.g. padding)."""
    t = array_of(target)
    if t.dtype.kind == "f" and t.size and (t == t.round()).all():
        t = t.astype(xp.int64)
    if t.dtype.kind not in "iu":
        raise LabelError(f"{name}: class labels must be integers, got dtype {t.dtype}")
    expected_shape = tuple(expected_shape)
    if t.shape != expected_shape:
        what = f"{expected_shape[0]} labels" if len(expected_shape) == 1 else "labels"
        raise ShapeError(f"{name}: expected {what} of shape {expected_shape} for the input, got shape {t.shape}")
    if not t.size or (t.min() >= 0 and t.max() < num_classes):  # (two reductions: the check runs every step)
        return t
    outside = (t < 0) | (t >= num_classes)  # some label is: it may be the ignored one
    if ignore_index is not None:
        outside &= t != ignore_index
    if outside.any():
        bad = int(t[outside].min()) if (t[outside] < 0).any() else int(t[outside].max())
        also = f", or the ignored label ignore_index={ignore_index}" if ignore_index is not None else ""
        raise LabelError(f"{name}: label {bad} is outside [0, {num_classes}) for an input with "
                         f"{num_classes} classes; labels must be 0 … {num_classes - 1}{also}")
    return t


def class_weight(weight, num_classes, like, name):
    """``weight`` as an array of shape (C,) — one rescaling factor per class — or None."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ConfigError(f"{name}: weight must be an array of shape (C,), got the string {weight!r}; "
                          f"pass the reduction by name: reduction={weight!r}")
    w = array_of(weight, like)
    if w.shape != (num_classes,):
        raise ShapeError(f"{name}: weight must have shape (C,) = ({num_classes},), one weight per class, "
                         f"got shape {w.shape}")
    return w.astype(like.dtype, copy=False)


def elementwise_weight(weight, like, name, what="weight"):
    """``weight`` as an array that broadcasts to ``like``'s shape (e.g. (C,) for input (N, C)), or None."""
    if weight is None:
        return None
    if isinstance(weight, str):
        raise ConfigError(f"{name}: {what} must be an array, got the string {weight!r}; "
                          f"pass the reduction by name: reduction={weight!r}")
    w = array_of(weight, like)
    try:
        fits = xp.broadcast_shapes(w.shape, like.shape) == like.shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"{name}: {what} of shape {w.shape} does not broadcast to the input shape {like.shape}; "
                         "give it the input's shape or a shape that broadcasts to it, such as (C,) for (N, C)")
    return w.astype(like.dtype, copy=False)


def classes_last(x, name):
    """(N, C, d1, …) → (N·d1·…, C), so the class axis is last and rows are examples."""
    if x.ndim < 2:
        raise ShapeError(f"{name}: expected input of shape (N, C) or (N, C, d1, …), got {x.shape}")
    if x.ndim == 2:
        return x
    dims = (0,) + tuple(range(2, x.ndim)) + (1,)
    return shape.reshape(shape.permute(x, dims), (-1, x.shape[1]))
