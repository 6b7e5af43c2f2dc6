"""`polyfit export --to crypten`: the artifact's MPC schedule on CrypTen's secret shares.

``SCHEDULE`` is the fixed-point schedule :func:`polyfit.backends.fixed_point.schedule_for`
picks at CrypTen's default F = 16 (the artifact's ``precision.mpc_schedule`` when it was chosen
for F = 16): ``mul``/``square`` (one Beaver product, truncated by 2^(F + shift)) and ``lin``
(Σ integer weights · registers + an integer constant, truncated by 2^shift), grouped into
``steps`` — one batched Beaver round, or a batch of local ops — exactly as
:func:`polyfit.backends.crypten.run_schedule_on` executes them. The program carries that
executor (CrypTen 0.4.1's provider and ``reveal_batch``), the torch 2.13 onnx alias CrypTen
needs to import, and decodes with ``reveal() / 2^F`` (``get_plain_text`` misdecodes some
negatives). Its self-check runs two parties and reports CrypTen's communicator counters.
"""
from __future__ import annotations

from .common import artifact_data, render

FRAC_BITS = 16  # CrypTen's default encoder precision
PARTIES = 2

USAGE = '''    crypten = import_crypten()       # with the torch 2.13 onnx alias
    x_enc = crypten.cryptensor(torch.tensor(x), precision=FRAC_BITS)
    y_enc = evaluate(x_enc)          # y = decode(y_enc)'''

ENGINE_CODE = '''

def import_crypten():
    """Import crypten; on torch >= 2.13 alias the onnx module crypten 0.4.1 imports by its old name."""
    import importlib

    old, new = "torch.onnx._internal.registration", "torch.onnx._internal.torchscript_exporter.registration"
    try:
        importlib.import_module(old)
    except ModuleNotFoundError:
        sys.modules[old] = importlib.import_module(new)
    import crypten

    return crypten


def _truncate(value, bits):
    from crypten.encoder import FixedPointEncoder

    value.encoder = FixedPointEncoder(precision_bits=FRAC_BITS)
    if bits > 0:
        value = value.div(1 << bits)
        value.encoder = FixedPointEncoder(precision_bits=FRAC_BITS)
    return value


def _beaver_round(regs, ops):
    """Every product of one round through one reveal_batch; products sharing their right
    operand are one broadcast Beaver product (as CrypTen's polynomial() does)."""
    import crypten
    import torch
    from crypten.mpc.primitives import ArithmeticSharedTensor as AST
    from crypten.mpc.primitives.beaver import IgnoreEncodings

    provider = crypten.mpc.get_default_provider()
    groups, masked, pending = {}, [], []
    for op in ops:
        if op[0] == "mul":
            groups.setdefault(op[2][1], []).append(op)
    for right_reg, group in groups.items():
        left = AST.stack([regs[op[2][0]] for op in group])
        right = regs[right_reg].unsqueeze(0)
        a, b, c = provider.generate_additive_triple(left.size(), right.size(), "mul", device=left.device)
        with IgnoreEncodings([a, b, left, right]):
            masked += [left - a, right - b]
        pending.append(("mul", group, a, b, c))
    for op in (op for op in ops if op[0] == "square"):
        x = regs[op[2][0]]
        r, r2 = provider.square(x.size(), device=x.device)
        with IgnoreEncodings([x, r]):
            masked.append(x - r)
        pending.append(("square", [op], r, r2, None))
    opened = AST.reveal_batch(masked)
    k = 0
    for kind, group, a, b, c in pending:
        if kind == "mul":
            eps, delta = opened[k], opened[k + 1]
            k += 2
            c._tensor += torch.mul(eps, b._tensor) + torch.mul(a._tensor, delta)
            c += torch.mul(eps, delta)
            for i, op in enumerate(group):
                regs[op[1]] = _truncate(c[i], FRAC_BITS + op[3])
        else:
            eps = opened[k]
            k += 1
            regs[group[0][1]] = _truncate(b + 2 * a * eps + eps * eps, FRAC_BITS + group[0][3])


def _local(regs, op, like):
    from crypten.encoder import FixedPointEncoder

    kind, out_reg, args, shift, weights, const = op
    out = like.clone()
    out.share = out.share * 0
    for r, w in zip(args, weights):
        out.share = out.share + regs[r].share * int(w)
    if const and out.rank == 0:
        out.share = out.share + int(const)
    out.encoder = FixedPointEncoder(precision_bits=FRAC_BITS)
    return _truncate(out, shift)


def evaluate(x_enc):
    """y_enc from x_enc = crypten.cryptensor(x, precision=FRAC_BITS): the schedule, round by round."""
    ops = SCHEDULE["ops"]
    regs = {0: x_enc._tensor}
    for kind, indices in SCHEDULE["steps"]:
        if kind == "beaver":
            _beaver_round(regs, [ops[i] for i in indices])
        else:
            for i in indices:
                regs[ops[i][1]] = _local(regs, ops[i], x_enc._tensor)
    out = x_enc.shallow_copy()
    out._tensor = regs[SCHEDULE["output"]]
    return out


def decode(y_enc):
    """Plaintext of a result: reveal() / 2^F (CrypTen 0.4.1's get_plain_text misdecodes some negatives)."""
    return y_enc._tensor.reveal().double().numpy() / 2.0 ** FRAC_BITS


def _party(values):
    import crypten.communicator as comm
    import torch

    crypten = import_crypten()
    torch.set_num_threads(1)
    x_enc = crypten.cryptensor(torch.tensor(values, dtype=torch.float64), precision=FRAC_BITS, src=0)
    comm.get().reset_communication_stats()
    y = evaluate(x_enc)
    stats = comm.get().get_communication_stats()
    return decode(y).tolist(), int(stats["rounds"]), int(stats["bytes"])


def run_check(x):
    crypten = import_crypten()
    crypten.cfg.communicator.verbose = True
    crypten.cfg.encoder.precision_bits = FRAC_BITS
    results = crypten.mpc.run_multiprocess(world_size=PARTIES)(_party)([float(v) for v in x])
    outputs, rounds, nbytes = results[0]
    return {"outputs": outputs, "levels_used": None, "parties": PARTIES, "frac_bits": FRAC_BITS,
            "schedule": SCHEDULE["name"], "rounds": rounds, "rounds_claimed": SCHEDULE["rounds_2party"],
            "bytes_per_party": nbytes}
'''


def schedule_data(approx) -> dict:
    """The MPC schedule at F = 16 as plain data (module docstring)."""
    from ..backends.fixed_point import schedule_for

    schedule = schedule_for(approx, FRAC_BITS)
    index = {id(op): i for i, op in enumerate(schedule.ops)}
    return {"name": schedule.name, "frac_bits": FRAC_BITS, "output": int(schedule.output),
            "rounds_2party": int(schedule.rounds(2)),
            "ops": [[op.kind, int(op.out), [int(a) for a in op.args], int(op.shift), [int(w) for w in op.weights],
                     int(op.const)] for op in schedule.ops],
            "steps": [[kind, [index[id(op)] for op in ops]] for kind, ops in schedule.steps()]}


def tolerance(schedule: dict) -> float:
    """One unit 2^-F per rounding step (input encoding, each truncation), as verify's fixed point."""
    steps = 1 + sum(1 for op in schedule["ops"] if op[0] in ("mul", "square") or op[3] > 0)
    return steps * 2.0 ** -FRAC_BITS


def program(approx, samples: int) -> tuple[str, None]:
    """(program text, None: MPC has rounds, not levels)."""
    schedule = schedule_data(approx)
    constants = f"\nPARTIES = {PARTIES}\nFRAC_BITS = {FRAC_BITS}\n"
    text = render(engine="crypten", title="CrypTen MPC program", usage=USAGE, artifact=artifact_data(approx, samples),
                  schedule=schedule, tolerance=tolerance(schedule), engine_code=constants + ENGINE_CODE)
    return text, None


def predicted_miss(approx, samples: int) -> str | None:
    """A note when polyfit's own simulation of the program's schedule (CrypTen's truncating
    encoding and share truncation, :mod:`polyfit.mpc_simulation`) on the program's sample inputs
    already exceeds the program's tolerance: its self-check is then expected to fail (a
    Chebyshev tanh of degree 48 on [−8, 8] errs by ~1e8 at F = 16). None when it does not."""
    import numpy as np

    from ..backends.fixed_point import run_schedule, schedule_for
    from ..claims import sample_inputs

    x = sample_inputs(approx, samples)
    run = run_schedule(approx, x, FRAC_BITS, 64, schedule_for(approx, FRAC_BITS), seed=1)
    keep = ~run.failed
    with np.errstate(all="ignore"):
        error = float(np.max(np.abs(run.outputs[keep] - approx(x)[keep]))) if keep.any() else float("inf")
    limit = tolerance(schedule_data(approx))
    failed = int(run.failed.sum())
    if error <= limit and not failed:
        return None
    return (f"polyfit's simulation of this schedule at F = {FRAC_BITS} errs by {error:.3g} on the program's "
            f"{len(x)} samples ({failed} failed elements), above its tolerance {limit:.3g}: its self-check "
            f"is expected to fail (`polyfit verify --backend fixed-point --frac-bits F` compares other F)")
