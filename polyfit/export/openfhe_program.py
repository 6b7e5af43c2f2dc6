"""`polyfit export --to openfhe`: the EvalChebyshevSeries schedule of :mod:`polyfit.backends.openfhe`.

The program's ``SCHEDULE`` is :meth:`~polyfit.backends.openfhe.ChebyshevSchedule.to_dict`;
its context is sized like the backend's (depth = the schedule's levels, FLEXIBLEAUTO, first
modulus 60 bits, the largest of 2^50/2^45/2^40 that keeps N minimal, 128-bit security).
"""
from __future__ import annotations

import numpy as np

from ..backends.openfhe import FIRST_MOD_BITS, MIN_SCALE_BITS, SCALE_BITS_CHOICES, chebyshev_schedule, max_scale_bits
from ..errors import ComputationError
from .common import artifact_data, render

TOLERANCE = 1e-4  # verify's CKKS default; measured errors are 1e-11 … 1e-9

USAGE = '''    cc, keys = make_context(slots=len(x))
    ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(encode(x))))
    y_ct = evaluate(cc, ct)        # SCHEDULE["levels"] levels; decrypt with keys.secretKey
(encode is an affine map: fold it into the layer before, and encrypt that layer's output.)'''

ENGINE_CODE = '''

def encode(x):
    """The plaintext to encrypt: e = input_scale * x + input_shift, the domain onto [-1, 1]."""
    return SCHEDULE["input_scale"] * np.asarray(x, dtype=float) + SCHEDULE["input_shift"]


def evaluate(cc, ct):
    """Enc(y) from ct = Enc(encode(x)): EvalChebyshevSeries on (-1, 1) per stage, then the combine.

    Coefficients are OpenFHE's convention c0/2 + sum c_k T_k; every change of variable is
    already folded into them, so OpenFHE spends no level on one.
    """
    s = ct
    for coefficients in SCHEDULE["stages"]:
        if len(coefficients) == 1:  # a constant stage
            s = cc.EvalAdd(cc.EvalSub(s, s), coefficients[0] / 2.0)
        else:
            s = cc.EvalChebyshevSeries(s, coefficients, -1.0, 1.0)
    if SCHEDULE["multiply_by_input"]:  # relu/abs: y = x * s, x = (e - input_shift) / input_scale
        s = cc.EvalMult(cc.EvalAdd(ct, SCHEDULE["input_offset"]), s)
    return s


def _context(depth, scale_bits, batch_size):
    import openfhe as fhe

    p = fhe.CCParamsCKKSRNS()
    p.SetMultiplicativeDepth(depth)
    p.SetScalingModSize(scale_bits)
    p.SetFirstModSize(FIRST_MOD_BITS)
    p.SetScalingTechnique(fhe.ScalingTechnique.FLEXIBLEAUTO)
    p.SetSecurityLevel(fhe.SecurityLevel.HEStd_128_classic)
    p.SetBatchSize(batch_size)
    try:
        return fhe.GenCryptoContext(p)
    except RuntimeError as exc:  # more slots than the ring OpenFHE picked for security
        if "batch size cannot be larger" not in str(exc).lower():
            raise
        p.SetRingDim(2 * batch_size)  # N = 2 * slots, above the security minimum
        return fhe.GenCryptoContext(p)


def make_context(slots=1, depth=None):
    """(cc, keys) with SCHEDULE["levels"] levels (or ``depth``): the largest scale in
    SCALE_BITS_CHOICES that needs no larger ring than the smallest, room for the outputs."""
    import openfhe as fhe

    depth = int(depth or SCHEDULE["levels"])
    batch = 1 << max(int(slots) - 1, 0).bit_length()
    choices = [b for b in SCALE_BITS_CHOICES if b <= SCALE_BITS_CAP] or [SCALE_BITS_CAP]
    smallest = _context(depth, choices[-1], batch).GetRingDimension()
    bits = next(b for b in choices if _context(depth, b, batch).GetRingDimension() == smallest)
    cc = _context(depth, bits, batch)
    for feature in ("PKE", "KEYSWITCH", "LEVELEDSHE", "ADVANCEDSHE"):
        cc.Enable(getattr(fhe.PKESchemeFeature, feature))
    keys = cc.KeyGen()
    cc.EvalMultKeyGen(keys.secretKey)
    return cc, keys


def height(ct):
    """Level + noise-scale degree: grows by one per rescale, done or pending (FLEXIBLEAUTO)."""
    return ct.GetLevel() + ct.GetNoiseScaleDeg()


def run_check(x):
    cc, keys = make_context(slots=len(x))
    ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(encode(x))))
    out = evaluate(cc, ct)
    plain = cc.Decrypt(out, keys.secretKey)
    plain.SetLength(len(x))
    return {"outputs": plain.GetRealPackedValue()[: len(x)], "levels_used": height(out) - height(ct),
            "ring_dimension": cc.GetRingDimension(), "scale_bits": round(float(np.log2(cc.GetScalingFactorReal(0))))}
'''


def program(approx, samples: int) -> tuple[str, int]:
    """(program text, levels it uses)."""
    schedule = chebyshev_schedule(approx)
    bound = float(np.max(np.abs(approx(np.linspace(*approx.domain, 2001)))))
    cap = max_scale_bits(bound)
    if cap < MIN_SCALE_BITS:
        raise ComputationError(f"outputs up to {bound:.3g} leave less than 2^{MIN_SCALE_BITS} of scale under "
                               f"OpenFHE's {FIRST_MOD_BITS}-bit first modulus")
    constants = (f"\nFIRST_MOD_BITS = {FIRST_MOD_BITS}\nSCALE_BITS_CHOICES = {tuple(SCALE_BITS_CHOICES)!r}\n"
                 f"SCALE_BITS_CAP = {int(cap)}  # 4 * max|y| must fit under the first modulus\n")
    text = render(engine="openfhe", title="OpenFHE CKKS program", usage=USAGE, artifact=artifact_data(approx, samples),
                  schedule=schedule.to_dict(), tolerance=TOLERANCE, engine_code=constants + ENGINE_CODE)
    return text, schedule.levels
