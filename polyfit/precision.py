"""Fixed-point precision report (SPEC §4): the largest intermediate of the plan in a ring.

Model (CrypTen style): a real v is held as the integer round(v·2^f) in Z/2^R (two's
complement, so |integer| < 2^(R−1)). A product of two such integers is at scale 2^(2f)
before it is truncated back to 2^f; a product by a public constant c uses round(c·2^f)
and is likewise at 2^(2f). Sums stay at 2^f.

With |x| ≤ B, magnitude bounds M propagate through the evaluation plan
(:mod:`polyfit.plan`):

    mul:       M = Ma·Mb,    raw = Ma·Mb·2^(2f)
    mul_const: M = |c|·Ma,   raw = |c|·Ma·2^(2f)
    add:       M = Ma + Mb,  raw = M·2^f
    add_const: M = Ma + |c|, raw = M·2^f

    peak_bits = ⌈log2(max raw + 1)⌉ + 1   (one sign bit)
    fits      = peak_bits ≤ ring_bits

The bound is worst case (triangle inequality), so ``fits`` is a guarantee, not a guess.
"""
from __future__ import annotations

import math

from .plan import approximation_plan

DEFAULT_RING_BITS = 64
DEFAULT_FRAC_BITS = 16  # CrypTen's default precision, used when no stage is quantized


def default_frac_bits(approximation) -> int:
    for stage in approximation.stages:
        if stage.quantized is not None:
            return int(stage.quantized.frac_bits)
    return DEFAULT_FRAC_BITS


def peak_magnitude(plan, input_bound: float, frac_bits: int) -> float:
    """Largest raw ring integer (before truncation) of ``plan`` over |x| ≤ input_bound."""
    scale = 2.0 ** frac_bits
    bound = {0: float(input_bound)}
    peak = float(input_bound) * scale
    for op in plan.ops:
        if op.kind == "mul":
            m = bound[op.a] * bound[op.b]
            raw = m * scale * scale
        elif op.kind == "mul_const":
            m = abs(op.const) * bound[op.a]
            raw = m * scale * scale
        elif op.kind == "add":
            m = bound[op.a] + bound[op.b]
            raw = m * scale
        else:
            m = bound[op.a] + abs(op.const)
            raw = m * scale
        bound[op.out] = m
        peak = max(peak, raw)
    return peak


def precision_report(approximation, frac_bits: int | None = None, ring_bits: int = DEFAULT_RING_BITS,
                     input_bound: float | None = None) -> dict:
    """The ``precision`` dict of the artifact."""
    if frac_bits is None:
        frac_bits = default_frac_bits(approximation)
    if input_bound is None:
        input_bound = max(abs(approximation.domain[0]), abs(approximation.domain[1]))
    peak = peak_magnitude(approximation_plan(approximation), input_bound, frac_bits)
    peak_bits = math.ceil(math.log2(peak + 1.0)) + 1 if math.isfinite(peak) else 10**6
    return {
        "frac_bits": int(frac_bits),
        "ring_bits": int(ring_bits),
        "input_bound": float(input_bound),
        "peak_bits": int(peak_bits),
        "fits": bool(peak_bits <= ring_bits),
        "model": "truncate-after-each-product",
    }
