"""Fixed-point (MPC-style) evaluation with exact integers in a 2^R ring.

Simulates the two models of :mod:`polyfit.precision` with Python integers (numpy object
arrays), so nothing is rounded except where the model says so:

- ``truncate-after-each-product`` (CrypTen): executes the evaluation plan; products are at
  scale 2^2F and are truncated back to 2^F with an arithmetic shift (⌊·/2^F⌋, as local
  truncation in SecureML/CrypTen); public integer constants multiply without truncation.
- ``single-rescale`` (ESPN/HoneyBadger): per stage, exact powers T^k at 2^(kF), every term
  aligned to 2^((d+1)F), one truncation by 2^(dF).

- MPC schedules (:func:`run_schedule`): the schedule the artifact records for fixed point
  (:mod:`polyfit.mpc_schedule`), simulated as CrypTen runs it — truncating input encoding
  and 2-party share truncation — by :mod:`polyfit.mpc_simulation`.

Every intermediate integer is checked against the ring: |v| ≥ 2^(R−1) is an overflow, and the
value is then wrapped into [−2^(R−1), 2^(R−1)) as the ring would (so the reported error shows
what an overflow does to the output).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..plan import approximation_plan, is_integer, plan_coefficients
from ..precision import MODELS, fixed_constant


@dataclass(frozen=True)
class FixedPointRun:
    """Outcome of one simulated evaluation.

    Attributes:
        outputs: decoded outputs (float64), one per input.
        peak_bits: bits (sign included) of the largest intermediate integer.
        overflow: whether any intermediate left the ring.
        model: which fixed-point model ran.
    """

    outputs: np.ndarray
    peak_bits: int | None  # None: a constant c·2^F is beyond float64, no ring holds it
    overflow: bool
    model: str


class _Ring:
    """Tracks the largest integer seen and (when ``wrap``) reduces values into Z/2^R."""

    def __init__(self, ring_bits: int, wrap: bool = True):
        self.half = 1 << (int(ring_bits) - 1)
        self.modulus = 1 << int(ring_bits)
        self.wrap = wrap
        self.peak = 0

    def see(self, values: np.ndarray) -> np.ndarray:
        top = max((abs(int(v)) for v in values), default=0)
        self.peak = max(self.peak, top)
        if top < self.half or not self.wrap:
            return values
        return np.array([((int(v) + self.half) % self.modulus) - self.half for v in values], dtype=object)


class _Unbounded(Exception):
    """A constant c·2^F of the plan is beyond float64 (a composite's prescale on a tiny range)."""


def _constant(c: float, frac_bits: int) -> int:
    if not math.isfinite(float(c) * 2.0 ** frac_bits):
        raise _Unbounded
    return fixed_constant(c, frac_bits)


def encode(x, frac_bits: int) -> np.ndarray:
    """round(x·2^F) as exact Python integers (object array)."""
    return np.array([fixed_constant(v, frac_bits) for v in np.asarray(x, dtype=float)], dtype=object)


def decode(values: np.ndarray, frac_bits: int) -> np.ndarray:
    """V / 2^F as float64 (exact division of Python ints, rounded once; ±inf beyond float64)."""
    return np.array([_ratio(int(v), 1 << frac_bits) for v in values], dtype=float)


def _ratio(v: int, scale: int) -> float:
    try:
        return v / scale
    except OverflowError:  # an unwrapped intermediate beyond float64 (a diverging composite)
        return math.inf if v > 0 else -math.inf


def _truncate(values: np.ndarray, bits: int) -> np.ndarray:
    return np.array([int(v) >> bits for v in values], dtype=object)


def run_truncation(approximation, x, frac_bits: int, ring_bits: int, wrap: bool = True) -> FixedPointRun:
    """Execute the evaluation plan with truncation after each product."""
    ring = _Ring(ring_bits, wrap)

    def mul(a, b):
        return ring.see(_truncate(ring.see(a * b), frac_bits))

    def mul_const(a, c):
        if is_integer(c):  # a public integer: no truncation
            return ring.see(a * int(c))
        return ring.see(_truncate(ring.see(a * _constant(c, frac_bits)), frac_bits))

    def add(a, b):
        return ring.see(a + b)

    def add_const(a, c):
        return ring.see(a + _constant(c, frac_bits))

    out = approximation_plan(approximation).execute(ring.see(encode(x, frac_bits)), mul=mul, mul_const=mul_const,
                                                    add=add, add_const=add_const)
    return FixedPointRun(decode(out, frac_bits), ring.peak.bit_length() + 1, ring.peak >= ring.half, MODELS[0])


def run_single_rescale(approximation, x, frac_bits: int, ring_bits: int, wrap: bool = True) -> FixedPointRun:
    """Evaluate each stage with exact powers and one truncation (ESPN/HoneyBadger style)."""
    stages, ends_with_input = plan_coefficients(approximation)
    ring = _Ring(ring_bits, wrap)
    xin = ring.see(encode(x, frac_bits))
    t = xin
    for coefs in stages:
        d = len(coefs) - 1
        constants = [_constant(c, frac_bits) for c in coefs]
        total = np.zeros(len(t), dtype=object)
        power = np.ones(len(t), dtype=object)
        for k in range(d + 1):
            if k > 0:
                power = ring.see(power * t)  # T^k at scale 2^(kF), exact
            term = ring.see(power * constants[k] * (1 << ((d - k) * frac_bits)))
            total = ring.see(total + term)
        t = ring.see(_truncate(total, d * frac_bits)) if d > 0 else ring.see(total)
    if ends_with_input:
        t = ring.see(_truncate(ring.see(xin * t), frac_bits))
    return FixedPointRun(decode(t, frac_bits), ring.peak.bit_length() + 1, ring.peak >= ring.half, MODELS[1])


def run(approximation, x, frac_bits: int, ring_bits: int, model: str = MODELS[0]) -> FixedPointRun:
    """Simulate ``model`` on inputs ``x`` with F = ``frac_bits`` in a 2^``ring_bits`` ring.

    The outputs are those of the ring (wrapped on overflow); ``peak_bits`` is the largest
    intermediate of the exact, unwrapped computation, comparable with the precision report.
    """
    runner = {MODELS[0]: run_truncation, MODELS[1]: run_single_rescale}.get(model)
    if runner is None:
        raise ValueError(f"unknown fixed-point model {model!r}; allowed: {', '.join(MODELS)}")
    try:
        in_ring = runner(approximation, x, frac_bits, ring_bits, wrap=True)
    except _Unbounded:
        return FixedPointRun(np.full(len(np.atleast_1d(x)), np.nan), None, True, model)
    if not in_ring.overflow:
        return in_ring
    exact = runner(approximation, x, frac_bits, ring_bits, wrap=False)
    return FixedPointRun(in_ring.outputs, exact.peak_bits, True, model)


def schedule_for(approximation, frac_bits: int, ring_bits: int = 64):
    """The MPC schedule for F = ``frac_bits``: the artifact's recorded one when it was chosen
    for this F and ring, else chosen now (:func:`polyfit.mpc_schedule.choose`)."""
    from .. import mpc_schedule

    record = (approximation.precision or {}).get("mpc_schedule") or {}
    if record.get("frac_bits") == frac_bits and record.get("ring_bits", 64) == ring_bits and record.get("name"):
        return mpc_schedule.from_record(approximation, record)
    stored_bound = (approximation.precision or {}).get("input_bound")
    return mpc_schedule.choose(approximation, frac_bits, stored_bound, ring_bits)[0]


def run_schedule(approximation, x, frac_bits: int, ring_bits: int = 64, schedule=None, encoding: str = "truncate",
                 truncation: str = "shares", seed: int = 0):
    """Simulate the MPC schedule (default: :func:`schedule_for`) on inputs ``x``.

    Returns a :class:`polyfit.mpc_simulation.SimulationRun` (outputs, failed elements, peak
    bits, overflow, failure probability).
    """
    from ..mpc_simulation import simulate

    if schedule is None:
        schedule = schedule_for(approximation, frac_bits, ring_bits)
    return simulate(schedule, x, ring_bits, encoding=encoding, truncation=truncation, seed=seed)
