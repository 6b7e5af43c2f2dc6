"""`polyfit export --to crypten`: polyfit's plan on CrypTen's secret-shared fixed point.

The schedule is the one the TenSEAL program runs (:mod:`polyfit.export.tenseal_program`):
input u = x / max|x|, later stages read inputs scaled into [−1, 1], Chebyshev basis — every
intermediate stays within a few units, far from CrypTen's 64-bit ring at 16 fractional bits.
Ops map to CrypTen: a product of two shared values is one Beaver multiplication (one round,
then a truncation); a product by a non-integer public constant is local (a truncation); by an
integer it is exact (CrypTen multiplies the shares, no truncation); additions are local. The
self-check runs two parties (``crypten.mpc.run_multiprocess``, CrypTen's trusted-first-party
Beaver triples) and reports CrypTen's own communication counters.
"""
from __future__ import annotations

from .common import artifact_data, render
from .tenseal_program import schedule_data

FRAC_BITS = 16  # CrypTen's default encoder precision
PARTIES = 2

USAGE = '''    crypten.init()
    y_enc = evaluate(crypten.cryptensor(torch.tensor(encode(x))))   # y = y_enc.get_plain_text()
(encode is x / max|x|: fold it into the layer before.)'''

ENGINE_CODE = '''

def encode(x):
    """The value to secret-share: u = x * input_multiplier (= x / max|x| over the domain)."""
    return SCHEDULE["input_multiplier"] * np.asarray(x, dtype=float)


def evaluate(u):
    """y from u = crypten.cryptensor(encode(x)): the plan's operations on secret shares."""
    regs = {0: u}
    for kind, out, a, b, const in SCHEDULE["ops"]:
        x = regs[a]
        if kind == "mul":
            regs[out] = x * regs[b]                     # Beaver product, one round
        elif kind == "add":
            regs[out] = x + regs[b]
        elif kind == "mul_const":                       # public constant: local
            regs[out] = x * int(const) if float(const).is_integer() else x * float(const)
        else:
            regs[out] = x + float(const)
    return regs[SCHEDULE["output"]]


def _party(values):
    import crypten
    import crypten.communicator as comm
    import torch

    crypten.cfg.communicator.verbose = True
    u = crypten.cryptensor(torch.tensor(encode(values), dtype=torch.float64), src=0)
    comm.get().reset_communication_stats()
    y = evaluate(u)
    stats = comm.get().get_communication_stats()
    return y.get_plain_text().double().tolist(), int(stats["rounds"]), int(stats["bytes"])


def run_check(x):
    import crypten.mpc

    results = crypten.mpc.run_multiprocess(world_size=PARTIES)(_party)(list(map(float, x)))
    outputs, rounds, nbytes = results[0]
    return {"outputs": outputs, "levels_used": None, "parties": PARTIES, "frac_bits": FRAC_BITS,
            "rounds": rounds, "bytes_per_party": nbytes}
'''


def program(approx, samples: int) -> tuple[str, None]:
    """(program text, None: MPC has rounds, not levels)."""
    schedule = schedule_data(approx)
    # one unit 2^-16 per rounding step (encoding, each truncated product), as verify's fixed point
    steps = 1 + sum(1 for kind, _, _, _, c in schedule["ops"]
                    if kind == "mul" or (kind in ("mul_const", "add_const") and not float(c).is_integer()))
    constants = f"\nPARTIES = {PARTIES}\nFRAC_BITS = {FRAC_BITS}\n"
    text = render(engine="crypten", title="CrypTen MPC program", usage=USAGE, artifact=artifact_data(approx, samples),
                  schedule=schedule, tolerance=steps * 2.0 ** -FRAC_BITS, engine_code=constants + ENGINE_CODE)
    return text, None
