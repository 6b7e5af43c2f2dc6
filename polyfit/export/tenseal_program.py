"""`polyfit export --to tenseal`: polyfit's evaluation plan as data, run by a small interpreter.

``SCHEDULE`` is the plan ``polyfit verify --backend ckks`` runs (:func:`polyfit.verification.
ckks_plan`): the encrypted input is u = m·x + b, the domain mapped onto [−1, 1] (x / max|x| for
relu/abs), later stages read inputs scaled into
[−1, 1], and the schedule is in the Chebyshev basis — ``CKKSVector.polyval`` on monomial
coefficients loses everything at high degree (gelu d = 31 on [−8, 8]: error 6.5; relu d = 31:
320). Each op is one TenSEAL operation; integer constants are additions (no level). Scale: the
largest of 2^50, 2^45, 2^40 that fits the smallest ring holding [60, 40 × L, 60] at 128-bit
security. TenSEAL resets the scale to Δ after each rescale by a prime q ≠ Δ (a relative error
|q − Δ|/Δ per level); at 2^50 the primes lie ~1000× closer to Δ than at 2^40, so the plain
interpreter meets 1e-7 where 2^40 gave 1e-4 (gelu d = 31; composite ReLU [7, 15, 27]: 4e-4).
"""
from __future__ import annotations

import numpy as np

from ..backends.ckks import OUTER_BITS, SECURITY_128_MAX_BITS
from ..plan import approximation_plan
from .common import artifact_data, render

TOLERANCE = 1e-4  # verify's CKKS default
SCALE_BITS_CHOICES = (50, 45, 40)

USAGE = '''    context = make_context(slots=len(x))
    y_ct = evaluate(ts.ckks_vector(context, list(encode(x))))   # SCHEDULE["levels"] levels
(encode is u = m*x + b, the domain onto [-1, 1]: fold it into the layer before, and encrypt that
layer's output.)'''

ENGINE_CODE = '''

def encode(x):
    """The plaintext to encrypt: u = input_multiplier * x + input_offset (the domain onto [-1, 1])."""
    return SCHEDULE["input_multiplier"] * np.asarray(x, dtype=float) + SCHEDULE["input_offset"]


def parameters(slots=1, levels=None):
    """(N, coeff_mod_bit_sizes, scale bits): [60, b x L, 60], the smallest N at 128-bit security,
    the largest b of SCALE_BITS_CHOICES needing no larger N than the smallest, room for max|y|."""
    levels = int(SCHEDULE["levels"] if levels is None else levels)

    def ring(bits):
        total = 2 * OUTER_BITS + bits * levels
        return next((n for n in sorted(SECURITY_128_MAX_BITS) if n >= 8192 and n // 2 >= slots
                     and total <= SECURITY_128_MAX_BITS[n]), None)

    choices = [b for b in SCALE_BITS_CHOICES if b <= SCALE_BITS_CAP] or [SCALE_BITS_CAP]
    smallest = ring(choices[-1])
    if smallest is None:
        raise SystemExit(f"{levels} levels do not fit TenSEAL's largest ring at 128-bit security")
    bits = next(b for b in choices if ring(b) == smallest)
    return smallest, [OUTER_BITS] + [bits] * levels + [OUTER_BITS], bits


def make_context(slots=1, levels=None):
    """A TenSEAL CKKS context for SCHEDULE["levels"] levels (relinearisation keys only)."""
    import tenseal as ts

    n, sizes, bits = parameters(slots, levels)
    context = ts.context(ts.SCHEME_TYPE.CKKS, poly_modulus_degree=n, coeff_mod_bit_sizes=sizes)
    context.global_scale = 2.0 ** bits
    context.generate_relin_keys()
    return context


def _times_integer(ct, n):
    """n * ct by doubling and adding: no level (TenSEAL would rescale a product by 2.0)."""
    if n == 0:
        return ct - ct
    result, power, m = None, ct, abs(n)
    while m:
        if m & 1:
            result = power if result is None else result + power
        m >>= 1
        if m:
            power = power + power
    return -result if n < 0 else result


def evaluate(ct):
    """Enc(y) from ct = Enc(encode(x)): the plan's operations, one TenSEAL operation each.

    Before an operation on two ciphertexts at different levels the one that has used fewer
    levels is copied (ct + 0.0): TenSEAL mod-switches it down in place, and a later use
    would silently start lower.
    """
    levels = SCHEDULE["register_levels"]
    regs = {0: ct}
    for kind, out, a, b, const in SCHEDULE["ops"]:
        x = regs[a]
        if kind in ("mul", "add"):
            y = regs[b]
            if levels[a] < levels[b]:
                x = x + 0.0
            elif levels[b] < levels[a]:
                y = y + 0.0
            regs[out] = x * y if kind == "mul" else x + y
        elif kind == "mul_const":
            regs[out] = _times_integer(x, int(const)) if float(const).is_integer() else x * const
        else:
            regs[out] = x + const
    return regs[SCHEDULE["output"]]


def run_check(x):
    import tenseal as ts
    import tenseal.sealapi  # noqa: F401  (the SEAL ciphertext types, to count the primes left)

    context = make_context(slots=len(x))
    out = evaluate(ts.ckks_vector(context, list(encode(x))))
    n, sizes, bits = parameters(len(x))
    left = out.ciphertext()[0].coeff_modulus_size()
    return {"outputs": out.decrypt()[: len(x)], "levels_used": len(sizes) - 1 - left,
            "poly_modulus_degree": n, "scale_bits": bits}
'''


def schedule_data(approx) -> dict:
    """The plan verify's CKKS backend runs, as plain data (module docstring)."""
    from ..verification import ckks_plan

    multiplier, offset, basis, plan = ckks_plan(approx, approximation_plan(approx))
    return {"input_multiplier": float(multiplier), "input_offset": float(offset), "basis": basis,
            "levels": int(plan.depth),
            "output": int(plan.output), "register_levels": [int(v) for v in plan.levels],
            "ops": [[op.kind, op.out, op.a, op.b, op.const] for op in plan.ops]}


def program(approx, samples: int) -> tuple[str, int]:
    """(program text, levels it uses)."""
    from ..backends.openfhe import max_scale_bits

    schedule = schedule_data(approx)
    bound = float(np.max(np.abs(approx(np.linspace(*approx.domain, 2001)))))
    constants = (f"\nOUTER_BITS = {OUTER_BITS}\nSECURITY_128_MAX_BITS = {dict(SECURITY_128_MAX_BITS)!r}  # HE standard\n"
                 f"SCALE_BITS_CHOICES = {SCALE_BITS_CHOICES!r}\n"
                 f"SCALE_BITS_CAP = {max_scale_bits(bound)}  # 4 * max|y| must fit under the 60-bit first prime\n")
    text = render(engine="tenseal", title="TenSEAL CKKS program", usage=USAGE, artifact=artifact_data(approx, samples),
                  schedule=schedule, tolerance=TOLERANCE, engine_code=constants + ENGINE_CODE)
    return text, schedule["levels"]
