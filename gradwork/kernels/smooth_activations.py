"""Fast leaky ReLU, ELU, sigmoid, SiLU, softplus and GELU: the formulas of ``gradwork/ops/activations.py``
without the three NumPy calls that made them 3–35× slower than PyTorch's (forward and backward of a
(512, 1024) float32 array: GELU 63 ms against 9.7, its tanh form 150 against 3.9, leaky ReLU 13.9 against
1.5; here 15.2, 9.8 and 3.0 ms, the others 2–4× faster too; bench/RESULTS.md, 2026-12-01, session 14). On
that array a multiplication takes 0.24–0.40 ms, and:

* ``np.where(mask, a, b)`` takes 4.2–4.4 ms (``np.copyto(…, where=)`` and ``np.putmask`` are as slow). It
  is the reference's way of writing a piecewise function. Here each piece comes out exact by arithmetic
  instead — a maximum, a clip, or a 0/1 mask used as a factor — chosen so that every element gets the
  reference's number (the sign of a zero aside); each docstring says why.
* ``x ** 3`` takes 64.6 ms (NumPy's float32 power with an integer exponent); ``x * x * x`` 0.5 ms.
* ``scipy.special.erf`` on float32 takes 18.0 ms. For float32 the exact GELU here uses the rational
  approximation of erfc from *Numerical Recipes* (fractional error below 1.2·10⁻⁷ for every argument,
  about one float32 ulp; evaluated in float32, a few ulps more in the far negative tail), built from
  NumPy's vectorised ``exp``; float64 keeps SciPy's erf, as the reference.

The rest is the reference's arithmetic, in place where a temporary can be reused. Input that is not
float32 or float64, or 0-d, takes the reference. Each kernel is tested against its reference, NaN and ±∞ included
(``tests/kernels/test_fast_equals_reference.py``).
"""
import math

import numpy as np

from gradwork.backend import get_array_module
from gradwork.kernels import jit, threads
from gradwork.kernels.layout import flat_alike
from gradwork.ops.activations import (_SQRT_2_OVER_PI, ELUFunction, GELUFunction, LeakyReLUFunction,
                                      SigmoidFunction, SiLUFunction, SoftplusFunction)


def plain_float(*arrays):
    """Every array float32 or float64 — the types these formulas are written for — and at least 1-d (NumPy
    returns a scalar, which takes no ``out=``, from a ufunc of a 0-d array)."""
    return all(a.dtype.name in ("float32", "float64") and a.ndim > 0 for a in arrays)


def keeps_dtype(x, constant):
    """Whether ``x`` combined with ``constant`` stays in x's dtype, as in-place arithmetic needs (a Python
    float does; NumPy's float64 scalar makes the reference's float32 result float64)."""
    return get_array_module(x).result_type(x, constant) == x.dtype


def clip_below(x, high):
    """min(x, high) as a new array: ``clip`` with both bounds is NumPy's fast loop (``minimum`` against a
    scalar, and ``clip`` with one bound, take a slower one: 0.73 against 0.37 ms on the array above)."""
    return get_array_module(x).clip(x, -math.inf, high)


def clip_above(x, low):
    """max(x, low) as a new array (see :func:`clip_below`)."""
    return get_array_module(x).clip(x, low, math.inf)


class FastLeakyReLU(LeakyReLUFunction):
    """y = x for x > 0, a·x otherwise, as max(x, a·x): for 0 < a ≤ 1 (every usual slope) a·x ≤ x exactly
    when x ≥ 0 and a·x ≥ x when x ≤ 0, so the maximum picks the reference's branch; NaN stays NaN, and
    +∞ stays +∞ (which is why a = 0, where 0·∞ is NaN, takes the reference). The gradient's factor, 1 or
    a, is the 0/1 mask of x > 0 clipped to [a, 1]: gy·1 and gy·a are the reference's products."""

    op_name = "leaky_relu"

    def fits(self, *arrays):
        """float32/float64 arrays, and a slope in (0, 1] in their type (a slope too small for float32 is
        0 there)."""
        return plain_float(*arrays) and all(0 < a.dtype.type(self.negative_slope) <= 1 for a in arrays)

    def forward(self, x):
        if not self.fits(x):
            return super().forward(x)
        self.save_for_backward(x)
        y = get_array_module(x).multiply(x, self.negative_slope)
        return get_array_module(x).maximum(x, y, out=y)

    def backward(self, gy):
        (x,) = self.saved
        if not self.fits(x, gy):
            return super().backward(gy)
        factor = (x > 0).astype(gy.dtype)  # 1 where x > 0, else 0 …
        get_array_module(x).clip(factor, self.negative_slope, 1.0, out=factor)  # … then 1 or a
        factor *= gy
        return factor


class FastELU(ELUFunction):
    """y = α(e^min(x, 0) − 1) + max(x, 0): where x > 0 the first term is α·(e⁰ − 1) = 0 and y = x; where
    x ≤ 0 the second is 0 and y is the reference's α·expm1(x). The gradient's factor is 1 for x > 0 and
    y + α otherwise: for α = 1 (the default) that is y + 1 clipped at 1 (y + 1 ≤ 1 exactly when x ≤ 0);
    for other α, (min(y, 0) + α)·(1 − m) + m with m the 0/1 mask of x > 0 (min(y, 0) keeps x = +∞ finite;
    for α > 0, y ≤ 0 where x ≤ 0, so min(y, 0) is y there). A negative or infinite α takes the reference."""

    op_name = "elu"

    def fits(self, x):
        """float32/float64 x, and α > 0 and finite in x's type, which keeps x's type."""
        if not (plain_float(x) and keeps_dtype(x, self.alpha)):
            return False
        alpha = x.dtype.type(self.alpha)
        return bool(0 < alpha < math.inf)

    def forward(self, x):
        if not self.fits(x):
            return super().forward(x)
        y = get_array_module(x).expm1(clip_below(x, 0.0))
        y *= self.alpha
        y += clip_above(x, 0.0)
        self.save_for_backward(x, y)
        return y

    def backward(self, gy):
        x, y = self.saved
        if not (self.fits(x) and plain_float(gy)):
            return super().backward(gy)
        xp = get_array_module(x)
        if self.alpha == 1:
            factor = y + 1.0
            xp.clip(factor, -math.inf, 1.0, out=factor)
        else:
            mask = (x > 0).astype(y.dtype)
            factor = clip_below(y, 0.0)
            factor += self.alpha
            factor *= 1 - mask
            factor += mask
        return gy * factor


def sigmoid_of(x):
    """σ(x) as the reference's ``sigmoid_array`` computes it — 1/(1 + e) for x ≥ 0, e/(1 + e) for x < 0,
    e = exp(−|x|) — with the numerator chosen by max(m, e), m the 0/1 mask of x ≥ 0 (e ≤ 1, so it is 1
    where m is 1 and e where m is 0): the same two divisions, no ``where``."""
    xp = get_array_module(x)
    e = xp.abs(x)
    xp.negative(e, out=e)
    xp.exp(e, out=e)
    numerator = (x >= 0).astype(x.dtype)
    xp.maximum(numerator, e, out=numerator)
    e += 1
    numerator /= e
    return numerator


class FastSigmoid(SigmoidFunction):
    """σ(x) by :func:`sigmoid_of`; the backward is the reference's. With Numba (``gradwork[jit]``), float32
    takes one compiled pass each way instead (``activation_loops.py``): forward σ to rounding (its own
    exponential), backward the reference's products. A (512, 1024) array's forward + backward 0.80 → 0.45 ms
    (PyTorch 0.27 on two threads; medians of 7 alternating rounds, bench/RESULTS.md, 2026-12-01, session 16)."""

    op_name = "sigmoid"

    def forward(self, x):
        if not plain_float(x):
            return super().forward(x)
        compiled = compiled_loop("sigmoid_forward", [x])
        y = compiled[0] if compiled is not None else sigmoid_of(x)
        self.save_for_backward(y)
        return y

    def backward(self, gy):
        (y,) = self.saved
        compiled = compiled_loop("sigmoid_backward", [y, gy]) if plain_float(y, gy) else None
        return compiled[0] if compiled is not None else super().backward(gy)


class FastSiLU(SiLUFunction):
    """x·σ(x) with σ by :func:`sigmoid_of`; the backward is the reference's. With Numba (``gradwork[jit]``),
    float32 takes one compiled pass each way instead (``activation_loops.py``), as :class:`FastSigmoid`: a
    (512, 1024) array's forward + backward 1.13 → 0.51 ms (PyTorch 0.45; bench/RESULTS.md, session 16)."""

    op_name = "silu"

    def forward(self, x):
        if not plain_float(x):
            return super().forward(x)
        compiled = compiled_loop("silu_forward", [x], outputs=2)
        if compiled is not None:
            y, s = compiled
        else:
            s = sigmoid_of(x)
            y = x * s
        self.save_for_backward(x, s)
        return y

    def backward(self, gy):
        x, s = self.saved
        compiled = compiled_loop("silu_backward", [x, s, gy]) if plain_float(x, gy) else None
        return compiled[0] if compiled is not None else super().backward(gy)


class FastSoftplus(SoftplusFunction):
    """The reference's (max(z, 0) + log1p(e^−|z|))/β with z = βx, in place; where z > threshold the result
    (and the gradient) is replaced by x (gy) only where there are such elements, so the slow masked copy
    runs on the rare layers that reach the linear part."""

    op_name = "softplus"

    def forward(self, x):
        if not plain_float(x):
            return super().forward(x)
        xp = get_array_module(x)
        z = x * self.beta
        self.save_for_backward(z)
        y = xp.abs(z)
        xp.negative(y, out=y)
        xp.exp(y, out=y)
        xp.log1p(y, out=y)
        y += clip_above(z, 0.0)
        y /= self.beta
        linear = z > self.threshold
        if linear.any():
            xp.copyto(y, x, where=linear)
        return y.astype(x.dtype, copy=False)

    def backward(self, gy):
        (z,) = self.saved
        if not plain_float(z, gy):
            return super().backward(gy)
        g = gy * sigmoid_of(z)
        linear = z > self.threshold
        if linear.any():
            get_array_module(g).copyto(g, gy, where=linear)
        return g


#: *Numerical Recipes*' coefficients for erfc(a) ≈ t·exp(−a² − 1.26551223 + t·P(t)), t = 1/(1 + a/2), a ≥ 0;
#: P's, highest power first (Horner's order). ``activation_loops.py`` compiles them into its GELU loop, and
#: Numba's disk cache is keyed on that file alone: whoever changes them must touch it too.
ERFC_POLYNOMIAL = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
                   0.37409196, 1.00002368)
ERFC_CONSTANT = -1.26551223


def erfc_of_nonnegative(a):
    """erfc(a) for a ≥ 0 (float32), fractional error below 1.2·10⁻⁷ (*Numerical Recipes*, ``erfcc``)."""
    xp = get_array_module(a)
    t = a * 0.5
    t += 1
    xp.reciprocal(t, out=t)
    with xp.errstate(over="ignore"):  # a² = ∞ for a beyond 1.8·10¹⁹: exp(−∞) = 0 = erfc there
        square = a * a
    p = t * ERFC_POLYNOMIAL[0]
    p += ERFC_POLYNOMIAL[1]
    for coefficient in ERFC_POLYNOMIAL[2:]:
        p *= t
        p += coefficient
    p *= t
    p += ERFC_CONSTANT
    p -= square
    xp.exp(p, out=p)
    p *= t
    return p


def two_phi(x):
    """2Φ(x) = erfc(−x/√2) = 1 + erf(x/√2), Φ the standard normal CDF: erfc(|x|/√2) where x ≤ 0, and
    2 − erfc(|x|/√2) where x > 0, combined as E + m·2(1 − E) with m the 0/1 mask of x > 0."""
    xp = get_array_module(x)
    e = erfc_of_nonnegative(xp.abs(x) * (1 / math.sqrt(2)))
    c = 1 - e
    c *= 2
    c *= (x > 0).astype(x.dtype)
    c += e
    return c


class FastGELU(GELUFunction):
    """x·Φ(x) (and its tanh form) without ``x ** 3`` or SciPy's float32 erf: the tanh form as the
    reference's arithmetic with x·x·x, in place; the exact form for float32 through :func:`two_phi`
    (float64 keeps the reference's SciPy erf), which forward keeps for backward (the reference keeps x
    alone and computes Φ again: here that would be most of backward's time, 10 of 13 ms).

    With Numba (``gradwork[jit]``) both forms in float32 are one compiled pass each way instead
    (``activation_loops.py``, :func:`compiled_loop`): the exact form's forward + backward on a (512, 1024)
    array 2.83 → 1.07 ms (PyTorch 0.48 ms on two threads), W7's Transformer with GELU in its feed-forward
    layers 60.6 → 50.1 ms a step (PyTorch 43.9); medians of 7 alternating rounds (bench/RESULTS.md,
    2026-12-01, session 16). The tanh form there as x·σ(2u), 1 + tanh(u) = 2σ(2u): 1.65 → 0.92 ms (PyTorch
    0.98)."""

    op_name = "gelu"

    def exact_fits(self, *arrays):
        return all(a.dtype.name == "float32" for a in arrays)

    def forward(self, x):
        if not plain_float(x) or (self.approximate != "tanh" and not self.exact_fits(x)):
            return super().forward(x)
        xp = get_array_module(x)
        if self.approximate == "tanh":  # 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))
            self.save_for_backward(x)
            compiled = compiled_loop("gelu_tanh_forward", [x])
            if compiled is not None:
                return compiled[0]
            inner = x * x
            inner *= x
            inner *= 0.044715
            inner += x
            inner *= _SQRT_2_OVER_PI
            xp.tanh(inner, out=inner)
            inner += 1
            y = x * 0.5
            y *= inner
            return y
        compiled = compiled_loop("gelu_forward", [x], outputs=2)
        if compiled is not None:
            y, erf_plus_one = compiled
        else:
            erf_plus_one = two_phi(x)  # 1 + erf(x/√2) = 2Φ(x)
            y = x * 0.5  # 0.5x·(1 + erf(x/√2))
            y *= erf_plus_one
        self.save_for_backward(x, erf_plus_one)
        return y

    def backward(self, gy):
        x, *erf_plus_one = self.saved  # (2Φ(x) kept by the exact form's forward)
        if not plain_float(x, gy) or (self.approximate != "tanh" and not self.exact_fits(x)):
            self.saved = (x,)  # what the reference's backward reads
            return super().backward(gy)
        xp = get_array_module(x)
        if self.approximate == "tanh":  # 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
            compiled = compiled_loop("gelu_tanh_backward", [x, gy])
            if compiled is not None:
                return compiled[0]
            t = x * x
            t *= x
            t *= 0.044715
            t += x
            t *= _SQRT_2_OVER_PI
            xp.tanh(t, out=t)
            d_inner = x * (3 * 0.044715)  # (3·0.044715·x)·x, the reference's order: finite up to |x| ≈ 5·10¹⁹
            d_inner *= x
            d_inner += 1
            d_inner *= _SQRT_2_OVER_PI
            derivative = t * t
            xp.subtract(1, derivative, out=derivative)
            derivative *= x
            derivative *= 0.5
            derivative *= d_inner
            t += 1
            t *= 0.5
            derivative += t
            return gy * derivative
        compiled = compiled_loop("gelu_backward", [x, erf_plus_one[0], gy])
        if compiled is not None:
            return compiled[0]
        pdf = x * -0.5  # φ(x) = exp(−x²/2)/√(2π) (−0.5·x·x in the reference's order); then Φ(x) + x·φ(x)
        pdf *= x
        xp.exp(pdf, out=pdf)
        pdf /= math.sqrt(2 * math.pi)
        pdf *= x
        cdf = erf_plus_one[0] * 0.5
        cdf += pdf
        return gy * cdf


def compiled_loop(maker, inputs, outputs=1, dtypes=(np.float32,), copy_others=True):
    """The ``outputs`` arrays that the compiled loop ``maker`` (``activation_loops.py``) fills from ``inputs``
    — arrays of one shape and one of ``dtypes`` — each laid out like the first input, the loop run over all
    of them in that array's memory order (so a channels-last activation stays channels-last), split over
    threads where that pays. An input stored otherwise than the first (a C-ordered gradient of a
    channels-last x) is copied into its layout first — unless ``copy_others`` is False, for a kernel whose
    NumPy version costs no more than that copy and the loop. None where the loops do not run: no Numba
    (``jit.runs_on``), another dtype (by default float64 keeps the NumPy kernel: the loops' constants and
    their exponential are float32's), a first input not stored in one dense block, or another layout
    without ``copy_others``."""
    first = inputs[0]
    if first.dtype not in dtypes or not all(a.dtype == first.dtype for a in inputs) or not jit.runs_on(*inputs):
        return None
    flat = flat_alike(first)
    if flat is None:
        return None
    for a in inputs[1:]:
        a_flat = flat_alike(first, a)
        if a_flat is None and not copy_others:
            return None
        if a_flat is None:
            like_first = np.empty_like(first)
            like_first[...] = a
            a_flat = flat_alike(first, like_first)
        flat.append(a_flat[1])
    results = [np.empty_like(first) for _ in range(outputs)]
    flat += flat_alike(first, *results)[1:]  # (empty_like of a dense array keeps its memory order)
    from gradwork.kernels import activation_loops  # (imports Numba: only now that the loops run)
    loop = jit.compiled(getattr(activation_loops, maker))
    threads.over_batch(lambda part: loop(*[a[part] for a in flat]), first.size, first.size, first)
    return results
