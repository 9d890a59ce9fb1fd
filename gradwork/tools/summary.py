"""``summary``: each layer's output shape and parameter count — "keep track of your dimensions"."""
from gradwork.autograd.grad_mode import no_grad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import get_default_dtype, xp


def summary(model, input_shape):
    """A table, as text, of every leaf layer in call order: name, type, output shape, parameters.

    ``input_shape`` is one example's shape, e.g. (1, 28, 28); the batch axis is shown as N.
    """
    rows, handles = [], []
    names = {id(m): name for name, m in model.named_modules()}
    for module in model.modules():
        if not list(module.children()):
            def record(m, inputs, output):
                rows.append((names[id(m)], type(m).__name__, ("N",) + tuple(output.shape[1:]),
                             sum(p.size for p in m.parameters())))
            handles.append(module.register_forward_hook(record))
    was_training = model.training
    try:
        with no_grad():
            model.eval()(Tensor(xp.zeros((1,) + tuple(input_shape), get_default_dtype())))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
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
    return "\n".join(lines)
