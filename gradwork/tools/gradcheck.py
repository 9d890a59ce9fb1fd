"""Gradient checking: compare back-propagated gradients with central finite differences.

    numerical ∂L/∂xᵢ ≈ (L(x + ε·eᵢ) − L(x − ε·eᵢ)) / 2ε        (error O(ε²))
    relative error = ‖analytic − numerical‖ / (‖analytic‖ + ‖numerical‖)

Verdicts follow the course's rule of thumb: < 1e-7 correct, < 1e-5 probably fine, ≥ 1e-3 wrong
(in between: suspicious — look closer, e.g. at kinks of ReLU or max). Always check in float64:
float32 rounding (≈1e-7 relative) is as large as the differences being measured.
"""
import copy
from dataclasses import dataclass

from gradwork.autograd.grad_mode import no_grad
from gradwork.autograd.tensor import Tensor
from gradwork.backend import xp

CORRECT, FINE, WRONG = 1e-7, 1e-5, 1e-3


def verdict(relative_error):
    """The course's reading of a relative error."""
    if relative_error < CORRECT:
        return "correct"
    if relative_error < FINE:
        return "probably fine"
    if relative_error < WRONG:
        return "suspicious"
    return "wrong"


@dataclass
class GradcheckRow:
    name: str
    shape: tuple
    relative_error: float

    @property
    def verdict(self):
        return verdict(self.relative_error)


class GradcheckReport:
    """One row per checked tensor; ``ok`` when every relative error is below ``tolerance`` (1e-5)."""

    def __init__(self, rows, tolerance=FINE):
        self.rows, self.tolerance = rows, tolerance

    @property
    def ok(self):
        return all(r.relative_error < self.tolerance for r in self.rows)

    @property
    def max_error(self):
        return max((r.relative_error for r in self.rows), default=0.0)

    def __iter__(self):
        return iter(self.rows)

    def __str__(self):
        width = max([len(r.name) for r in self.rows] + [9])
        lines = [f"{'parameter':<{width}}  {'shape':<16}  {'rel. error':>10}  verdict"]
        for r in self.rows:
            lines.append(f"{r.name:<{width}}  {str(r.shape):<16}  {r.relative_error:>10.2e}  {r.verdict}")
        return "\n".join(lines)

    __repr__ = __str__


def relative_error(analytic, numerical):
    denominator = xp.linalg.norm(analytic) + xp.linalg.norm(numerical)
    return 0.0 if denominator == 0 else float(xp.linalg.norm(analytic - numerical) / denominator)


def _numerical_gradient(scalar_fn, x, eps):
    """Central differences of ``scalar_fn()`` w.r.t. every element of the array ``x`` (changed and restored in place)."""
    grad = xp.zeros_like(x)
    # Index ``x`` itself: ``x.reshape(-1)`` would be a copy when x is not contiguous (a transposed or
    # channels-last array), and the perturbations would never reach the function.
    for index in xp.ndindex(x.shape):
        original = x[index]
        x[index] = original + eps
        plus = scalar_fn()
        x[index] = original - eps
        minus = scalar_fn()
        x[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _check_float64(tensors, who):
    for name, t in tensors:
        if t.dtype != xp.float64:
            raise TypeError(f"{who}: {name} is {t.dtype}; gradient checking needs float64, because float32 "
                            "rounding is as large as the differences it measures (use .double())")


def gradcheck(fn, inputs, eps=1e-6, seed=0):
    """Check ``fn(*inputs)`` (returning a Tensor) against finite differences for each input that
    requires grad. A non-scalar output is reduced with fixed random weights, L = Σ r ⊙ fn(x), so
    every output element takes part. Returns a :class:`GradcheckReport`.
    """
    inputs = [x if isinstance(x, Tensor) else Tensor(x) for x in inputs]
    checked = [(f"input {i}", x) for i, x in enumerate(inputs) if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad; create them with requires_grad=True")
    _check_float64(checked, "gradcheck")
    out = fn(*inputs)
    weights = xp.random.default_rng(seed).standard_normal(out.shape)  # a local generator: the global one is untouched

    def scalar():
        with no_grad():
            return float((fn(*inputs).data * weights).sum())

    for _, x in checked:
        x.grad = None
    (out * Tensor(weights)).sum().backward()
    rows = []
    for name, x in checked:
        analytic = x.grad if x.grad is not None else xp.zeros_like(x.data)
        rows.append(GradcheckRow(name, x.shape, relative_error(analytic, _numerical_gradient(scalar, x.data, eps))))
    return GradcheckReport(rows)


def check_model_gradients(model, loss, x, y, eps=1e-6):
    """Gradient check of every parameter of ``model`` for ``loss(model(x), y)``, one row per parameter.

    Runs on a float64 copy of the model in evaluation mode (dropout off, as the course advises:
    a random mask differs between the two evaluations of a finite difference).
    """
    model = copy.deepcopy(model).double().eval()
    x = Tensor(xp.asarray(x.data if isinstance(x, Tensor) else x, dtype=xp.float64))
    params = [(n, p) for n, p in model.named_parameters() if p.requires_grad]

    def scalar():
        with no_grad():
            return float(loss(model(x), y).data)

    model.zero_grad()
    loss(model(x), y).backward()
    rows = []
    for name, p in params:
        analytic = p.grad if p.grad is not None else xp.zeros_like(p.data)
        rows.append(GradcheckRow(name, p.shape, relative_error(analytic, _numerical_gradient(scalar, p.data, eps))))
    return GradcheckReport(rows)
