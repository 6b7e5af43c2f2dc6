"""Fixed-point precision report (SPEC §4): the largest intermediate of the plan in a ring.

Encoding: a real v is held as the integer V = round(v·2^F) in Z/2^R, two's complement, so a
value fits when |V| < 2^(R−1). Two evaluation models (docs/reports.md):

**Truncation after each product** (CrypTen style; ``peak_bits``/``fits``), on the plan of
:mod:`polyfit.plan`:

    mul            raw = A·B                   (scale 2^2F), then V = ⌊raw / 2^F⌋
    mul_const c∉ℤ  raw = A·round(c·2^F)        (scale 2^2F), then V = ⌊raw / 2^F⌋
    mul_const c∈ℤ  V = c·A                     (scale 2^F, a public integer: no truncation)
    add            V = A + B;   add_const  V = A + round(c·2^F)

**Single rescale** (ESPN/HoneyBadger style; ``single_rescale``): per stage of degree d on
input T at scale 2^F, the powers T^k are exact integers at scale 2^(kF), each term
round(c_k·2^F)·T^k·2^((d−k)F) is at scale 2^((d+1)F), and one truncation by 2^(dF) brings
the sum back to 2^F. relu/abs end with one truncated product by x.

    peak_bits = bitlength(max |integer| over every intermediate) + 1   (the sign bit)
    fits      = peak_bits ≤ ring_bits

The maximum is taken over a dense grid of |x| ≤ input_bound (``GRID_POINTS`` points, ±bound
included), evaluating each register in float64 with the same rounded constants the
fixed-point backend uses; every register is a polynomial in x, so its maximum sits at ±bound
or at an interior critical point, which the grid resolves to a relative error far below one
bit. ``polyfit verify --backend fixed-point`` checks these numbers with exact integers.
"""
from __future__ import annotations

import math

import numpy as np

from .plan import approximation_plan, is_integer, plan_coefficients

DEFAULT_RING_BITS = 64
DEFAULT_FRAC_BITS = 16  # CrypTen's default precision, used when no stage is quantized
GRID_POINTS = 4097
MODELS = ("truncate-after-each-product", "single-rescale")


def default_frac_bits(approximation) -> int:
    """F of the first quantized stage, else CrypTen's default 16."""
    for stage in approximation.stages:
        if stage.quantized is not None:
            return int(stage.quantized.frac_bits)
    return DEFAULT_FRAC_BITS


def fixed_constant(c: float, frac_bits: int) -> int:
    """round(c·2^F) as a Python int (exact: c·2^F is a power-of-two rescaling of a float)."""
    return int(round(float(c) * 2.0 ** frac_bits))


def input_grid(input_bound: float, points: int = GRID_POINTS) -> np.ndarray:
    """Uniform grid of [−bound, bound] with both ends (the inputs the reports range over)."""
    return np.linspace(-float(input_bound), float(input_bound), int(points))


def bits_of(magnitude: float) -> int:
    """Two's-complement bits to hold ±magnitude: bitlength(⌊magnitude⌋) + 1."""
    if not math.isfinite(magnitude):
        return 10**6
    return int(magnitude).bit_length() + 1


def truncation_peak(plan, x: np.ndarray, frac_bits: int) -> float:
    """Largest |integer| of the truncation model over inputs ``x`` (float estimate)."""
    scale = 2.0 ** frac_bits
    x = np.asarray(x, dtype=float)
    peak = float(np.max(np.abs(x))) * scale

    def seen(v, raw_scale):
        """Record the largest integer of ``v`` held at scale ``raw_scale`` (before any truncation)."""
        nonlocal peak
        peak = max(peak, float(np.max(np.abs(v) * raw_scale)))
        return v

    def mul_const(a, c):
        if is_integer(c):  # a public integer: stays at scale 2^F
            return seen(a * c, scale)
        return seen(a * (fixed_constant(c, frac_bits) / scale), scale * scale)

    with np.errstate(all="ignore"):
        plan.execute(x, mul=lambda a, b: seen(a * b, scale * scale), mul_const=mul_const,
                     add=lambda a, b: seen(a + b, scale),
                     add_const=lambda a, c: seen(a + fixed_constant(c, frac_bits) / scale, scale))
    return peak if math.isfinite(peak) else math.inf


def _scaled_max(values: np.ndarray, scale_bits: int) -> float:
    """max|values| · 2^scale_bits, or inf when that exceeds float64 (a ring of ≤ 128 bits
    cannot hold it anyway)."""
    top = float(np.max(np.abs(values)))
    if not math.isfinite(top):
        return math.inf
    try:
        return math.ldexp(top, int(scale_bits))
    except OverflowError:
        return math.inf


def single_rescale_peak(approximation, x: np.ndarray, frac_bits: int) -> float:
    """Largest |integer| of the single-rescale model over inputs ``x`` (float estimate)."""
    stages, ends_with_input = plan_coefficients(approximation)
    scale = 2.0 ** frac_bits
    x = np.asarray(x, dtype=float)
    t = x
    peak = _scaled_max(x, frac_bits)
    with np.errstate(all="ignore"):
        for coefs in stages:
            d = len(coefs) - 1
            quantized = np.array([fixed_constant(c, frac_bits) for c in coefs], dtype=float) / scale
            top_bits = (d + 1) * frac_bits
            total = np.zeros_like(t)
            for k in range(d + 1):
                power = t ** k
                term = quantized[k] * power
                total = total + term
                peak = max(peak, _scaled_max(power, k * frac_bits), _scaled_max(term, top_bits),
                           _scaled_max(total, top_bits))
            t = total
        if ends_with_input:
            peak = max(peak, _scaled_max(x * t, 2 * frac_bits))
    return peak


def bits_from_log2(log2_magnitude: float) -> int:
    """Sign-included bits of a magnitude given by its log2 (for magnitudes beyond float64)."""
    return max(int(math.floor(log2_magnitude)) + 1, 0) + 1


def peak_bits(approximation, frac_bits: int, input_bound: float, model: str = MODELS[0]) -> int:
    """Bits (sign included) of the largest intermediate over |x| ≤ input_bound."""
    x = input_grid(input_bound)
    if model == MODELS[0]:
        return bits_of(truncation_peak(approximation_plan(approximation), x, frac_bits))
    if model == MODELS[1]:
        peak = single_rescale_peak(approximation, x, frac_bits)
        if math.isinf(peak):  # beyond float64: the top term's exponent alone is the bound
            stages, _ = plan_coefficients(approximation)
            return bits_from_log2(max((len(c)) * frac_bits for c in stages))
        return bits_of(peak)
    raise ValueError(f"unknown fixed-point model {model!r}; allowed: {', '.join(MODELS)}")


def fits(peak: int, ring_bits: int) -> bool:
    """A value of ``peak`` bits (sign included) fits a ``ring_bits`` ring when peak ≤ ring_bits."""
    return int(peak) <= int(ring_bits)


def precision_report(approximation, frac_bits: int | None = None, ring_bits: int = DEFAULT_RING_BITS,
                     input_bound: float | None = None) -> dict:
    """The ``precision`` dict of the artifact (truncation model; single rescale alongside)."""
    if frac_bits is None:
        frac_bits = default_frac_bits(approximation)
    if input_bound is None:
        input_bound = max(abs(approximation.domain[0]), abs(approximation.domain[1]))
    truncated = peak_bits(approximation, frac_bits, input_bound, MODELS[0])
    single = peak_bits(approximation, frac_bits, input_bound, MODELS[1])
    return {
        "frac_bits": int(frac_bits),
        "ring_bits": int(ring_bits),
        "input_bound": float(input_bound),
        "peak_bits": int(truncated),
        "fits": fits(truncated, ring_bits),
        "model": MODELS[0],
        "single_rescale": {"peak_bits": int(single), "fits": fits(single, ring_bits)},
    }
