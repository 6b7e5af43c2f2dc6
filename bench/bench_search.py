"""Benchmark of ``pf.search`` on a battery of objectives with narrow near-optimal windows.

For each case the exhaustive optimum is computed from the project's own objective: every
requested degree (twins included) × ``--grid`` log-spaced ranges, then a bounded 1-D
refinement in ln a around each degree's best grid point. Then, with the same budget and
seeds, BO (``strategy="bo"``: global BO + golden-section refinement) and random search.
Printed per case and seed: the regret (best − optimum)/optimum and the evaluation count at
which the run first came within 1 %; per case: BO's median regret, its within-1 % count,
random search's median regret, the median wall time of a BO run and where it went (fits,
objective, GP fit, acquisition), the median BO overhead per round, and the overhead of the
previous proposal method (``optimize_acqf_mixed`` + qLogNEI, 4 restarts × 64 raw samples)
replayed on the same history in the same run (a ratio: the machine is shared and noisy).

    python bench/bench_search.py                      # the whole battery, 5 seeds, budget 30
    python bench/bench_search.py --cases silu-uniform --seeds 2
"""
from __future__ import annotations

import argparse
import math
import os
import time
import warnings

import numpy as np

#: name: (target, objective spec, degrees, range bounds, what makes the window narrow)
CASES = {
    "silu-uniform": ("silu", "uniform:a=6", "2-9", (0.5, 50.0), "support edge: a* sits on the cliff at a = 6"),
    "gelu-gauss-mae": ("gelu", "gaussian:sigma=3,error=mae", "2-12", (0.5, 50.0), "MAE, Gaussian tails, degree 12"),
    "relu-gauss-deep": ("relu", "gaussian:sigma=1.5", "3,7,15,31", (0.5, 50.0), "degree 31 under a Gaussian"),
    "relu-gauss": ("relu", "gaussian:sigma=2", "2-9", (0.5, 50.0), "Sisyphus's space (the earlier bench)"),
    "relu-uniform-mae": ("relu", "uniform:a=4,error=mae", "2-9", (0.5, 50.0), "support edge and MAE"),
    "tanh-gauss-deep": ("tanh", "gaussian:sigma=2", "3,7,15,31", (0.5, 50.0), "odd target, degree 31"),
    "sigmoid-uniform": ("sigmoid", "uniform:a=8", "3-13", (0.5, 50.0), "support edge, odd part; twins 2k+1/2k+2"),
    "gelu-depth": ("gelu", "gaussian:sigma=1,depth_penalty=3e-4", "2-12", (0.5, 50.0),
                   "depth penalty: degree 6 (3 levels) and 12 (4 levels) within 1.8 %"),
}
#: Cases outside the goal's categories (support edge, high-degree Gaussian, MAE): printed,
#: not counted in the goal line. gelu-depth is a near-tie between degrees.
EXTRA = {"gelu-depth"}


def exhaustive(target, objective, degrees, bounds, grid):
    """{degree: (score, a)}: min over a log grid of ranges, refined by bounded Brent in ln a."""
    from scipy.optimize import minimize_scalar

    import polyfit as pf

    def score(d, log_a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            s = objective(pf.fit(target, d, float(math.exp(log_a))))["score"]
        return s if math.isfinite(s) else float("inf")

    lo, hi = math.log(bounds[0]), math.log(bounds[1])
    logs = np.linspace(lo, hi, grid)
    step = logs[1] - logs[0]
    out = {}
    for d in degrees:
        values = np.array([score(d, la) for la in logs])
        i = int(np.argmin(values))
        res = minimize_scalar(lambda la: score(d, la), bounds=(max(lo, logs[i] - step), min(hi, logs[i] + step)),
                              method="bounded", options={"xatol": 1e-7})
        best = min((values[i], logs[i]), (float(res.fun), float(res.x)))
        out[d] = (float(best[0]), float(math.exp(best[1])))
    return out


def first_hit(result, optimum, tol=0.01):
    hits = np.nonzero(result.best_so_far() <= optimum * (1 + tol))[0]
    return int(hits[0]) + 1 if hits.size else None


def replay_previous_proposal(result):
    """Seconds of one round of the previous proposal (optimize_acqf_mixed + qLogNEI, with a
    hyper-parameter fit) and of the current one, on ``result``'s history (same data, same
    moment): a round that re-optimises the GP's hyper-parameters, and the next one, which
    only conditions the GP on one more point (most rounds are of that kind)."""
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.optim import optimize_acqf_mixed
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import ExactMarginalLogLikelihood

    from polyfit.solvers.search.loop import DEFAULT_OPTIONS
    from polyfit.solvers.search.proposal import model_targets, propose, unit_bounds

    space, evals = result.space, list(result.evaluations)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        X = torch.tensor([space.to_unit(e.point) for e in evals], dtype=torch.double)
        Y = torch.tensor(model_targets(evals, result.direction, True, False, 2.0), dtype=torch.double)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = SingleTaskGP(X, Y)
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            acqf = qLogNoisyExpectedImprovement(model, X_baseline=X,
                                                sampler=SobolQMCNormalSampler(sample_shape=torch.Size([128]), seed=0))
            optimize_acqf_mixed(acqf, bounds=unit_bounds(torch, len(space.dims)), q=1, num_restarts=4, raw_samples=64,
                                fixed_features_list=space.fixed_features_list(), options={"maxiter": 100})
        previous = time.perf_counter() - t0
        options, warm = dict(DEFAULT_OPTIONS), {}
        t0 = time.perf_counter()
        propose(torch, space, evals[:-1], result.direction, True, False, 1, options, 0, 1e-3, warm)
        fitted = time.perf_counter() - t0       # a round that re-optimises the hyper-parameters
        t0 = time.perf_counter()
        propose(torch, space, evals, result.direction, True, False, 1, options, 0, 1e-3, warm)
        conditioned = time.perf_counter() - t0  # the next round: conditioned on one more point
    finally:
        torch.set_num_threads(threads)
    return previous, fitted, conditioned


def run_case(name, seeds, budget, grid):
    import polyfit as pf
    from polyfit.search_objectives import parse_objective
    from polyfit.solvers.search import parse_degrees

    target, spec, degrees, bounds, why = CASES[name]
    objective = parse_objective(spec)
    degs = parse_degrees(degrees)
    t0 = time.perf_counter()
    per_degree = exhaustive(target, objective, degs, bounds, grid)
    grid_s = time.perf_counter() - t0
    opt_d = min(per_degree, key=lambda d: per_degree[d][0])
    opt, opt_a = per_degree[opt_d]
    print(f"\n## {name}: {target}, {spec}, degrees {degrees}, range [{bounds[0]:g}, {bounds[1]:g}] — {why}")
    print(f"exhaustive optimum {opt:.8g} at degree {opt_d}, a = {opt_a:.6g} "
          f"({len(degs)} degrees × {grid} ranges + refinement, {grid_s:.0f} s)")
    twin_gap = _twin_gap(target, degs, bounds, per_degree)
    if twin_gap is not None:
        print(f"twins: largest relative difference of the per-degree optima of twin degrees {twin_gap:.1e}")
    rows = {"bo": [], "random": []}
    for strategy in ("bo", "random"):
        for seed in range(seeds):
            t = time.perf_counter()
            res = pf.search(target, degrees=degrees, range_bounds=bounds, objective=objective, budget=budget, seed=seed,
                            strategy=strategy, progress=False)
            wall = time.perf_counter() - t
            regret = (res.best_score - opt) / opt
            hit = first_hit(res, opt)
            rows[strategy].append((regret, hit, wall, res))
            e = res.best_evaluation
            print(f"{strategy:<6} seed {seed}: regret {regret:9.2e}  hit@{str(hit or '-'):>3}  best d={e.degree} "
                  f"a={e.range:.6g}  {wall:5.1f} s")
    bo = rows["bo"]
    summary = {
        "case": name, "bo_median": float(np.median([r[0] for r in bo])),
        "bo_within": sum(r[0] <= 0.01 for r in bo), "seeds": seeds,
        "random_median": float(np.median([r[0] for r in rows["random"]])),
        "bo_wall": float(np.median([r[2] for r in bo])),
    }
    timings = [r[3].timing() for r in bo]
    for key in ("fit", "objective", "model_fit", "acquisition", "twins", "imports", "other"):
        summary[key] = float(np.median([t[key] for t in timings]))
    rounds = [it for r in bo for it in r[3].iterations if it.get("phase", "bo") == "bo"]
    summary["round_gp"] = float(np.median([it["model_fit_s"] for it in rounds])) if rounds else float("nan")
    summary["round_acq"] = float(np.median([it["acquisition_s"] for it in rounds])) if rounds else float("nan")
    previous, fitted, conditioned = replay_previous_proposal(bo[0][3])
    summary["previous_round"], summary["fitted_round"], summary["conditioned_round"] = previous, fitted, conditioned
    summary["refits"] = float(np.mean([it.get("refit", True) for it in rounds])) if rounds else float("nan")
    summary["round_mean"] = float(np.mean([it["model_fit_s"] + it["acquisition_s"] for it in rounds])) if rounds else float("nan")
    print(f"BO: median regret {summary['bo_median']:.2e}, within 1 % in {summary['bo_within']}/{seeds} seeds; "
          f"random: median regret {summary['random_median']:.2e}")
    print(f"BO run (median) {summary['bo_wall']:.1f} s: fits {summary['fit']:.1f}, objective {summary['objective']:.1f}, "
          f"GP fit {summary['model_fit']:.1f}, acquisition {summary['acquisition']:.1f}, twins {summary['twins']:.1f}, "
          f"imports {summary['imports']:.1f}, other {summary['other']:.1f}; per BO round (median of {len(rounds)}): "
          f"GP fit {summary['round_gp']:.3f} s + acquisition {summary['round_acq']:.3f} s; hyper-parameters "
          f"re-optimised in {100 * summary['refits']:.0f} % of the rounds")
    print(f"one round replayed on seed 0's history: previous proposal {previous:.2f} s; current {fitted:.2f} s with a "
          f"hyper-parameter fit ({previous / fitted:.1f}x less), {conditioned:.3f} s conditioned ({previous / conditioned:.0f}x "
          f"less); mean BO round in the runs {summary['round_mean']:.3f} s")
    return summary


def _twin_gap(target, degrees, bounds, per_degree):
    from polyfit.solvers.search.twins import find_twins
    from polyfit.targets import get_target

    pairs = find_twins(get_target(target), degrees, bounds, ("lstsq",), {}).skipped
    if not pairs:
        return None
    return max(abs(per_degree[d][0] - per_degree[k][0]) / per_degree[k][0] for d, k in pairs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from: {', '.join(CASES)}")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=int, default=30)
    ap.add_argument("--grid", type=int, default=300)
    args = ap.parse_args(argv)
    names = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in names if c not in CASES]
    if unknown:
        ap.error(f"unknown cases {unknown}; allowed: {', '.join(CASES)}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"budget {args.budget} evaluations per run, seeds 0..{args.seeds - 1}; load average {load:.1f} "
          f"on {os.cpu_count()} cores at the start")
    rows = [run_case(name, args.seeds, args.budget, args.grid) for name in names]
    print("\n| case | BO median regret | BO within 1 % | random median regret | BO run s (fits, GP, acq.) | "
          "BO round s: median GP + acq., mean | replayed round s: previous, now fitted, now conditioned |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['bo_median']:.1e} | {r['bo_within']}/{r['seeds']} | {r['random_median']:.1e} | "
              f"{r['bo_wall']:.1f} ({r['fit']:.1f}, {r['model_fit']:.1f}, {r['acquisition']:.1f}) | "
              f"{r['round_gp']:.3f} + {r['round_acq']:.3f}, {r['round_mean']:.3f} | "
              f"{r['previous_round']:.2f}, {r['fitted_round']:.2f}, {r['conditioned_round']:.3f} |")
    def meets(r):
        return r["bo_within"] >= 4 * r["seeds"] / 5 and r["bo_median"] < r["random_median"]

    goal_rows = [r for r in rows if r["case"] not in EXTRA]
    print(f"\ngoal (within 1 % in >= 4 of 5 seeds and better than random on median regret) on the "
          f"{len(goal_rows)} goal cases: {'met' if all(meets(r) for r in goal_rows) else 'NOT met'}"
          + "".join(f"; {'meets' if meets(r) else 'misses'} it on {r['case']} (outside the goal's categories)"
                    for r in rows if r["case"] in EXTRA))


if __name__ == "__main__":
    main()
