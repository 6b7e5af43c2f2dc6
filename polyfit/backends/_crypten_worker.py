"""``python -m polyfit.backends._crypten_worker JOB.json``: the CrypTen processes of a measured run.

Started by :func:`polyfit.backends.crypten.run` in a fresh interpreter; forks the parties with
``crypten.mpc.run_multiprocess`` and writes ``result.json`` (and one .npy of revealed integers
per run) into the job's folder. Party 0 writes; every party reports its own communicator stats.
"""
from __future__ import annotations

import json
import os
import sys
import time


def _program_runner(program, frac_bits):
    from polyfit.mpc_schedule import MpcOp, Schedule

    if "ops" in program:
        ops = tuple(MpcOp(k, out, tuple(args), shift, tuple(w), const) for k, out, args, shift, w, const in program["ops"])
        schedule = Schedule("job", frac_bits, ops, program["output"])

        def run_schedule(x_enc):
            from polyfit.backends.crypten import run_schedule_on

            out = x_enc.shallow_copy()
            out._tensor = run_schedule_on(x_enc._tensor, schedule)
            return out
        return run_schedule

    def run_polynomial(x_enc):  # CrypTen's own polynomial(), stage after stage
        t = x_enc
        for coefs in program["polynomial"]:
            t = t.polynomial(list(coefs[1:])) + float(coefs[0]) if len(coefs) > 1 else t * 0 + float(coefs[0])
        return x_enc * t if program["ends_with_input"] else t
    return run_polynomial


def main(job_path: str) -> int:
    from polyfit.backends.crypten import require_crypten

    crypten = require_crypten()
    import numpy as np
    import torch
    import crypten.communicator as comm
    import crypten.mpc as mpc

    with open(job_path) as f:
        job = json.load(f)
    frac_bits, folder = int(job["frac_bits"]), job["folder"]
    crypten.cfg.communicator.verbose = True
    crypten.cfg.encoder.precision_bits = frac_bits

    @mpc.run_multiprocess(world_size=int(job["parties"]))
    def parties():
        torch.set_num_threads(1)
        rank = comm.get().get_rank()
        runs = []
        for p_index, program in enumerate(job["programs"]):
            runner = _program_runner(program, frac_bits)
            for i_index, path in enumerate(job["inputs"]):
                x = torch.from_numpy(np.load(path, allow_pickle=False)).double()
                x_enc = crypten.cryptensor(x, precision=frac_bits, src=0)
                comm.get().reset_communication_stats()
                start = time.perf_counter()
                y = runner(x_enc)
                seconds = time.perf_counter() - start
                stats = comm.get().get_communication_stats()
                revealed = y._tensor.reveal()  # decode as reveal() / 2^F (not get_plain_text)
                out_path = os.path.join(folder, f"y{p_index}_{i_index}.npy")
                if rank == 0:
                    np.save(out_path, revealed.numpy())
                runs.append({"program": p_index, "input": i_index, "rounds": int(stats["rounds"]),
                             "bytes": int(stats["bytes"]), "seconds": seconds, "outputs_path": out_path})
        return runs

    per_party = parties()
    if per_party is None:
        return 1
    results = []
    for k, first in enumerate(per_party[0]):
        entry = dict(first)
        entry["rounds_per_party"] = [runs[k]["rounds"] for runs in per_party]
        entry["bytes_per_party"] = [runs[k]["bytes"] for runs in per_party]
        entry["seconds"] = max(runs[k]["seconds"] for runs in per_party)
        results.append(entry)
    with open(os.path.join(folder, "result.json"), "w") as f:
        json.dump(results, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
