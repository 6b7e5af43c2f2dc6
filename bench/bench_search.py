"""Benchmark of ``pf.search``: regret of BO vs random search at the same budget, and overhead.

Built-in objective: expected squared error of a ReLU polynomial under N(0, σ²), σ = 2,
over degrees 2..9 × range [0.5, 50] (Sisyphus's space). The optimum is found by an
exhaustive grid (``--grid`` log-spaced ranges per degree), refined per degree by a bounded
scalar minimisation in ln a around the best grid point.

Prints, for each strategy and seed: the best score, the relative regret
(best − optimum)/optimum, and the evaluation at which the search first came within 1 % of
the optimum; then the medians, BO's hit count, the ratio of median regrets (random / BO),
and BO's overhead per round (GP fit + acquisition), next to the median cost of one
evaluation (fit + objective) measured in the same run.

    python bench/bench_search.py               # 5 seeds, budget 30
    python bench/bench_search.py --seeds 2 --budget 20
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np


def exhaustive_optimum(objective, degrees, bounds, grid: int):
    """min over degrees × (log grid + bounded refinement) of objective(fit(relu, d, a))."""
    import warnings

    from scipy.optimize import minimize_scalar

    import polyfit as pf

    def score(d, log_a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = objective(pf.fit("relu", d, float(math.exp(log_a))))["score"]
        return s if math.isfinite(s) else float("inf")

    best = (float("inf"), None, None)
    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    logs = np.linspace(lo, hi, grid)
    step = logs[1] - logs[0]
    for d in degrees:
        values = np.array([score(d, la) for la in logs])
        i = int(np.argmin(values))
        res = minimize_scalar(lambda la: score(d, la), bounds=(max(lo, logs[i] - step), min(hi, logs[i] + step)),
                              method="bounded", options={"xatol": 1e-7})
        cand = min((values[i], logs[i]), (res.fun, res.x))
        if cand[0] < best[0]:
            best = (cand[0], d, math.exp(cand[1]))
    return best


def first_hit(result, optimum, tol=0.01):
    bsf = result.best_so_far()
    hits = np.nonzero(bsf <= optimum * (1 + tol))[0]
    return int(hits[0]) + 1 if hits.size else None


def main(argv=None):
    import polyfit as pf
    from polyfit.search_objectives import parse_objective

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--grid", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=2.0)
    args = ap.parse_args(argv)

    spec = f"gaussian:sigma={args.sigma:g}"
    objective = parse_objective(spec)
    degrees, bounds = list(range(2, 10)), (0.5, 50.0)
    t0 = time.perf_counter()
    opt, opt_d, opt_a = exhaustive_optimum(objective, degrees, bounds, args.grid)
    grid_s = time.perf_counter() - t0
    print(f"objective {spec}, relu, degrees 2..9, range [0.5, 50]")
    print(f"exhaustive optimum {opt:.8g} at degree {opt_d}, range {opt_a:.6g} "
          f"({len(degrees) * args.grid} grid points + refinement, {grid_s:.1f} s)")
    print(f"budget {args.budget} evaluations per run, seeds 0..{args.seeds - 1}")
    print(f"{'strategy':<8} {'seed':>4} {'best':>12} {'regret':>10} {'hit@':>5} {'time_s':>7}")
    regrets = {"bo": [], "random": []}
    hits = {"bo": [], "random": []}
    overhead, per_eval = [], []
    for strategy in ("bo", "random"):
        for seed in range(args.seeds):
            t = time.perf_counter()
            res = pf.search("relu", degrees="2-9", range_bounds=bounds, objective=objective, budget=args.budget,
                            seed=seed, strategy=strategy, progress=False)
            elapsed = time.perf_counter() - t
            regret = (res.best_score - opt) / opt
            hit = first_hit(res, opt)
            regrets[strategy].append(regret)
            hits[strategy].append(hit)
            per_eval += [e.fit_s + e.objective_s for e in res.evaluations]
            if strategy == "bo":
                overhead += [(it["model_fit_s"], it["acquisition_s"]) for it in res.iterations]
            print(f"{strategy:<8} {seed:>4} {res.best_score:>12.6g} {regret:>10.2e} {str(hit or '-'):>5} {elapsed:>7.1f}")
    med = {k: float(np.median(v)) for k, v in regrets.items()}
    n_hit = {k: sum(h is not None for h in v) for k, v in hits.items()}
    print(f"median regret: BO {med['bo']:.3e}, random {med['random']:.3e}; "
          f"ratio random/BO {med['random'] / max(med['bo'], 1e-300):.1f}x")
    print(f"within 1 % in <= {args.budget} evaluations: BO {n_hit['bo']}/{args.seeds} seeds, "
          f"random {n_hit['random']}/{args.seeds}")
    e = float(np.median(per_eval))
    fit_s = float(np.median([f for f, _ in overhead])) if overhead else float("nan")
    acq_s = float(np.median([a for _, a in overhead])) if overhead else float("nan")
    o = float(np.median([f + a for f, a in overhead])) if overhead else float("nan")
    print(f"BO overhead per round (median): GP fit {fit_s:.3f} s + acquisition {acq_s:.3f} s = {o:.3f} s; "
          f"one evaluation (fit + objective): {e * 1e3:.1f} ms; overhead/evaluation ratio {o / e:.0f}x")


if __name__ == "__main__":
    main()
