"""CrypTen backend: run an artifact's MPC schedule on secret-shared inputs (extra: crypten).

- :func:`evaluate` ``(x_enc, approximation)``: inside a user's CrypTen program, evaluate the
  artifact on an ``MPCTensor`` with the schedule of :mod:`polyfit.mpc_schedule` chosen for the
  tensor's precision F. Products of one round are one batched Beaver step (CrypTen's own
  provider and ``reveal_batch``), sharing the right operand as ``polynomial()`` does.
- :func:`run`: a measured run in real CrypTen processes (``crypten.mpc.run_multiprocess``,
  gloo on this machine), started from a fresh Python process so that no thread pool of the
  caller is forked. Returns the revealed outputs (decoded as ``reveal() / 2^F``: CrypTen 0.4.1's
  ``get_plain_text`` misdecodes some negatives), rounds and bytes per party from CrypTen's
  communicator, and the wall time.

Install (torch 2.13): ``pip install --no-deps crypten==0.4.1`` plus ``omegaconf pyyaml onnx``
(docs/deploy.md). crypten 0.4.1 imports ``torch.onnx._internal.registration``, which torch
2.13 moved to ``torch.onnx._internal.torchscript_exporter.registration``: :func:`require_crypten`
aliases the old name to the new module before importing crypten.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from ..errors import MissingExtraError

MOVED_MODULE = "torch.onnx._internal.registration"
NEW_HOME = "torch.onnx._internal.torchscript_exporter.registration"
INSTALL_HINT = "pip install --no-deps crypten==0.4.1 && pip install omegaconf pyyaml onnx"


def alias_moved_onnx_registration() -> bool:
    """Make ``import torch.onnx._internal.registration`` work on torch ≥ 2.13; True if aliased."""
    try:
        importlib.import_module(MOVED_MODULE)
        return False
    except ModuleNotFoundError:
        sys.modules[MOVED_MODULE] = importlib.import_module(NEW_HOME)
        return True


def check_installed() -> None:
    """Raise MissingExtraError unless crypten is installed; imports nothing (the measured run
    imports it in its own processes, so the caller's ``sys.modules`` is left as it was)."""
    import importlib.util

    if importlib.util.find_spec("crypten") is None or importlib.util.find_spec("omegaconf") is None:
        raise MissingExtraError(f"the crypten backend needs CrypTen 0.4.1; install: {INSTALL_HINT}")


def require_crypten():
    """Import crypten (with the torch 2.13 alias) or raise MissingExtraError naming the install.

    For a user's own CrypTen program (and the worker processes of :func:`run`)."""
    try:
        alias_moved_onnx_registration()
        import crypten  # noqa: F401
    except ImportError as exc:
        raise MissingExtraError(f"the crypten backend needs CrypTen 0.4.1 ({exc}); install: {INSTALL_HINT}") from None
    return crypten


def _beaver_step(regs: dict, ops, frac_bits: int):
    """One round: every product of ``ops`` through one reveal_batch (CrypTen's Beaver protocol)."""
    import crypten
    import torch
    from crypten.mpc.primitives import ArithmeticSharedTensor as AST
    from crypten.mpc.primitives.beaver import IgnoreEncodings

    provider = crypten.mpc.get_default_provider()
    groups: dict[int, list] = {}
    for op in ops:
        if op.kind == "mul":
            groups.setdefault(op.args[1], []).append(op)
    squares = [op for op in ops if op.kind == "square"]
    masked, pending = [], []
    for b_reg, group in groups.items():
        left = AST.stack([regs[op.args[0]] for op in group])
        right = regs[b_reg].unsqueeze(0)
        a, b, c = provider.generate_additive_triple(left.size(), right.size(), "mul", device=left.device)
        with IgnoreEncodings([a, b, left, right]):
            masked += [left - a, right - b]
        pending.append(("mul", group, a, b, c))
    for op in squares:
        x = regs[op.args[0]]
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
                regs[op.out] = _truncate(c[i], frac_bits + op.shift, frac_bits)
        else:
            eps = opened[k]
            k += 1
            z = b + 2 * a * eps + eps * eps  # r² + 2εr + ε²
            regs[group[0].out] = _truncate(z, frac_bits + group[0].shift, frac_bits)


def _truncate(value, bits: int, frac_bits: int):
    """Divide the raw shares by 2^bits (local in 2-party CrypTen, a protocol with more parties)."""
    from crypten.encoder import FixedPointEncoder

    value.encoder = FixedPointEncoder(precision_bits=frac_bits)
    if bits > 0:
        value = value.div(1 << bits)
        value.encoder = FixedPointEncoder(precision_bits=frac_bits)
    return value


def _local(regs: dict, op, like, frac_bits: int):
    from crypten.encoder import FixedPointEncoder

    out = like.clone()
    out.share = out.share * 0
    for r, w in zip(op.args, op.weights):
        out.share = out.share + regs[r].share * int(w)
    if op.const and out.rank == 0:
        out.share = out.share + int(op.const)
    out.encoder = FixedPointEncoder(precision_bits=frac_bits)
    return _truncate(out, op.shift, frac_bits)


def run_schedule_on(x_tensor, schedule):
    """Execute ``schedule`` on an ArithmeticSharedTensor (encoded at 2^F); returns the result's AST."""
    regs = {0: x_tensor}
    for kind, ops in schedule.steps():
        if kind == "beaver":
            _beaver_step(regs, ops, schedule.frac_bits)
        else:
            for op in ops:
                regs[op.out] = _local(regs, op, x_tensor, schedule.frac_bits)
    return regs[schedule.output]


def evaluate(x_enc, approximation, schedule=None):
    """The artifact on an ``MPCTensor`` (call inside a CrypTen program); returns an MPCTensor.

    The schedule is the artifact's ``precision.mpc_schedule`` when it was chosen for the
    tensor's precision F, else chosen for F now.
    """
    from .fixed_point import schedule_for

    frac_bits = int(x_enc._tensor.encoder._precision_bits)
    if schedule is None:
        schedule = schedule_for(approximation, frac_bits)
    out = x_enc.shallow_copy()
    out._tensor = run_schedule_on(x_enc._tensor, schedule)
    return out


WORKER = "polyfit.backends._crypten_worker"


def run(programs: list[dict], inputs: list, frac_bits: int, parties: int = 2, timeout: float = 600.0) -> list[dict]:
    """Run each program on each input set in real CrypTen processes (module docstring).

    ``programs``: ``{"schedule": Schedule}`` or ``{"polynomial": [stage coefficients],
    "ends_with_input": bool}`` (CrypTen's own ``polynomial()`` per stage). Returns one dict per
    (program, input set): ``outputs`` (decoded), ``rounds``/``bytes`` per party, ``seconds``.
    """
    check_installed()
    with tempfile.TemporaryDirectory(prefix="polyfit-crypten-") as folder:
        job = {"frac_bits": int(frac_bits), "parties": int(parties), "inputs": [], "programs": []}
        for i, xs in enumerate(inputs):
            path = os.path.join(folder, f"x{i}.npy")
            np.save(path, np.asarray(xs, dtype=float))
            job["inputs"].append(path)
        for p in programs:
            if "schedule" in p:
                s = p["schedule"]
                job["programs"].append({"ops": [[o.kind, o.out, list(o.args), o.shift, list(o.weights), o.const]
                                                for o in s.ops], "output": s.output})
            else:
                job["programs"].append({"polynomial": [list(map(float, c)) for c in p["polynomial"]],
                                        "ends_with_input": bool(p.get("ends_with_input"))})
        job_path = os.path.join(folder, "job.json")
        with open(job_path, "w") as f:
            json.dump({**job, "folder": folder}, f)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run([sys.executable, "-m", WORKER, job_path], capture_output=True, text=True,
                              timeout=timeout, env=env)
        result_path = os.path.join(folder, "result.json")
        if done.returncode != 0 or not os.path.exists(result_path):
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise RuntimeError("CrypTen run failed: " + " | ".join(tail))
        with open(result_path) as f:
            results = json.load(f)
        for r in results:
            r["outputs"] = np.load(r.pop("outputs_path"), allow_pickle=False).astype(float) / 2.0 ** frac_bits
    return results
