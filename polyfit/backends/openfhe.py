"""OpenFHE backend: an artifact as OpenFHE users evaluate it, ``EvalChebyshevSeries`` per stage.

The schedule (:func:`chebyshev_schedule`, pure numpy; OpenFHE is imported only to run it):

1. **Encoding.** Stage 1 is written in the Chebyshev window t₁ = α₁·v + β₁ of its interval
   I₁ (a chebyshev stage's ``interval``; for a monomial stage the exact range of
   v = input_scale·x over the domain). The plaintext that gets encrypted is already
   e = α·x + β with α = α₁·input_scale, β = β₁ — the affine map is folded into the encoding
   (or into the preceding linear layer of a network), so it costs no level.
2. **Stages.** Every stage k runs as ``cc.EvalChebyshevSeries(ct, c_k, -1, 1)``: on (−1, 1)
   OpenFHE skips its own change of variable (one level). Stage k + 1's window
   t = α_{k+1}·v + β_{k+1} (its interval; for a monomial stage the symmetric range
   ±1.02·max|v| measured on the domain) is folded into stage k's coefficients: a ← α·a,
   a₀ ← a₀ + β.
3. **Combine.** (1 + s)/2 (relu, step) is folded into the last stage (a ← a/2, a₀ ← a₀ + ½).
   relu/abs need x = (e − β)/α: 1/α is folded into the last stage too, and the result is
   ``EvalMult(EvalAdd(e, −β), s)``: one ciphertext product, one level.
4. **Convention.** OpenFHE evaluates c₀/2 + Σ_{k≥1} c_k T_k (``EvalChebyshevSeriesLinear``
   and ``…PS`` add ``coefficients[0]/2``); numpy's and polyfit's series is a₀ + Σ a_k T_k,
   so c₀ = 2·a₀, c_k = a_k. Trailing zero coefficients are dropped (OpenFHE's linear method,
   used below degree 5, would otherwise compute the zero terms' T_k).

Depth: OpenFHE's depth table on (−1, 1) per stage (:func:`polyfit.depth.openfhe_levels` with
``unit_interval=True``), +1 for relu/abs; that is ``depth.backends.openfhe``, and
``polyfit verify --backend openfhe`` measures it on the ciphertext.

Parameters: CKKS-RNS with ``FLEXIBLEAUTO`` scaling (OpenFHE's automatic rescaling; its default
``FLEXIBLEAUTOEXT`` spends an extra prime and doubles the ring from depth 5 on), multiplicative
depth = the levels to run, first modulus 60 bits, HYBRID key switching, 128-bit classic
security; OpenFHE picks the ring dimension N. The scaling modulus is the largest of 50, 45,
40 bits that keeps N as small as the depth allows at 40 bits, and small enough that the
largest output fits under the 60-bit first modulus with 2 bits to spare.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from ..basis import monomial_to_chebyshev
from ..depth import openfhe_levels, stage_input_ranges
from ..errors import ComputationError, InputError, MissingExtraError
from ..reports import Stopwatch
from .ckks import ChainExhausted

FIRST_MOD_BITS = 60
SCALE_BITS_CHOICES = (50, 45, 40)  # most precise first; see choose_scale_bits
MIN_SCALE_BITS = 30
STAGE_INPUT_MARGIN = 1.02  # later monomial stages read v / (1.02·max|v|), inside [−1, 1]
CHAIN_ERRORS = ("multiplicative depth", "insufficient", "removing last element", "droplastelement",
                "levels", "towers")


def require_openfhe():
    """Import openfhe or raise MissingExtraError saying how to get it (CPython 3.10 or 3.12)."""
    try:
        import openfhe
    except ImportError:
        import sys

        here = f"CPython {sys.version_info.major}.{sys.version_info.minor}"
        raise MissingExtraError(f"the OpenFHE backend (OpenFHE's wheels are for CPython 3.10 and 3.12 on Linux "
                                f"x86-64; this is {here})", "openfhe", "openfhe") from None
    return openfhe


# -- the schedule (pure numpy) ---------------------------------------------------------------


@dataclass(frozen=True)
class ChebyshevSchedule:
    """What the OpenFHE program computes (module docstring).

    Attributes:
        input_scale, input_shift: α, β of the encoding e = α·x + β (done in plaintext).
        stages: per stage the coefficients passed to ``EvalChebyshevSeries(ct, c, -1, 1)``,
            OpenFHE's convention (c₀ is twice the constant term), no trailing zeros.
        multiply_by_input: relu/abs: the result is (e + input_offset)·s_last.
        input_offset: −β (so e + input_offset = α·x; 1/α is inside the last stage).
    """

    input_scale: float
    input_shift: float
    stages: tuple[tuple[float, ...], ...]
    multiply_by_input: bool
    input_offset: float

    @property
    def levels(self) -> int:
        """Levels the schedule consumes: OpenFHE's table on (−1, 1) per stage, +1 for ·x."""
        return sum(openfhe_levels(len(c) - 1, unit_interval=True) for c in self.stages) + int(self.multiply_by_input)

    def encode(self, x) -> np.ndarray:
        """The plaintext to encrypt: e = α·x + β."""
        return self.input_scale * np.asarray(x, dtype=float) + self.input_shift

    def evaluate_plain(self, x) -> np.ndarray:
        """The schedule in float64 (numpy, OpenFHE's c₀/2 convention): the reference it must meet."""
        e = self.encode(x)
        s = e
        for c in self.stages:
            a = np.array(c, dtype=float)
            a[0] /= 2.0
            s = np.polynomial.chebyshev.chebval(s, a)
        return (e + self.input_offset) * s if self.multiply_by_input else s

    def to_dict(self) -> dict:
        return {"input_scale": self.input_scale, "input_shift": self.input_shift,
                "stages": [list(c) for c in self.stages], "multiply_by_input": self.multiply_by_input,
                "input_offset": self.input_offset, "levels": self.levels}


def _window(interval) -> tuple[float, float]:
    """(α, β) of t = α·v + β mapping ``interval`` = (lo, hi) onto [−1, 1]."""
    lo, hi = float(interval[0]), float(interval[1])
    return 2.0 / (hi - lo), -(hi + lo) / (hi - lo)


def stage_intervals(approximation) -> list[tuple[float, float]]:
    """The interval each stage is written over in the schedule (module docstring, 1–2)."""
    ranges = stage_input_ranges(approximation)
    out = []
    for k, (stage, (lo, hi)) in enumerate(zip(approximation.stages, ranges)):
        if stage.basis == "chebyshev":
            out.append(stage.interval)
        elif k == 0:
            out.append((lo, hi) if hi > lo else (lo - 1.0, hi + 1.0))
        else:
            radius = STAGE_INPUT_MARGIN * max(abs(lo), abs(hi))
            if not (np.isfinite(radius) and radius > 0.0):
                raise ComputationError(f"stage {k + 1}'s input range ({lo:g}, {hi:g}) is not finite and non-zero")
            out.append((-radius, radius))
    return out


def chebyshev_schedule(approximation) -> ChebyshevSchedule:
    """The OpenFHE schedule of an :class:`~polyfit.approximation.Approximation` (module docstring)."""
    intervals = stage_intervals(approximation)
    series = []
    for stage, interval in zip(approximation.stages, intervals):
        if stage.basis == "chebyshev":
            series.append(np.array(stage.coefficients, dtype=float))
        else:
            series.append(np.asarray(monomial_to_chebyshev(stage.coefficients, interval), dtype=float))
    for k in range(len(series) - 1):  # stage k's output is stage k+1's window variable
        alpha, beta = _window(intervals[k + 1])
        series[k] = alpha * series[k]
        series[k][0] += beta
    alpha1, beta1 = _window(intervals[0])
    input_scale = alpha1 * approximation.input_scale
    last = series[-1]
    if approximation.combine in ("relu", "step"):
        last = last / 2.0
        last[0] += 0.5
    multiply = approximation.combine in ("relu", "abs")
    if multiply:
        last = last / input_scale
    series[-1] = last
    stages = []
    for a in series:
        c = np.trim_zeros(np.array(a, dtype=float), "b")
        c = c if len(c) else np.zeros(1)
        c[0] *= 2.0
        if not np.all(np.isfinite(c)):
            raise ComputationError("the folded Chebyshev coefficients are not finite")
        stages.append(tuple(float(v) for v in c))
    return ChebyshevSchedule(float(input_scale), float(beta1), tuple(stages), multiply, float(-beta1))


# -- running it on OpenFHE ------------------------------------------------------------------


@dataclass(frozen=True)
class OpenFHEParameters:
    """CKKS-RNS parameters of one context (N chosen by OpenFHE for 128-bit classic security)."""

    multiplicative_depth: int
    scale_bits: int
    first_mod_bits: int
    ring_dimension: int
    batch_size: int
    modulus_bits: float
    scaling_technique: str = "FLEXIBLEAUTO"
    security: str = "HEStd_128_classic"

    def to_dict(self) -> dict:
        return {"multiplicative_depth": self.multiplicative_depth, "scale_bits": self.scale_bits,
                "first_mod_bits": self.first_mod_bits, "ring_dimension": self.ring_dimension,
                "batch_size": self.batch_size, "modulus_bits": round(self.modulus_bits, 1),
                "scaling_technique": self.scaling_technique, "security": self.security}


def _gen_context(depth: int, scale_bits: int, batch_size: int):
    fhe = require_openfhe()
    p = fhe.CCParamsCKKSRNS()
    p.SetMultiplicativeDepth(int(depth))
    p.SetScalingModSize(int(scale_bits))
    p.SetFirstModSize(FIRST_MOD_BITS)
    p.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    p.SetSecurityLevel(fhe.SecurityLevel.HEStd_128_classic)
    p.SetBatchSize(int(batch_size))
    try:
        return fhe.GenCryptoContext(p)
    except RuntimeError as exc:  # more slots than the ring OpenFHE picked for security: a larger ring
        if "batch size cannot be larger" not in str(exc).lower():
            raise
        p.SetRingDim(2 * int(batch_size))  # N = 2·slots, above the security minimum
        return fhe.GenCryptoContext(p)


def max_scale_bits(output_bound: float) -> int:
    """Largest scale Δ = 2^b with 4·|y| < 2^(60 − b): the result's integer part fits the first prime."""
    room = math.ceil(math.log2(4.0 * max(float(output_bound), 1.0)))
    return FIRST_MOD_BITS - room


def choose_scale_bits(depth: int, batch_size: int, output_bound: float = 1.0) -> int:
    """The largest of 50, 45, 40 bits whose ring is as small as 40 bits would give (module docstring)."""
    cap = max_scale_bits(output_bound)
    if cap < MIN_SCALE_BITS:
        raise ComputationError(f"outputs up to {output_bound:.3g} need a scale below 2^{MIN_SCALE_BITS} under a "
                               f"{FIRST_MOD_BITS}-bit first modulus; scale the target down first")
    choices = [b for b in SCALE_BITS_CHOICES if b <= cap] or [cap]
    smallest = _gen_context(depth, choices[-1], batch_size).GetRingDimension()
    for bits in choices[:-1]:
        if _gen_context(depth, bits, batch_size).GetRingDimension() == smallest:
            return bits
    return choices[-1]


def make_context(depth: int, slots: int = 1, scale_bits: int | None = None, output_bound: float = 1.0):
    """(crypto context, key pair, parameters) for ``depth`` levels; relinearisation keys only.

    Raises:
        InputError: depth < 1 or a bad scale.
    """
    if int(depth) < 1:
        raise InputError(f"multiplicative depth must be ≥ 1, got {depth}")
    batch = 1 << max(int(slots) - 1, 0).bit_length()
    bits = choose_scale_bits(depth, batch, output_bound) if scale_bits is None else int(scale_bits)
    if not MIN_SCALE_BITS <= bits < FIRST_MOD_BITS:
        raise InputError(f"scale bits must be in {MIN_SCALE_BITS}..{FIRST_MOD_BITS - 1}, got {bits}")
    fhe = require_openfhe()
    cc = _gen_context(depth, bits, batch)
    if batch > cc.GetRingDimension() // 2:
        raise InputError(f"{slots} samples exceed the {cc.GetRingDimension() // 2} slots of ring dimension "
                         f"{cc.GetRingDimension()}")
    for feature in ("PKE", "KEYSWITCH", "LEVELEDSHE", "ADVANCEDSHE"):
        cc.Enable(getattr(fhe.PKESchemeFeature, feature))
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    params = OpenFHEParameters(int(depth), bits, FIRST_MOD_BITS, int(cc.GetRingDimension()), batch,
                               math.log2(cc.GetModulus()))
    return cc, keys, params


def height(ct) -> int:
    """Level plus noise-scale degree: it grows by one per rescale, done or pending (FLEXIBLEAUTO
    rescales lazily, before the next product), so two heights differ by the levels consumed."""
    return int(ct.GetLevel()) + int(ct.GetNoiseScaleDeg())


def _series(cc, ct, coefficients):
    if len(coefficients) == 1:  # a constant stage: c₀/2 as a ciphertext, no level
        return cc.EvalAdd(cc.EvalSub(ct, ct), coefficients[0] / 2.0)
    return cc.EvalChebyshevSeries(ct, list(coefficients), -1.0, 1.0)


def evaluate_schedule(cc, ct, schedule: ChebyshevSchedule):
    """Run ``schedule`` on ``ct`` = Enc(e), e = ``schedule.encode(x)``; returns Enc(y)."""
    s = ct
    for coefficients in schedule.stages:
        s = _series(cc, s, coefficients)
    if schedule.multiply_by_input:
        s = cc.EvalMult(cc.EvalAdd(ct, schedule.input_offset), s)
    return s


def evaluate(cc, ct, approximation, encoded: bool = True):
    """Evaluate an approximation on an OpenFHE CKKS ciphertext, for users' own programs.

    Args:
        cc: the crypto context (CKKS-RNS, ADVANCEDSHE enabled, relinearisation keys made),
            with at least ``approximation.depth["backends"]["openfhe"]`` levels left
            (+1 with ``encoded=False``).
        ct: with ``encoded=True`` (the cheap way), an encryption of
            ``encode_input(approximation, x)`` = α·x + β — fold that affine map into the
            encoding or into the preceding linear layer; with ``encoded=False``, an
            encryption of x itself (the map then costs one level here).
        approximation: an :class:`~polyfit.approximation.Approximation` (``polyfit.load(path)``).

    Returns:
        The ciphertext of y(x) = approximation(x).

    >>> # cc, keys = ...; ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(
    >>> #     list(encode_input(a, x)))); y = evaluate(cc, ct, a)
    """
    schedule = chebyshev_schedule(approximation)
    if not encoded:
        ct = cc.EvalAdd(cc.EvalMult(ct, schedule.input_scale), schedule.input_shift)
    return evaluate_schedule(cc, ct, schedule)


def encode_input(approximation, x) -> np.ndarray:
    """The plaintext :func:`evaluate` expects in its ciphertext: e = α·x + β (module docstring, 1)."""
    return chebyshev_schedule(approximation).encode(x)


@dataclass(frozen=True)
class OpenFHERun:
    """Outcome of one encrypted evaluation."""

    outputs: np.ndarray
    levels_used: int
    seconds: float
    encrypt_seconds: float
    keygen_seconds: float
    parameters: OpenFHEParameters


def openfhe_message(exc: Exception) -> str:
    """OpenFHE's error text without its source path: "SetLevel(): The current multiplicative …"."""
    text = " ".join(str(exc).split())
    found = re.search(r"(\w+\(\)\s*:.*)$", text)
    return found.group(1) if found else text


def _is_chain_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in CHAIN_ERRORS)


def run_schedule(schedule: ChebyshevSchedule, x, depth: int, scale_bits: int | None = None,
                 output_bound: float = 1.0) -> OpenFHERun:
    """Encrypt e = encode(x) (one ciphertext, one slot per input), run the schedule, decrypt.

    Raises:
        ChainExhausted: ``depth`` levels are too few (OpenFHE's "multiplicative depth …
            is insufficient" / "Removing last element" errors become this one-line error).
        ComputationError: any other OpenFHE failure.
    """
    x = np.asarray(x, dtype=float).ravel()
    with Stopwatch() as keygen:
        cc, keys, params = make_context(depth, len(x), scale_bits, output_bound)
    with Stopwatch() as encryption:
        ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(schedule.encode(x).tolist()))
    try:
        with Stopwatch() as evaluation:
            out = evaluate_schedule(cc, ct, schedule)
        used = height(out) - height(ct)
        plain = cc.Decrypt(out, keys.secretKey)
        plain.SetLength(len(x))
        outputs = np.asarray(plain.GetRealPackedValue(), dtype=float)[: len(x)]
    except RuntimeError as exc:
        message = openfhe_message(exc)
        if _is_chain_error(exc):
            raise ChainExhausted(f"the schedule needs more than {depth} level(s): OpenFHE stopped with "
                                 f"'{message}'") from None
        raise ComputationError(f"OpenFHE failed: {message}") from None
    if not np.all(np.isfinite(outputs)):
        raise ComputationError("decryption produced non-finite values")
    return OpenFHERun(outputs, int(used), evaluation.elapsed, encryption.elapsed, keygen.elapsed, params)
