"""CKKS backend: run an evaluation plan on TenSEAL ciphertexts (extra ``he``).

Parameters come from the plan: a chain of L rescaling primes of ``scale_bits`` (40 by
default, scale Δ = 2^40) between two ``outer_bits`` primes (60: the first holds the result's
integer part, the last is SEAL's key-switching prime), so ``coeff_mod_bit_sizes`` is
[60, 40 × L, 60]. ``poly_modulus_degree`` N is the smallest power of two whose 128-bit bound
(HE standard, enforced by SEAL) admits the total bit count: N = 8192 up to 218 bits, 16384 up
to 438, 32768 up to 881. A longer chain cannot run at 128-bit security in TenSEAL; the backend
then says so instead of lowering security.

Execution is the plan of :mod:`polyfit.plan`, operation for operation:

- ``mul``: ciphertext product; TenSEAL relinearises and rescales (one level);
- ``mul_const`` by a non-integer: TenSEAL encodes the constant at scale Δ and rescales (one
  level), exactly what the plan counts;
- ``mul_const`` by an integer n: by doubling and adding (|n| → O(log |n|) additions), no level;
  0 is a fresh encryption of zeros;
- ``add``/``add_const``: free (TenSEAL switches the higher-level operand down).

TenSEAL resets a ciphertext's scale to Δ after each rescale, although it divided by a prime
q ≠ Δ; the decrypted value is then off by a factor Δ/q (≈ 1 ± 10⁻⁶ per level), and adding two
values with different factors leaves an error of that relative size. With
``compensate=True`` the backend tracks the factor g of every ciphertext from the actual
primes, keeps sums of scalar products symbolic until a consumer needs them, and then encodes
each scalar as c·g_target/(g·Δ/q) so the sum lands exactly on the factor of the ciphertext it
is added to (the idea of Lattigo's scale management). Only an addition of two ciphertext
products with different factors keeps a residual error; the final factor is divided out after
decryption. The operations performed are those of the plan, one for one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from ..errors import ComputationError, InputError, MissingExtraError
from ..plan import Plan, is_integer
from ..reports import Stopwatch

DEFAULT_SCALE_BITS = 40
OUTER_BITS = 60
# Largest total coeff-modulus bits for 128-bit classical security (HE standard / SEAL).
SECURITY_128_MAX_BITS = MappingProxyType({1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881})
MIN_POLY_MODULUS_DEGREE = 8192
CHAIN_ERRORS = ("scale out of bounds", "end of modulus switching chain", "transparent",
                "parms_id", "encryption parameters are not set correctly", "mismatch")


class ChainExhausted(ComputationError):
    """The ciphertext ran out of levels (or scale) before the plan finished."""


def require_tenseal():
    """Import TenSEAL (and its SEAL bindings) or raise MissingExtraError naming the extra."""
    try:
        import tenseal
        import tenseal.sealapi  # noqa: F401  (registers SEAL types: primes of the chain)
    except ImportError:
        raise MissingExtraError("the CKKS backend", "he", "tenseal") from None
    return tenseal


@dataclass(frozen=True)
class CKKSParameters:
    """Encryption parameters for a chain of ``levels`` rescalings."""

    levels: int
    poly_modulus_degree: int
    coeff_mod_bit_sizes: tuple[int, ...]
    scale_bits: int
    secure_128: bool

    @property
    def total_bits(self) -> int:
        return sum(self.coeff_mod_bit_sizes)

    def to_dict(self) -> dict:
        return {
            "levels": self.levels,
            "poly_modulus_degree": self.poly_modulus_degree,
            "coeff_mod_bit_sizes": list(self.coeff_mod_bit_sizes),
            "scale_bits": self.scale_bits,
            "total_bits": self.total_bits,
            "security": "128-bit (HE standard, enforced by SEAL)" if self.secure_128 else "below 128-bit",
        }


def choose_parameters(levels: int, scale_bits: int = DEFAULT_SCALE_BITS, slots: int = 1) -> CKKSParameters:
    """Smallest N that holds [60, scale_bits × levels, 60] at 128-bit security and ``slots`` values.

    Raises:
        InputError: ``levels`` < 0.
        ComputationError: the chain is longer than N = 32768 allows at 128-bit security.
    """
    if levels < 0:
        raise InputError(f"levels must be ≥ 0, got {levels}")
    bits = (OUTER_BITS,) + (int(scale_bits),) * int(levels) + (OUTER_BITS,)
    total = sum(bits)
    for n in sorted(SECURITY_128_MAX_BITS):
        if n >= MIN_POLY_MODULUS_DEGREE and total <= SECURITY_128_MAX_BITS[n] and n // 2 >= slots:
            return CKKSParameters(int(levels), n, bits, int(scale_bits), True)
    raise ComputationError(
        f"a chain of {levels} levels at scale 2^{scale_bits} needs {total} modulus bits, more than "
        f"TenSEAL's largest ring (N = 32768, {SECURITY_128_MAX_BITS[32768]} bits) allows at 128-bit security"
    )


def make_context(params: CKKSParameters):
    """A TenSEAL CKKS context (relinearisation keys only: the plan needs no rotations)."""
    ts = require_tenseal()
    try:
        context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=params.poly_modulus_degree,
                             coeff_mod_bit_sizes=list(params.coeff_mod_bit_sizes))
    except ValueError as exc:
        raise ComputationError(f"TenSEAL rejected the parameters {params.to_dict()}: {exc}") from None
    context.global_scale = 2.0 ** params.scale_bits
    return context


def data_primes(context) -> list[int]:
    """The data-level primes q_0 … q_L of the context (SEAL rescales by q_L first)."""
    parms = context.seal_context().data.first_context_data().parms()
    return [int(m.value()) for m in parms.coeff_modulus()]


@dataclass(frozen=True)
class CKKSRun:
    """Outcome of one encrypted evaluation."""

    outputs: np.ndarray
    levels_used: int
    seconds: float
    encrypt_seconds: float
    parameters: CKKSParameters


@dataclass
class _Fixed:
    """A ciphertext at ``level`` whose decryption is g × (true value)."""

    ct: object
    level: int
    g: float


@dataclass
class _Lazy:
    """A value whose scale factor is still free: Σ items + constant, not yet multiplied out.

    Items are ("scalar", fixed, c) for c·fixed and ("product", lazy, fixed, level) for
    lazy·fixed. Either can be produced at any factor g by choosing the encoded scalars, so a
    consumer materialises the sum exactly on the factor it needs (that of the ciphertext it
    is added to); see the module docstring.
    """

    items: list
    constant: float
    level: int


class _Executor:
    """Runs plan operations on TenSEAL vectors, tracking levels and scale factors."""

    def __init__(self, context, primes: list[int], scale: float, size: int, compensate: bool):
        self.context = context
        self.primes = primes
        self.scale = scale
        self.size = size
        self.compensate = compensate
        self.top = len(primes) - 1  # data level L: primes q_0 … q_L

    def _rescale_factor(self, level: int) -> float:
        """Δ/q for the prime a rescale at ``level`` divides by (1 when none is left: TenSEAL
        itself then refuses the operation, and that refusal is what the caller reports)."""
        index = self.top - level
        return self.scale / self.primes[index] if index >= 1 else 1.0

    def fixed(self, value, target: float = 1.0) -> _Fixed:
        """Materialise a lazy value so that it decrypts to ``target`` × (true value)."""
        if isinstance(value, _Fixed):
            return value
        if not self.compensate:
            target = 1.0
        acc = None
        acc_level = 0
        g_out = target
        for item in value.items:
            if item[0] == "scalar":
                _, f, c = item
                factor = self._rescale_factor(f.level)
                if self.compensate:
                    piece = f.ct * float(c * target / (f.g * factor))
                else:
                    piece = f.ct * float(c)
                    g_out = f.g * factor if acc is None else g_out
            else:
                _, lazy, f, level = item
                factor = self._rescale_factor(level)
                inner = self.fixed(lazy, target / (f.g * factor))
                piece = _combine(_mul, inner.ct, inner.level, f.ct, f.level)
                if not self.compensate and acc is None:
                    g_out = inner.g * f.g * factor
            piece_level = f.level + 1 if item[0] == "scalar" else item[3] + 1
            acc = piece if acc is None else _combine(_add, acc, acc_level, piece, piece_level)
            acc_level = max(acc_level, piece_level)
        if value.constant != 0.0:
            acc = acc + float(value.constant * g_out)
        return _Fixed(acc, value.level, g_out)

    def _scaled(self, value: _Lazy, n: int) -> _Lazy:
        items = [(i[0], i[1], i[2] * n) if i[0] == "scalar" else ("product", self._scaled(i[1], n), i[2], i[3])
                 for i in value.items]
        return _Lazy(items, value.constant * n, value.level)

    def mul(self, a, b):
        if isinstance(a, _Lazy) and isinstance(b, _Lazy):
            b = self.fixed(b)
        if isinstance(b, _Lazy):
            a, b = b, a
        level = max(a.level, b.level)
        if isinstance(a, _Lazy) and self.compensate:
            return _Lazy([("product", a, b, level)], 0.0, level + 1)
        a = self.fixed(a)
        return _Fixed(_combine(_mul, a.ct, a.level, b.ct, b.level), level + 1,
                      a.g * b.g * self._rescale_factor(level))

    def mul_const(self, a, c):
        if isinstance(a, _Lazy):
            if is_integer(c):
                return self._scaled(a, int(c))
            a = self.fixed(a)
        if is_integer(c):
            return _Fixed(self._times_integer(a.ct, int(c)), a.level, a.g)
        return _Lazy([("scalar", a, float(c))], 0.0, a.level + 1)

    def _times_integer(self, ct, n: int):
        ts = require_tenseal()
        if n == 0:
            return ts.ckks_vector(self.context, [0.0] * self.size)
        result = None
        power = ct
        m = abs(n)
        while m:
            if m & 1:
                result = power if result is None else result + power
            m >>= 1
            if m:
                power = power + power
        return -result if n < 0 else result

    def add(self, a, b):
        level = max(a.level, b.level)
        if isinstance(a, _Lazy) and isinstance(b, _Lazy):
            return _Lazy(a.items + b.items, a.constant + b.constant, level)
        if isinstance(a, _Lazy):
            a, b = b, a
        b = self.fixed(b, target=a.g)
        return _Fixed(_combine(_add, a.ct, a.level, b.ct, b.level), level, a.g)

    def add_const(self, a, c):
        if isinstance(a, _Lazy):
            return _Lazy(a.items, a.constant + float(c), a.level)
        return _Fixed(a.ct + float(c * a.g), a.level, a.g)

    def execute(self, plan: Plan, encrypted) -> _Fixed:
        """Run ``plan``'s operations in order; a lazy value used more than once is
        materialised once (so no operation is repeated)."""
        uses: dict[int, int] = {}
        for op in plan.ops:
            for r in (op.a, op.b):
                if r is not None:
                    uses[r] = uses.get(r, 0) + 1
        regs = {0: _Fixed(encrypted, 0, 1.0)}
        for op in plan.ops:
            a = regs[op.a]
            if op.kind == "mul":
                out = self.mul(a, regs[op.b])
            elif op.kind == "mul_const":
                out = self.mul_const(a, op.const)
            elif op.kind == "add":
                out = self.add(a, regs[op.b])
            else:
                out = self.add_const(a, op.const)
            if isinstance(out, _Lazy) and uses.get(op.out, 0) > 1:
                out = self.fixed(out)
            regs[op.out] = out
        return self.fixed(regs[plan.output])


def _combine(op, a_ct, a_level: int, b_ct, b_level: int):
    """``op(a, b)`` on two ciphertexts; the one at the lower level is duplicated first,
    because TenSEAL's auto_mod_switch switches that operand down *in place* (a later use of
    it would silently start one level lower). ``ct + 0.0`` is a new ciphertext at the same
    level and is ~20× cheaper than TenSEAL's ``copy()``, which also copies the context."""
    if a_level < b_level:
        a_ct = a_ct + 0.0
    elif b_level < a_level:
        b_ct = b_ct + 0.0
    return op(a_ct, b_ct)


def _add(a, b):
    return a + b


def _mul(a, b):
    return a * b


def _is_chain_error(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in CHAIN_ERRORS)


def run_plan(plan: Plan, inputs, levels: int, scale_bits: int = DEFAULT_SCALE_BITS,
             compensate: bool = True) -> CKKSRun:
    """Encrypt ``inputs`` (one ciphertext, one slot each), execute ``plan``, decrypt.

    Args:
        plan: evaluation plan whose register 0 is the encrypted input.
        inputs: 1-D array of plaintext inputs (at most N/2 values).
        levels: length L of the rescaling chain.
        scale_bits: log2 of the scale Δ.

    Raises:
        ChainExhausted: the plan needs more levels than the chain has (TenSEAL's "scale out of
            bounds" / "end of modulus switching chain" are turned into this one-line error).
    """
    inputs = np.asarray(inputs, dtype=float).ravel()
    params = choose_parameters(levels, scale_bits, slots=len(inputs))
    context = make_context(params)
    ts = require_tenseal()
    with Stopwatch() as encryption:
        encrypted = ts.ckks_vector(context, inputs.tolist())
    executor = _Executor(context, data_primes(context), 2.0 ** scale_bits, len(inputs), compensate)
    try:
        with Stopwatch() as evaluation:
            result = executor.execute(plan, encrypted)
        ct = result.ct
        outputs = np.asarray(ct.decrypt(), dtype=float)[: len(inputs)] / result.g
        consumed = params.levels + 1 - ct.ciphertext()[0].coeff_modulus_size()
    except ChainExhausted:
        raise
    except (ValueError, RuntimeError) as exc:
        if _is_chain_error(exc):
            raise ChainExhausted(
                f"the plan needs more than {levels} level(s): TenSEAL stopped with '{' '.join(str(exc).split())}'"
            ) from None
        raise ComputationError(f"TenSEAL failed: {' '.join(str(exc).split())}") from None
    if not np.all(np.isfinite(outputs)):
        raise ComputationError("decryption produced non-finite values")
    return CKKSRun(outputs, int(consumed), evaluation.elapsed, encryption.elapsed, params)


def input_map(domain, combine: str = "none") -> tuple[float, float]:
    """(m, b) of the encrypted input u = m·x + b ∈ [−1, 1]: the affine map of [lo, hi] onto
    [−1, 1] (m = 2/(hi − lo), b = −(hi + lo)/(hi − lo)); u = x / max|x| (b = 0) for relu/abs,
    whose final product needs x itself, and for a domain symmetric about 0 (the same map)."""
    lo, hi = float(domain[0]), float(domain[1])
    if combine in ("relu", "abs") or lo == -hi or not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
        return input_multiplier(domain), 0.0
    return 2.0 / (hi - lo), -(hi + lo) / (hi - lo)


def input_multiplier(domain) -> float:
    """1 / max|x| over the domain: the encrypted input u = x / max|x| lies in [−1, 1]."""
    bound = max(abs(float(domain[0])), abs(float(domain[1])))
    return 1.0 / bound if bound > 0 and math.isfinite(bound) else 1.0
