"""Composite minimax: time per α for the degree-set search, as ratios to a fixed-degree baseline.

Baseline (measured in the same run): computing the fixed composite [7, 7, 13] for sign with
ε = 2^−10 (three Remez stages, no search). For each α the full ``pf.composite(alpha=α)``
(tabulate stage maps, DP, verify candidates) is timed for sign and ReLU, and printed with its
ratio to the baseline, the degrees, depth and error. The issue asks for α = 20 under 60 s.

    python bench/bench_composite.py                 # α = 7 … 20
    python bench/bench_composite.py --alphas 7 10   # a subset
"""
from __future__ import annotations

import argparse
import math

import polyfit as pf
from timing import timed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alphas", type=float, nargs="+", default=list(range(7, 21)))
    parser.add_argument("--functions", nargs="+", default=["sign", "relu"])
    args = parser.parse_args(argv)

    _, baseline = min((timed(lambda: pf.composite(degrees=[7, 7, 13], epsilon=2.0 ** -10)) for _ in range(3)),
                      key=lambda r: r[1])
    print(f"baseline: fixed composite [7, 7, 13] (sign, eps 2^-10): {baseline:.3f} s")
    print(f"{'function':<8} {'alpha':>5} {'time s':>8} {'ratio':>7}  {'depth':>5} {'ct×ct':>5} {'log2 err':>8}  degrees")
    slowest = 0.0
    for function in args.functions:
        for alpha in args.alphas:
            a, seconds = timed(lambda: pf.composite(alpha=alpha, function=function))
            err = a.provenance["relu_error"] if function == "relu" else a.provenance["sign_error"]
            slowest = max(slowest, seconds)
            print(f"{function:<8} {alpha:>5g} {seconds:>8.2f} {seconds / baseline:>7.1f}  {a.depth['ckks_levels']:>5} "
                  f"{a.depth['ct_ct_multiplications']:>5} {math.log2(err):>8.2f}  {a.degrees}")
    print(f"slowest: {slowest:.1f} s ({slowest / baseline:.0f}× baseline); target for alpha 20: < 60 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
