"""Quantized fits: the exact solvers against their baselines, measured in this run.

1. L2: the certified integer least-squares search (``solver="exact"``) against GEKKO/APOPT
   (``solver="gekko"``, PILLAR's tool) on the same objective and bounds, over a subsample of
   degree 2–12, F 6–20, range 1–20, relu/tanh/gelu, plus PILLAR's degree 8, range 5, F = 12
   case under its own formulation. Prints objective ratio gekko/exact (≥ 1: exact is the
   optimum) and time ratio gekko/exact, with their medians. A GEKKO run that hits its time
   limit returns nothing; its time then counts as the limit (a lower bound of its time).
2. L∞ (``method="minimax"``: Remez float reference, lattice incumbent, HiGHS MILP exchange
   rounds, certificate): sigmoid degree 15 on [-8, 8], t = x/8, F = 8/10/12, and issue 15's
   three commands (sigmoid d31 F16, tanh d25 F14 on [-4, 4], gelu d31 F16): max error against
   Sollya fpminimax's (published/issue numbers; ``bench/bench_fpminimax.py`` runs Sollya
   itself), against rounding the float minimax and against the float minimax itself, with the
   first incumbent, the certificate (certified, or the gap to the proven lower bound) and the
   solve time.

    python bench/bench_quantized.py [--quick] [--only l2|linf] [--gekko-time-limit 15]
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import warnings

import polyfit as pf
from polyfit.errors import ComputationError
from timing import timed

# (target, degree, range, F): a deterministic subsample of the grid.
L2_CASES = [
    ("relu", 2, 1.0, 6), ("tanh", 4, 5.0, 10), ("gelu", 4, 5.0, 10), ("relu", 6, 5.0, 12),
    ("tanh", 8, 2.0, 14), ("gelu", 8, 10.0, 16), ("relu", 12, 20.0, 20), ("tanh", 12, 1.0, 20),
    ("gelu", 2, 20.0, 8), ("relu", 4, 10.0, 8),
]
QUICK_CASES = L2_CASES[:3]
PILLAR_CASE = ("relu", 8, 5.0, 12)
# (target, degree, range, F): fpminimax's error at the same size (Sollya; published / issue 15)
LINF_CASES = {("sigmoid", 15, 8.0, 8): 9.71e-4, ("sigmoid", 15, 8.0, 10): 9.14e-4, ("sigmoid", 15, 8.0, 12): 8.85e-4,
              ("sigmoid", 31, 8.0, 16): 2.14e-6, ("tanh", 25, 4.0, 14): 6.03e-5, ("gelu", 31, 8.0, 16): 4.87e-5}
QUICK_LINF = [("sigmoid", 15, 8.0, 8)]


def compare_l2(target, degree, rng, bits, *, compat=None, gekko_limit=15.0):
    exact, t_exact = timed(lambda: pf.fit(target, degree=degree, domain=rng, bits=bits, compat=compat), repeats=3)
    try:
        gekko, t_gekko = timed(lambda: pf.fit(target, degree=degree, domain=rng, bits=bits, compat=compat,
                                              solver="gekko", time_limit=gekko_limit))
        obj_ratio = gekko.provenance["objective_value"] / exact.provenance["objective_value"]
        note = ""
    except ComputationError as exc:
        t_gekko, obj_ratio, note = gekko_limit, float("nan"), f"  gekko: {str(exc)[:60]}"
    return exact, t_exact, t_gekko, obj_ratio, note


def l2_table(cases, gekko_limit, pillar_limit):
    print("L2  exact (LLL + Schnorr–Euchner) vs gekko (APOPT) on the same objective and bounds")
    print(f"{'case':<34}{'exact s':>10}{'gekko s':>10}{'time ×':>9}{'obj gekko/exact':>17}  certified")
    time_ratios, obj_ratios = [], []
    rows = [(c, None, gekko_limit) for c in cases] + [(PILLAR_CASE, "pillar", pillar_limit)]
    for (target, degree, rng, bits), compat, limit in rows:
        exact, t_exact, t_gekko, obj_ratio, note = compare_l2(target, degree, rng, bits, compat=compat, gekko_limit=limit)
        label = f"{target} d{degree} r{rng:g} F{bits}" + (" (pillar)" if compat else "")
        time_ratios.append(t_gekko / t_exact)
        if obj_ratio == obj_ratio:
            obj_ratios.append(obj_ratio)
        prefix = "≥" if note else " "
        print(f"{label:<34}{t_exact:>10.4f}{prefix}{t_gekko:>9.2f}{prefix}{t_gekko / t_exact:>8.0f}{obj_ratio:>17.4g}  "
              f"{exact.provenance['certified']}{note}")
    print(f"median time ratio gekko/exact: {statistics.median(time_ratios):.0f}x (goal ≥ 100x); "
          f"objective ratios where gekko answered: median {statistics.median(obj_ratios):.4g}, max {max(obj_ratios):.4g}")


def linf_table(cases):
    print("\nL∞  quantized minimax (float Remez → lattice incumbent → HiGHS MILP rounds) vs fpminimax, "
          "naive rounding and the float minimax")
    print(f"{'case':<22}{'max error':>12}{'fpminimax':>12}{'ratio':>8}{'naive':>12}{'float':>12}{'time s':>8}  "
          f"{'first incumbent':<34}certificate")
    for target, degree, rng, bits in cases:
        a, t = timed(lambda: pf.fit(target, degree=degree, domain=rng, bits=bits, method="minimax", input_scale=1 / rng))
        p, cert = a.provenance, a.provenance["certificate"]
        err, theirs = a.metrics["max_abs_error"], LINF_CASES[(target, degree, rng, bits)]
        state = "certified" if cert["certified"] else f"gap {cert['gap']:.1e}"
        print(f"{f'{target} d{degree} r{rng:g} F{bits}':<22}{err:>12.4e}{theirs:>12.3e}{err / theirs:>8.4f}"
              f"{p['naive_rounding_error']:>12.4e}{p['float_minimax_error'] or math.nan:>12.4e}{t:>8.2f}  "
              f"{p['first_incumbent']['kind']:<34}{state}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="three L2 cases and sigmoid d15 F = 8 only")
    parser.add_argument("--only", choices=("l2", "linf"), help="run one of the two tables")
    parser.add_argument("--gekko-time-limit", type=float, default=15.0)
    parser.add_argument("--pillar-time-limit", type=float, default=150.0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", DeprecationWarning)  # GEKKO's numpy 2 warning
    if args.only != "linf":
        l2_table(QUICK_CASES if args.quick else L2_CASES, args.gekko_time_limit, args.pillar_time_limit)
    if args.only != "l2":
        linf_table(QUICK_LINF if args.quick else list(LINF_CASES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
