"""MPC schedules under real CrypTen (2 parties): polyfit's schedule vs CrypTen's polynomial() vs Horner.

For GELU fits of degree 2–12 on [-4, 4] (quantized at F bits) and F = 8, 12, 16: max error vs the
artifact, rounds and bytes per party (CrypTen's communicator) and time, each printed as a ratio
to CrypTen's polynomial() measured in the same run; the simulation's error alongside.
Needs CrypTen (docs/deploy.md). Run: python bench/bench_mpc.py [--quick]
"""
from __future__ import annotations

import sys
import warnings

import numpy as np

import polyfit as pf
from polyfit import mpc_schedule as ms
from polyfit.backends import crypten as backend
from polyfit.mpc_simulation import simulate
from polyfit.plan import plan_coefficients


def _ratio(a, b) -> str:
    return f"{a / b:.3g}" if b else "n/a"


def main(quick: bool = False) -> None:
    degrees = (2, 4, 8) if quick else (2, 4, 6, 8, 10, 12)
    x = np.linspace(-4, 4, 1025)
    print("d   F  | polyfit schedule        | err ratio  rounds ratio  bytes ratio  time ratio | Horner err ratio rounds"
          " | polynomial() err   sim err")
    for F in (8, 12, 16):
        fits = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for d in degrees:
                fits.append(pf.fit("gelu", degree=d, domain=4, bits=F))
        programs = []
        for a in fits:
            chosen, _ = ms.choose(a, F)
            stages, ends = plan_coefficients(a)
            programs += [{"schedule": chosen}, {"polynomial": stages, "ends_with_input": ends},
                         {"schedule": ms.build(a, "horner", F)}]
        results = backend.run(programs, [x], F)
        for k, (d, a) in enumerate(zip(degrees, fits)):
            ours, poly, horner = results[3 * k: 3 * k + 3]
            err = [float(np.max(np.abs(r["outputs"] - a(x)))) for r in (ours, poly, horner)]
            sim = simulate(programs[3 * k]["schedule"], x)
            sim_err = float(np.max(np.abs(sim.outputs - a(x))[~sim.failed]))
            r = [max(v["rounds_per_party"]) for v in (ours, poly, horner)]
            b = [max(v["bytes_per_party"]) for v in (ours, poly, horner)]
            t = [v["seconds"] for v in (ours, poly, horner)]
            print(f"{d:<3} {F:<2} | {programs[3 * k]['schedule'].name:<11} r={r[0]:<2} b={b[0]:<7}| "
                  f"{_ratio(err[0], err[1]):>9}  {_ratio(r[0], r[1]):>12}  {_ratio(b[0], b[1]):>11}  "
                  f"{_ratio(t[0], t[1]):>10} | {_ratio(err[2], err[1]):>14} {r[2]:>6} | {err[1]:16.3e}  {sim_err:8.2e}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
