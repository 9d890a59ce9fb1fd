"""The computational graph behind a tensor, as Graphviz DOT text: operations as boxes, tensors as
ellipses labelled with their shapes (and names, for parameters), arrows in the forward direction.

Call it before ``backward()``: backward frees the graph (unless ``retain_graph=True``).
"""
import os
import shutil
import subprocess

from gradwork import _files
from gradwork.autograd.tensor import Tensor
from gradwork.errors import GradworkError


def _shape(t):
    return "×".join(str(d) for d in t.shape) if t.shape else "scalar"


def to_dot(output, params=None, title=None):
    """DOT text of the graph that produced ``output`` (a Tensor). ``params``: a dict or iterable of
    (name, tensor) — e.g. ``model.named_parameters()`` — to label leaves by name."""
    if not isinstance(output, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(output).__name__}")
    names = {id(t): n for n, t in (params.items() if isinstance(params, dict) else params or [])}
    lines = ["digraph gradwork {", '  rankdir="LR";', '  node [fontname="Helvetica", fontsize=10];']
    if title:
        lines.append(f'  label="{title}"; labelloc="t";')
    seen_tensors, seen_functions = set(), set()

    def tensor_node(t, role=""):
        key = f"t{id(t)}"
        if id(t) not in seen_tensors:
            seen_tensors.add(id(t))
            label = f"{names[id(t)]}\\n{_shape(t)}" if id(t) in names else f"{role}{_shape(t)}"
            color = "lightblue" if id(t) in names else "lightyellow" if t is output else "white"
            lines.append(f'  {key} [label="{label}", shape=ellipse, style=filled, fillcolor={color}];')
        return key

    stack = [output]
    tensor_node(output, "output\\n")
    while stack:
        t = stack.pop()
        function = t._creator
        if function is None:
            continue
        fkey = f"f{id(function)}"
        lines.append(f"  {fkey} -> {tensor_node(t)};")
        if id(function) in seen_functions:
            continue
        seen_functions.add(id(function))
        lines.append(f'  {fkey} [label="{function.name}", shape=box, style=filled, fillcolor=lightgrey];')
        for x in function.inputs:
            lines.append(f"  {tensor_node(x)} -> {fkey};")
            stack.append(x)
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_dot(dot_text, path, fmt=None):
    """Render DOT text to ``path`` (PNG or SVG, from the extension unless ``fmt`` is given) with
    Graphviz's ``dot`` program. Raises a clear error when Graphviz is not installed."""
    fmt = fmt or os.path.splitext(os.fspath(path))[1].lstrip(".").lower() or "png"
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"render_dot: format must be png, svg or pdf, got {fmt!r}")
    program = shutil.which("dot")
    if program is None:
        raise GradworkError("render_dot: Graphviz's `dot` program is not installed, so the graph cannot be drawn; "
                            "install it (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), "
                            "or save the DOT text from to_dot() and paste it into any Graphviz viewer")
    result = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode(), capture_output=True)
    if result.returncode != 0:
        raise GradworkError(f"render_dot: dot failed: {result.stderr.decode(errors='replace').strip()}")
    _files.write_bytes(path, result.stdout)
    return path
