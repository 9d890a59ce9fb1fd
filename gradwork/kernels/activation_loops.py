"""GELU (both forms), sigmoid and SiLU in float32 as compiled loops (``kernels/jit.py``): the forward and
backward of ``FastGELU``, ``FastSigmoid`` and ``FastSiLU``, one pass over memory each, when Numba is
installed — and ReLU's backward, in float32 and float64. GELU's is the long story; sigmoid and SiLU follow
it, with σ(x) from the same exponential.

The formulas are those of ``smooth_activations.FastGELU``'s NumPy version, element by element::

    a = |x|/√2,  t = 1/(1 + a/2),  erfc(a) ≈ t·exp(−a² − 1.26551223 + t·P(t))      (Numerical Recipes)
    2Φ(x) = erfc(a) where x ≤ 0,  erfc(a) + 2(1 − erfc(a)) where x > 0
    y = 0.5·x·2Φ(x)                          ∂y/∂x = 0.5·2Φ(x) + x·exp(−x²/2)/√(2π)

The NumPy version makes each of those steps a pass over the whole array — about twenty forward (the nine
steps of P's Horner scheme are two each) and eight backward — where here each element is read once and
its results written once.

**The exponential is computed here, not called.** Numba compiles ``math.exp`` to a call of the C library's
``expf``, one element at a time: 2.4 ns an element, five times NumPy's vectorised ``exp`` (0.24 ms for
524,288 values, against 1.24). :func:`exp_of_nonpositive` is the same function as straight arithmetic —
Cody and Waite's reduction e^v = 2ⁿ·e^r with n the integer nearest v/ln 2 and |r| ≤ ln 2/2, e^r from
Cephes' degree-7 polynomial for ``expf`` (within 1 ulp on that interval) — which the compiler vectorises
with the rest of the loop: 524,288 exponentials in 0.19 ms. 2ⁿ is written directly as a float's bits
(exponent field 127 + n): no table look-up, which stops the vectorisation (1.99 ms with one), and no
division (0.39 ms with 2ⁿ built from integer shifts and divided by).
Its largest error against float64's exp over 524,288 arguments evenly spread over [−20, 0] is 8·10⁻⁸
relative, NumPy's float32 ``exp`` 2·10⁻⁷ (bench/RESULTS.md, 2026-12-01, session 16).

The loops only need e^v for v ≤ 0: erfc's exponent −a² − 1.2655 + t·P(t) is at most 3·10⁻⁸ (at a = 0),
−x²/2 ≤ 0, and σ(x) is made from e^−|x|. Results below the smallest normal float32 (v under −87.34) come out
subnormal, as NumPy's do, down to −150·ln 2 (−103.97), below which e^v is 0.

This module imports Numba itself (its helper is compiled where it is defined); it is imported only by a
kernel that has checked ``jit.runs_on`` first, so ``import gradwork`` never loads Numba.
"""
import numba
import numpy as np

from gradwork.kernels.smooth_activations import ERFC_CONSTANT, ERFC_POLYNOMIAL
from gradwork.ops import activations

_ONE, _HALF = np.float32(1.0), np.float32(0.5)
_LOG2_E = np.float32(1.4426950408889634)
# ln 2 in two parts, the first with few enough bits that n·_LN2_HIGH is exact for every n used here (Cody–Waite)
_LN2_HIGH, _LN2_LOW = np.float32(0.693359375), np.float32(-2.12194440e-4)
#: Below this exponent (−150·ln 2) e^v is taken as 0: it is under half the smallest float32 (2⁻¹⁴⁹).
_LOWEST = np.float32(-150 * 0.6931471805599453)
_TWO_TO_MINUS_24 = np.float32(2.0 ** -24)
# Cephes' expf: e^r ≈ 1 + r + r²·Q(r) for |r| ≤ ln 2/2, Q's coefficients highest power first
_Q = tuple(np.float32(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                                   1.6666665459e-1, 5.0000001201e-1))
_P = tuple(np.float32(c) for c in ERFC_POLYNOMIAL)
_ERFC_CONSTANT = np.float32(ERFC_CONSTANT)
_SQRT_HALF = np.float32(1 / np.sqrt(2.0))
_INV_SQRT_2PI = np.float32(1 / np.sqrt(2 * np.pi))
_SQRT_2_OVER_PI = np.float32(activations._SQRT_2_OVER_PI)
_CUBIC = np.float32(0.044715)  # the tanh form's u = √(2/π)(x + 0.044715x³)


@numba.njit(inline="always", error_model="numpy")
def exp_of_nonpositive(v):
    """e^v in float32 for v ≤ ln 2/2 (and NaN), as arithmetic the compiler can vectorise, subnormal results
    included; 0 for v below −150·ln 2, NaN for NaN. See the module docstring."""
    safe = v if v >= _LOWEST else _LOWEST  # (also NaN → _LOWEST: no NaN reaches the integer conversion)
    m = np.int32(safe * -_LOG2_E + _HALF)  # −n, 0 … 150: truncation is rounding here
    n = -np.float32(m)
    r = safe - n * _LN2_HIGH
    r = r - n * _LN2_LOW
    q = _Q[0]
    q = q * r + _Q[1]
    q = q * r + _Q[2]
    q = q * r + _Q[3]
    q = q * r + _Q[4]
    q = q * r + _Q[5]
    e_r = q * r * r + r + _ONE
    # 2ⁿ as 2^(n+24)·2⁻²⁴, each exactly a float's bits (exponent field 127 + n + 24): the first product is
    # exact, the second rounds only where the result is subnormal (n below −126), as NumPy's exp does
    two_to_n_plus_24 = np.int32((151 - m) << 23).view(np.float32)
    result = (e_r * two_to_n_plus_24) * _TWO_TO_MINUS_24
    if v != v:
        return v
    return result if v >= _LOWEST else np.float32(0.0)


def gelu_forward():
    """The loop ``(x, y, two_phi)`` over 1-D float32 arrays: 2Φ(x) into ``two_phi`` (backward's input)
    and GELU(x) = 0.5·x·2Φ(x) into ``y``."""

    def loop(x, y, two_phi):
        for k in range(x.size):
            value = x[k]
            a = abs(value) * _SQRT_HALF
            t = _ONE / (a * _HALF + _ONE)
            p = t * _P[0] + _P[1]
            p = p * t + _P[2]
            p = p * t + _P[3]
            p = p * t + _P[4]
            p = p * t + _P[5]
            p = p * t + _P[6]
            p = p * t + _P[7]
            p = p * t + _P[8]
            erfc = t * exp_of_nonpositive(p * t + _ERFC_CONSTANT - a * a)
            phi2 = erfc + (_ONE - erfc) * np.float32(2.0) if value > 0 else erfc
            two_phi[k] = phi2
            y[k] = value * _HALF * phi2

    return loop


def gelu_backward():
    """The loop ``(x, two_phi, gy, gx)`` over 1-D float32 arrays: gx = gy·(0.5·2Φ(x) + x·φ(x)), φ the
    standard normal density."""

    def loop(x, two_phi, gy, gx):
        for k in range(x.size):
            value = x[k]
            density = exp_of_nonpositive(value * np.float32(-0.5) * value) * _INV_SQRT_2PI
            gx[k] = gy[k] * (two_phi[k] * _HALF + density * value)

    return loop


@numba.njit(inline="always", error_model="numpy")
def sigmoid_of(v):
    """σ(v) as the reference's ``sigmoid_array`` computes it, 1/(1 + e) for v ≥ 0 and e/(1 + e) below,
    e = e^−|v| (never more than 1: no overflow), with this module's exponential."""
    e = exp_of_nonpositive(-abs(v))
    return (_ONE if v >= 0 else e) / (_ONE + e)


def sigmoid_forward():
    """The loop ``(x, y)`` over 1-D float32 arrays: y = σ(x)."""

    def loop(x, y):
        for k in range(x.size):
            y[k] = sigmoid_of(x[k])

    return loop


def sigmoid_backward():
    """The loop ``(y, gy, gx)``: gx = gy·y·(1 − y), the reference's products in its order."""

    def loop(y, gy, gx):
        for k in range(y.size):
            gx[k] = gy[k] * y[k] * (_ONE - y[k])

    return loop


def silu_forward():
    """The loop ``(x, y, s)``: s = σ(x) (backward's input) and y = x·σ(x)."""

    def loop(x, y, s):
        for k in range(x.size):
            sigmoid = sigmoid_of(x[k])
            s[k] = sigmoid
            y[k] = x[k] * sigmoid

    return loop


def silu_backward():
    """The loop ``(x, s, gy, gx)``: gx = gy·s·(1 + x·(1 − s)), the reference's products in its order."""

    def loop(x, s, gy, gx):
        for k in range(x.size):
            gx[k] = gy[k] * s[k] * (_ONE + x[k] * (_ONE - s[k]))

    return loop


def gelu_tanh_forward():
    """The loop ``(x, y)``: GELU's tanh form 0.5x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), as x·σ(2u) —
    1 + tanh(u) = 2/(1 + e^−2u) = 2σ(2u) — with σ from this module's exponential (the reference's tanh
    arithmetic, u made in its order; to rounding)."""

    def loop(x, y):
        for k in range(x.size):
            value = x[k]
            u = (value * value * value * _CUBIC + value) * _SQRT_2_OVER_PI
            y[k] = value * sigmoid_of(u + u)

    return loop


def gelu_tanh_backward():
    """The loop ``(x, gy, gx)``: the tanh form's derivative 0.5(1 + t) + 0.5x(1 − t²)·√(2/π)(1 + 3·0.044715x²),
    t = tanh(u), as s + 2x·s(1 − s)·√(2/π)(1 + 3·0.044715x²) with s = σ(2u): 1 + t = 2s, 1 − t² = 4s(1 − s).
    s(1 − s) is made as e/(1 + e)², e = e^−|2u|, which holds on both sides of 0 and loses nothing to the
    cancellation of 1 − s near s = 1."""

    def loop(x, gy, gx):
        for k in range(x.size):
            value = x[k]
            u = (value * value * value * _CUBIC + value) * _SQRT_2_OVER_PI
            two_u = u + u
            e = exp_of_nonpositive(-abs(two_u))
            one_plus_e = _ONE + e
            s = (_ONE if two_u >= 0 else e) / one_plus_e
            spread = e / (one_plus_e * one_plus_e)  # s(1 − s)
            slope = (value * np.float32(3 * 0.044715) * value + _ONE) * _SQRT_2_OVER_PI
            gx[k] = gy[k] * (s + (value + value) * spread * slope)

    return loop


def relu_backward():
    """The loop ``(y, gy, gx)`` over 1-D arrays of one float dtype: gx = gy·1 where y > 0, else gy·0 — the
    reference's gy·(y > 0) bit for bit, in one pass where the NumPy kernel makes three (the comparison, its
    conversion to floats, the product). A product, as the reference's: 0·∞ is NaN. One exception no
    arithmetic produces: a *signalling* NaN handed in as gy where y > 0 comes out as it went in, where NumPy's
    product quiets it (the compiler folds g·1 into g, which IEEE's default environment allows)."""

    def loop(y, gy, gx):
        for k in range(y.size):
            gx[k] = gy[k] * (_ONE if y[k] > 0 else np.float32(0.0))

    return loop
