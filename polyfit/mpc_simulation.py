"""Exact simulation of an MPC schedule (:mod:`polyfit.mpc_schedule`) in the ring Z/2^R.

Registers are int64 arrays reduced into [−2^(R−1), 2^(R−1)) after every operation, which is
exactly the ring arithmetic CrypTen's shares perform (R ≤ 64), so an overflow wraps here as
it does there. Beside each register a float64 *shadow* tracks the unwrapped integer; it
gives the magnitudes (``peak_bits``, overflow, failure probability) to ~1e-16 relative.

Encoding of the input (``encoding``): ``"truncate"`` V = trunc(x·2^F) — CrypTen's
``(2^F·x).long()`` — or ``"round"`` V = round(x·2^F).

Truncation T(v, t) (``truncation``):

- ``"shares"`` (CrypTen, 2 parties): v is split into uniformly random shares s0 + s1 = v
  (mod 2^R), each party truncates its share toward zero, the results are added. This is
  stochastic rounding of v/2^t (unbiased, error < 1 ulp) except that when s0 + s1 wraps around
  the ring — probability |v|/2^R — the result is off by about 2^(R−t): a *failed* element.
- ``"floor"``: ⌊v/2^t⌋ (an arithmetic shift; deterministic, biased by −½ ulp on average).

``failure_probability`` per element is Σ_t |v_t|/2^R over the truncations of the schedule
(union bound), maximised over the inputs; docs/reports.md derives it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ENCODINGS = ("truncate", "round")
TRUNCATIONS = ("shares", "floor")


@dataclass(frozen=True)
class SimulationRun:
    """Outcome of :func:`simulate`.

    Attributes:
        outputs: decoded outputs V/2^F (float64), one per input.
        failed: per input, whether a truncation wrapped (``"shares"`` only; else all False).
        peak_bits: bits (sign included) of the largest integer, before any truncation
            (None: beyond float64).
        overflow: whether an integer left the ring (|v| ≥ 2^(R−1)).
        failure_probability: min(1, max over inputs of Σ_t |v_t| / 2^R).
        truncations: number of truncating operations.
    """

    outputs: np.ndarray
    failed: np.ndarray
    peak_bits: int | None
    overflow: bool
    failure_probability: float
    truncations: int


def _wrap(v: np.ndarray, ring_bits: int) -> np.ndarray:
    if ring_bits >= 64:
        return v
    half = np.int64(1) << np.int64(ring_bits - 1)
    mask = (np.int64(1) << np.int64(ring_bits)) - np.int64(1)
    return ((v + half) & mask) - half


def _trunc_div(v: np.ndarray, bits: int) -> np.ndarray:
    """v / 2^bits rounded toward zero (torch's ``div_(…, rounding_mode="trunc")``)."""
    floor = v >> np.int64(bits)
    inexact = (v & np.int64((1 << bits) - 1)) != 0
    return floor + (inexact & (v < 0)).astype(np.int64)


def _random_int64(seed: int, stream: int, n: int) -> np.ndarray:
    """n uniform int64 (splitmix64 of a counter): share randomness without numpy.random,
    which would load compiled extension modules into ``polyfit fit``."""
    counter = (np.uint64(seed & 0xFFFFFFFF) << np.uint64(40)) + (np.uint64(stream) << np.uint64(24))
    z = counter + np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return (z ^ (z >> np.uint64(31))).view(np.int64)


def encode(x, frac_bits: int, encoding: str = "truncate") -> np.ndarray:
    """The input's integers: trunc(x·2^F) (CrypTen) or round(x·2^F), as int64."""
    scaled = np.asarray(x, dtype=float) * 2.0 ** frac_bits
    if encoding == "truncate":
        return np.trunc(scaled).astype(np.int64)
    if encoding == "round":
        return np.round(scaled).astype(np.int64)
    raise ValueError(f"unknown encoding {encoding!r}; allowed: {', '.join(ENCODINGS)}")


class _Ring:
    """Ring arithmetic with the truncation model and the float shadow (internal)."""

    def __init__(self, n, ring_bits, truncation, seed):
        if truncation not in TRUNCATIONS:
            raise ValueError(f"unknown truncation {truncation!r}; allowed: {', '.join(TRUNCATIONS)}")
        if not 2 <= ring_bits <= 64:
            raise ValueError(f"the MPC simulation supports rings of 2 to 64 bits, got {ring_bits}")
        self.ring_bits = ring_bits
        self.truncation = truncation
        self.seed = int(seed)
        self.peak = 0.0
        self.fail_sum = np.zeros(n)
        self.failed = np.zeros(n, dtype=bool)
        self.truncations = 0

    def see(self, shadow):
        with np.errstate(all="ignore"):
            top = float(np.max(np.abs(shadow))) if shadow.size else 0.0
        self.peak = max(self.peak, top if math.isfinite(top) else math.inf)

    def truncate(self, v, shadow, bits):
        """(T(v, bits), shadow / 2^bits); ``v`` already reduced into the ring."""
        if bits <= 0:
            return v, shadow
        self.truncations += 1
        with np.errstate(all="ignore"):
            self.fail_sum += np.minimum(np.abs(shadow) / 2.0 ** self.ring_bits, 1.0)
        exact = v >> np.int64(bits)
        if self.truncation == "floor":
            return exact, shadow / 2.0 ** bits
        s0 = _wrap(_random_int64(self.seed, self.truncations, v.shape[0]), self.ring_bits)
        s1 = _wrap(v - s0, self.ring_bits)
        out = _wrap(_trunc_div(s0, bits) + _trunc_div(s1, bits), self.ring_bits)
        self.failed |= np.abs(_wrap(out - exact, self.ring_bits)) > 1
        return out, shadow / 2.0 ** bits


def simulate(schedule, x, ring_bits: int = 64, encoding: str = "truncate", truncation: str = "shares",
             seed: int = 0) -> SimulationRun:
    """Run ``schedule`` on inputs ``x`` in Z/2^``ring_bits`` (module docstring).

    >>> from polyfit.mpc_schedule import Schedule, MpcOp
    >>> s = Schedule("square", 8, (MpcOp("square", 1, (0,)),), 1)
    >>> float(simulate(s, [1.5], truncation="floor").outputs[0])
    2.25
    """
    F = int(schedule.frac_bits)
    x = np.asarray(x, dtype=float)
    ring = _Ring(len(x), int(ring_bits), truncation, seed)
    X = _wrap(encode(x, F, encoding), ring.ring_bits)
    regs = {0: X}
    shadow = {0: X.astype(float)}
    ring.see(shadow[0])
    for op in schedule.ops:
        with np.errstate(all="ignore"):
            if op.kind == "mul" or op.kind == "square":
                a, b = op.args[0], op.args[-1]
                raw = _wrap(regs[a] * regs[b], ring.ring_bits)
                raw_shadow = shadow[a] * shadow[b]
                bits = F + op.shift
            else:
                raw = np.full(len(x), op.const, dtype=np.int64)
                raw_shadow = np.full(len(x), float(op.const))
                for r, w in zip(op.args, op.weights):
                    raw = raw + regs[r] * np.int64(w)
                    raw_shadow = raw_shadow + shadow[r] * float(w)
                raw = _wrap(raw, ring.ring_bits)
                bits = op.shift
        ring.see(raw_shadow)
        regs[op.out], shadow[op.out] = ring.truncate(raw, raw_shadow, bits)
    out = regs[schedule.output]
    peak = ring.peak
    peak_bits = None if not math.isfinite(peak) else int(peak).bit_length() + 1
    return SimulationRun(outputs=out.astype(float) / 2.0 ** F, failed=ring.failed.copy(), peak_bits=peak_bits,
                         overflow=not (peak < 2.0 ** (ring.ring_bits - 1)),
                         failure_probability=min(float(np.max(ring.fail_sum)), 1.0) if len(x) else 0.0,
                         truncations=ring.truncations)
