"""Verification bench: plan products vs Paterson–Stockmeyer, CKKS time per evaluation vs degree.

Three tables, every ratio against a baseline measured in this run:

1. ciphertext products of polyfit's plan (at the optimal depth ⌈log2(d+1)⌉) against plain
   recursive halving (the first plan of this project) and against the classical
   Paterson–Stockmeyer count min_k (k − 1) + ⌈(d+1)/k⌉ − 1 (which ignores depth);
2. TenSEAL: levels that ``CKKSVector.polyval`` needs (shortest chain on which it succeeds;
   the depth report's ``backends.tenseal``), our plan's levels, and the time of one encrypted
   evaluation of our plan against ``polyval`` on the same context (ratio ours/polyval);
3. ``pf.verify`` on gelu fits of degree 1 … 31 on [−8, 8]: levels used, whether the run at one
   level fewer fails, max |CKKS − artifact| and seconds per encrypted evaluation;
4. the same on every composite preset (polyfit.presets).

    python bench/bench_verify.py [--quick]
"""
from __future__ import annotations

import math
import sys
import time
import warnings

import numpy as np

import polyfit as pf
from polyfit.backends import ckks
from polyfit.depth import optimal_levels
from polyfit.plan import stage_plan
from polyfit.verification import verify


def paterson_stockmeyer(d: int) -> int:
    """Classical PS non-scalar products for degree d (no depth constraint)."""
    if d < 2:
        return 0
    return min((k - 1) + math.ceil((d + 1) / k) - 1 for k in range(1, d + 2))


def products_table(degrees):
    print("1. ciphertext products at optimal depth (random coefficients)")
    print(f"{'d':>4} {'depth':>5} {'polyfit':>8} {'halving':>8} {'PS':>4} {'halving/polyfit':>16} {'polyfit/PS':>11}")
    for d in degrees:
        c = np.random.default_rng(d).normal(size=d + 1)
        ours, halving = stage_plan(c), stage_plan(c, baby_steps=2)
        ps = paterson_stockmeyer(d)
        assert ours.depth == optimal_levels(d)
        print(f"{d:>4} {ours.depth:>5} {ours.ct_ct_multiplications:>8} {halving.ct_ct_multiplications:>8} {ps:>4} "
              f"{halving.ct_ct_multiplications / max(ours.ct_ct_multiplications, 1):>16.2f} "
              f"{ours.ct_ct_multiplications / max(ps, 1):>11.2f}")


def polyval_levels(coefficients, x, max_levels=8):
    ts = ckks.require_tenseal()
    for levels in range(1, max_levels + 1):
        ctx = ckks.make_context(ckks.choose_parameters(levels, slots=len(x)))
        try:
            ts.ckks_vector(ctx, x.tolist()).polyval(list(coefficients))
            return levels
        except ValueError:
            continue
    return None


def tenseal_table(degrees):
    ts = ckks.require_tenseal()
    print("\n2. TenSEAL polyval vs polyfit's plan (u in [-1, 1], 256 slots)")
    print(f"{'d':>4} {'polyval L':>9} {'plan L':>6} {'polyval s':>10} {'plan s':>8} {'plan/polyval':>13}")
    x = np.linspace(-1, 1, 256)
    for d in degrees:
        c = np.random.default_rng(d).normal(size=d + 1) / (d + 1)
        plan = stage_plan(c)
        measured = polyval_levels(c, x)
        ctx = ckks.make_context(ckks.choose_parameters(plan.depth, slots=len(x)))
        enc = ts.ckks_vector(ctx, x.tolist())
        start = time.perf_counter()
        enc.polyval(list(c))
        polyval_s = time.perf_counter() - start
        run = ckks.run_plan(plan, x, plan.depth)
        print(f"{d:>4} {measured!s:>9} {plan.depth:>6} {polyval_s:>10.3f} {run.seconds:>8.3f} {run.seconds / polyval_s:>13.2f}")


def verify_table(degrees):
    print("\n3. pf.verify on gelu fits on [-8, 8] (scale 2^40, 128 samples)")
    print(f"{'d':>4} {'levels':>6} {'used':>5} {'L-1 fails':>9} {'|ckks-artifact|':>16} {'s/eval':>7} {'N':>6} {'basis':>10}")
    for d in degrees:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            a = pf.fit("gelu", degree=d, domain=8)
        r = verify(a, samples=128)
        tight = next((c.ok for c in r.claims if c.name.startswith("fails at")), None)
        n = r.details.get("parameters", {}).get("poly_modulus_degree")
        print(f"{d:>4} {a.depth['ckks_levels']:>6} {r.levels_used!s:>5} {tight!s:>9} {r.max_error_vs_artifact:>16.2e} "
              f"{r.details.get('seconds_per_evaluation', float('nan')):>7.3f} {n!s:>6} {r.details.get('plan_basis')!s:>10}")


def presets_table():
    from polyfit.presets import preset_names

    print("\n4. pf.verify on the composite presets (sign; lee-* also as ReLU)")
    print(f"{'preset':>16} {'combine':>7} {'degrees':>12} {'levels':>6} {'used':>4} {'ok':>5} {'|ckks-artifact|':>16} {'s/eval':>7} {'N':>6}")
    for name in preset_names():
        for function in (("sign", "relu") if name.startswith("lee") else ("sign",)):
            a = pf.composite(preset=name, function=function)
            r = verify(a, samples=64)
            print(f"{name:>16} {a.combine:>7} {str(a.degrees):>12} {a.depth['ckks_levels']:>6} {r.levels_used!s:>4} "
                  f"{r.ok!s:>5} {r.max_error_vs_artifact:>16.2e} {r.details.get('seconds_per_evaluation', float('nan')):>7.2f} "
                  f"{r.details.get('parameters', {}).get('poly_modulus_degree')!s:>6}")


def main(argv):
    quick = "--quick" in argv
    products_table([3, 7, 15, 31, 63] if quick else [3, 5, 7, 8, 15, 16, 31, 32, 63, 64, 127, 255])
    tenseal_table([1, 2, 3, 4, 7, 8, 15] if quick else [1, 2, 3, 4, 5, 7, 8, 15, 16, 31])
    verify_table([1, 4, 7, 15] if quick else list(range(1, 32)))
    presets_table()


if __name__ == "__main__":
    main(sys.argv[1:])
