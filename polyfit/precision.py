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
    failure_probability = min(1, max over x of Σ_t |v_t(x)| / 2^R)   (2-party local truncation)
    fits      = peak_bits ≤ ring_bits and failure_probability ≤ 2^-20

``failure_probability``: CrypTen's 2-party truncation truncates each share locally; for a
value v before a truncation the shares wrap around the ring with probability |v|/2^R and
the result is then off by ~2^(R−t) (docs/reports.md). The sum over the plan's truncations
t (products, and products by non-integer constants) bounds the per-element probability that
one fails. A peak beyond float64 is unbounded: ``peak_bits`` is null with ``unbounded``
giving the reason (no sentinel number is stored).

``mpc_schedule`` (rings ≤ 64 bits): the schedule :mod:`polyfit.mpc_schedule` chooses for
fixed point at this F, with its rounds, bytes, simulated error and failure probability.

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
MATERIAL_FAILURE = 2.0 ** -20  # per element: one failed activation in about a million
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


def bits_of(magnitude: float) -> int | None:
    """Two's-complement bits to hold ±magnitude: bitlength(⌊magnitude⌋) + 1; None when the
    magnitude is beyond float64 (unbounded for any ring polyfit supports)."""
    if not math.isfinite(magnitude):
        return None
    return int(magnitude).bit_length() + 1


def truncation_peak(plan, x: np.ndarray, frac_bits: int) -> float:
    """Largest |integer| of the truncation model over inputs ``x`` (float estimate)."""
    return truncation_profile(plan, x, frac_bits)[0]


def truncation_profile(plan, x: np.ndarray, frac_bits: int,
                       ring_bits: int = DEFAULT_RING_BITS) -> tuple[float, float]:
    """(largest |integer|, failure probability) of the truncation model over inputs ``x``.

    The failure probability is max over x of Σ_t min(1, |v_t(x)|/2^R) over the truncated
    values v_t (raw products at scale 2^2F).
    """
    scale = 2.0 ** frac_bits
    x = np.asarray(x, dtype=float)
    peak = float(np.max(np.abs(x))) * scale
    failure = np.zeros(len(x))

    def seen(v, raw_scale, truncated=False):
        """Record the largest integer of ``v`` held at scale ``raw_scale`` (before any truncation)."""
        nonlocal peak, failure
        magnitude = np.abs(v) * raw_scale
        peak = max(peak, float(np.max(magnitude)))
        if truncated:
            failure = failure + np.minimum(np.nan_to_num(magnitude / 2.0 ** ring_bits, nan=1.0), 1.0)
        return v

    def encoded(c):
        """c as the ring holds it, round(c·2^F)/2^F; a constant beyond float64 is unbounded."""
        nonlocal peak
        if math.isfinite(c * scale):
            return fixed_constant(c, frac_bits) / scale
        peak = math.inf  # the ring must hold round(c·2^F) itself
        return float(c) * math.inf

    def mul_const(a, c):
        if is_integer(c):  # a public integer: stays at scale 2^F
            return seen(a * c, scale)
        return seen(a * encoded(c), scale * scale, True)

    with np.errstate(all="ignore"):
        plan.execute(x, mul=lambda a, b: seen(a * b, scale * scale, True), mul_const=mul_const,
                     add=lambda a, b: seen(a + b, scale),
                     add_const=lambda a, c: seen(a + encoded(c), scale))
    return (peak if math.isfinite(peak) else math.inf), min(float(np.max(failure)), 1.0) if len(x) else 0.0


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
            quantized = np.round(np.asarray(coefs, dtype=float) * scale) / scale  # as fixed_constant, in float
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


def peak_bits(approximation, frac_bits: int, input_bound: float, model: str = MODELS[0]) -> int | None:
    """Bits (sign included) of the largest intermediate over |x| ≤ input_bound (None: beyond float64)."""
    x = input_grid(input_bound)
    if model == MODELS[0]:
        return bits_of(truncation_peak(approximation_plan(approximation), x, frac_bits))
    if model == MODELS[1]:
        return bits_of(single_rescale_peak(approximation, x, frac_bits))
    raise ValueError(f"unknown fixed-point model {model!r}; allowed: {', '.join(MODELS)}")


def fits(peak: int | None, ring_bits: int) -> bool:
    """A value of ``peak`` bits (sign included) fits a ``ring_bits`` ring when peak ≤ ring_bits
    (an unbounded peak, None, never fits)."""
    return peak is not None and int(peak) <= int(ring_bits)


def material(failure_probability: float) -> bool:
    """Whether a per-element failure probability matters: above 2^-20 (about 1e-6)."""
    return not (failure_probability <= MATERIAL_FAILURE)


UNBOUNDED = "an intermediate exceeds float64 (~2^1024) for |x| ≤ input_bound: no ring holds it"


def precision_report(approximation, frac_bits: int | None = None, ring_bits: int = DEFAULT_RING_BITS,
                     input_bound: float | None = None) -> dict:
    """The ``precision`` dict of the artifact (truncation model; single rescale alongside)."""
    if frac_bits is None:
        frac_bits = default_frac_bits(approximation)
    if input_bound is None:
        input_bound = max(abs(approximation.domain[0]), abs(approximation.domain[1]))
    peak, failure = truncation_profile(approximation_plan(approximation), input_grid(input_bound), frac_bits,
                                       ring_bits)
    truncated = bits_of(peak)
    single = peak_bits(approximation, frac_bits, input_bound, MODELS[1])
    report = {
        "frac_bits": int(frac_bits),
        "ring_bits": int(ring_bits),
        "input_bound": float(input_bound),
        "peak_bits": truncated,
        "failure_probability": failure,
        "parties_assumed": 2,
        "fits": fits(truncated, ring_bits) and not material(failure),
        "model": MODELS[0],
        "single_rescale": {"peak_bits": single, "fits": fits(single, ring_bits)},
    }
    if truncated is None:
        report["unbounded"] = UNBOUNDED
    if single is None:
        report["single_rescale"]["unbounded"] = UNBOUNDED
    if int(ring_bits) <= 64:
        from .mpc_schedule import schedule_report

        report["mpc_schedule"] = schedule_report(approximation, frac_bits, input_bound, int(ring_bits))
    return report
