"""``summary``: each layer's output shape and parameter count — "keep track of your dimensions"."""
from gradwork.autograd.tensor import Tensor
from gradwork.backend import get_default_dtype, xp


def floored_size_note(module, input_shape):
    """For a convolution or pooling layer whose windows do not fit the input exactly, say so: the
    output size (n + 2p − d(k − 1) − 1)/s + 1 was rounded down, and the last rows or columns of the
    input are never used. Names the padding that makes it exact, where a symmetric one exists."""
    kernel = getattr(module, "kernel_size", None)
    if kernel is None or len(input_shape) != 4 or isinstance(getattr(module, "padding", 0), str):
        return ""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    kernel, padding = pair(kernel), pair(module.padding)
    stride = pair(module.stride if module.stride is not None else kernel)
    dilation = pair(getattr(module, "dilation", 1))
    notes = {}
    for axis, n, k, s, p, d in zip("HW", input_shape[2:], kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        dropped = (n + 2 * p - span) % s - p  # unused rows at the end, not counting the padding
        if dropped > 0:
            exact = next((q for q in range(p, p + s) if (n + 2 * q - span) % s == 0), None)
            fix = f"padding={exact} makes it exact" if exact is not None else "no symmetric padding makes it exact"
            note = f"({n} + 2·{p} − {span})/{s} is not whole: the last {dropped} input row(s) are never used; {fix}"
            notes.setdefault(note, []).append(axis)
    return "; ".join(f"{' and '.join(axes)}: {note}" for note, axes in notes.items())


def summary(model, input_shape):
    """A table, as text, of every leaf layer in call order: name, type, output shape, parameters.

    ``input_shape`` is one example's shape, e.g. (1, 28, 28); the batch axis is shown as N. Layers
    whose output size was rounded down (a stride that does not divide the input) are listed below it.
    """
    rows, handles, notes = [], [], []
    names = {id(m): name for name, m in model.named_modules()}
    for module in model.modules():
        if not list(module.children()):
            def record(m, inputs, output):
                rows.append((names[id(m)], type(m).__name__, ("N",) + tuple(output.shape[1:]),
                             sum(p.numel() for p in m.parameters())))
                note = floored_size_note(m, inputs[0].shape)
                if note:
                    notes.append(f"{names[id(m)]} ({type(m).__name__}): {note}")
            handles.append(module.register_forward_hook(record))
    try:
        with model.evaluating():
            model(Tensor(xp.zeros((1,) + tuple(input_shape), get_default_dtype())))
    finally:
        for h in handles:
            h.remove()
    header = ("layer", "type", "output shape", "parameters")
    table = [header] + [(n, t, "(" + ", ".join(map(str, s)) + ")", f"{p:,}") for n, t, s, p in rows]
    widths = [max(len(r[i]) for r in table) for i in range(4)]
    lines = [f"input: (N, {', '.join(map(str, input_shape))})"]
    for i, r in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            lines.append("-" * (sum(widths) + 6))
    total = model.num_parameters()
    trainable = model.num_parameters(trainable_only=True)
    lines.append("-" * (sum(widths) + 6))
    lines.append(f"total parameters: {total:,} ({trainable:,} trainable)")
    if notes:
        lines.append("output sizes rounded down:")
        lines.extend("  " + n for n in notes)
    return "\n".join(lines)
