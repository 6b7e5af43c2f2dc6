"""The search loop: validate the inputs, drop degree twins, evaluate the initial design, then
BO rounds and the golden-section refinement (or random draws), and re-fit the best point."""
from __future__ import annotations

import itertools
import math
import sys
import time
import warnings
from types import MappingProxyType

import numpy as np

from ...errors import InputError
from ...validate import check_integer
from .evaluate import evaluate_point, portable_target
from ...artifact import json_ready
from .proposal import DEFAULT_ACQUISITION, import_botorch, propose, unit_bounds
from .refine import DEFAULT_CELLS, DEFAULT_CONTEND, DEFAULT_PROBE, DEFAULT_XTOL, refinement_points
from .result import Evaluation, SearchResult, best_index, best_so_far
from .space import SearchSpace, parse_degrees
from .twins import find_twins

STRATEGIES = ("bo", "random")
DEFAULT_OPTIONS = MappingProxyType({**DEFAULT_ACQUISITION, "separation": 1e-3, "xtol": DEFAULT_XTOL,
                                    "cells": DEFAULT_CELLS, "probe": DEFAULT_PROBE, "contend": DEFAULT_CONTEND, "early_refine": False})
MAX_SEED = 2 ** 32 - 1
MAX_WORKERS = 256


def search(target="relu", *, degrees="2-9", range_bounds=(0.5, 50.0), objective="gaussian:sigma=2",
           direction=None, bits=None, methods=("lstsq",), max_depth=None, budget=50, n_initial=None,
           refine=None, batch_size=1, executor=None, workers=1, seed=0, pareto=False, strategy="bo",
           twins=True, fit_options=None, progress=None, acquisition=None) -> SearchResult:
    """Bayesian optimisation of degree and fit range for ``target`` (Sisyphus), then a local
    refinement of the range in the most promising cells.

    Args:
        target: name, callable or :func:`polyfit.expr` — what :func:`polyfit.fit` fits.
        degrees: ``"2-9"``, ``"3,7,15,31"`` or an iterable of ints; searched exactly.
        range_bounds: (a_lo, a_hi), 0 < a_lo < a_hi; each fit is on [−a, a], a log-scaled.
        objective: a spec (``"gaussian:sigma=2"``, ``"uniform:a=5"``, ``"samples:path=F"``),
            an objective from :mod:`polyfit.search_objectives` (``ExpectedError``,
            ``NetworkAccuracy``) or any callable Approximation → score (or dict with "score").
        direction: ``"minimize"``/``"maximize"`` for a plain callable (default minimize).
        bits: None (float coefficients) or an iterable of fractional bits to search over.
        methods: fitting methods to search over (``"lstsq"``, ``"minimax"``).
        max_depth: keep only degrees whose CKKS levels ⌈log2(d+1)⌉ are ≤ this.
        budget: total number of evaluations (initial points and refinement included).
        n_initial: Sobol points before the first model (default max(2·dims, min(10, budget//5))).
        refine: evaluations reserved for the golden-section refinement of the range
            (:mod:`.refine`); default budget // 3 for ``strategy="bo"`` (0 with ``pareto``).
            The refinement also starts early when the acquisition's maximiser is a point
            already evaluated, and hands back to BO when every refined cell has converged.
        batch_size: q, points proposed per round; evaluated with ``executor.map``.
        executor: a ``concurrent.futures.Executor`` (or anything with ``map``); default serial.
        workers: with no executor, evaluate batches on this many spawned processes (1: in process).
        seed: makes the run reproducible (0 to 2^32 − 1).
        pareto: also minimise CKKS levels (qLogNEHVI); the result's ``pareto_indices``.
        strategy: ``"bo"`` or ``"random"`` (uniform draws: the baseline).
        twins: skip degrees that fit the same polynomial as a lower degree because of the
            target's parity (:mod:`.twins`; float coefficients only); they are listed in the
            result's space and warnings.
        fit_options: extra keyword arguments of :func:`polyfit.fit` (points, grid, ...).
        progress: write a progress bar to stderr (default: when stderr is a terminal).
        acquisition: optimiser options — grid (acquisition grid points per cell),
            num_restarts (grid points polished by L-BFGS), mc_samples, maxiter, threads
            (torch threads while proposing; default 1, restored afterwards), floor_decades
            (log-scale scores worse than the best by more than this many decades are
            modelled at that floor; default 2, None disables), noise (None: learned; a
            number: fixed, as a fraction of the outputs' variance), separation (closest two
            points of a cell in the unit range coordinate), xtol, cells and probe (refinement:
            :func:`.refine.refinement_points`).

    Returns:
        A :class:`SearchResult`.

    Raises:
        InputError: bad bounds, budget < n_initial, unknown objective spec, or an objective
            that returned NaN for every initial point (nothing to model).

    >>> import polyfit as pf
    >>> res = pf.search("relu", degrees="2-4", range_bounds=(1, 10), objective="gaussian:sigma=2",
    ...                 budget=6, n_initial=6, seed=0, progress=False)
    >>> len(res.evaluations), res.best.degrees[0] in (2, 4), res.space.twins
    (6, True, ((3, 2),))
    """
    from .objectives import resolve_objective
    from ...depth import optimal_levels
    from ...targets import get_target

    started = time.perf_counter()
    target = get_target(target)
    obj = resolve_objective(objective, direction)
    direction = obj.direction
    all_degrees = deg = parse_degrees(degrees)
    if max_depth is not None:
        max_depth = check_integer(max_depth, "max depth", 1)
        deg = tuple(d for d in deg if optimal_levels(d) <= max_depth)
        if not deg:
            raise InputError(f"no degree in {all_degrees[0]}..{all_degrees[-1]} fits max depth {max_depth}: "
                             f"degree {all_degrees[0]} needs {optimal_levels(all_degrees[0])} CKKS levels")
    space = SearchSpace(deg, range_bounds, tuple(bits) if bits is not None else (None,), methods)
    if strategy not in STRATEGIES:
        raise InputError(f"strategy {strategy!r} is unknown; allowed: {', '.join(STRATEGIES)}")
    budget = check_integer(budget, "budget", 1)
    seed = check_integer(seed, "seed", 0, MAX_SEED)
    batch_size = check_integer(batch_size, "batch size", 1)
    workers = check_integer(workers, "workers", 1, MAX_WORKERS)
    if workers > 1 and executor is not None:
        raise InputError(f"workers {workers} and an executor were both given; give one (workers makes a process pool)")
    if n_initial is None:
        n_initial = min(budget, max(2 * len(space.dims), min(10, budget // 5)))
        if budget < 2 * len(space.dims) and strategy == "bo":
            raise InputError(f"budget {budget} is less than the {2 * len(space.dims)} initial points "
                             f"a {len(space.dims)}-dimensional search needs; allowed: budget >= {2 * len(space.dims)}")
    n_initial = check_integer(n_initial, "initial points", 1)
    if budget < n_initial:
        raise InputError(f"budget {budget} is less than the {n_initial} initial points; allowed: budget >= initial points")
    if refine is None:
        refine = 0 if strategy != "bo" or pareto else min(budget // 3, budget - n_initial)
    refine = check_integer(refine, "refine", 0, budget - n_initial)
    if refine and strategy != "bo":
        raise InputError(f"refine {refine} needs strategy 'bo' (random search is the unrefined baseline); use refine=0")
    acq = {**DEFAULT_OPTIONS, **(acquisition or {})}
    unknown = set(acq) - set(DEFAULT_OPTIONS)
    if unknown:
        raise InputError(f"acquisition options {sorted(unknown)} unknown; allowed: {', '.join(DEFAULT_OPTIONS)}")
    fit_options = dict(fit_options or {})
    for key in ("bits", "method", "degree", "domain", "target"):
        if key in fit_options:
            raise InputError(f"fit option {key!r} is set by the search; remove it from fit_options")
    if pareto and strategy != "bo":
        raise InputError("pareto=True needs strategy 'bo'")
    t_import = time.perf_counter()
    torch, botorch = import_botorch() if strategy == "bo" else (None, None)
    import_s = time.perf_counter() - t_import   # torch + BoTorch, the first time in a process

    notes: list[str] = []
    if len(deg) < len(all_degrees):
        notes.append(f"max depth {max_depth}: degrees searched {list(deg)}")
    t_twins = time.perf_counter()
    if twins and space.bits == (None,) and len(space.degrees) > 1:
        found = find_twins(target, space.degrees, space.range_bounds, space.methods, fit_options)
        if found.skipped:
            space = space.without_twins(found.skipped)
            pairs = ", ".join(f"{d} (= {k})" for d, k in found.skipped)
            notes.append(f"degrees not evaluated, same fit as the lower degree in brackets: {pairs}; {found.reason}")
    twins_s = time.perf_counter() - t_twins

    log_scale = bool(getattr(obj, "log_scale", False))
    own_pool = _process_pool(workers) if workers > 1 else None
    mapper = (own_pool or executor).map if (own_pool or executor) is not None else map
    bar = _Progress(budget, enabled=sys.stderr.isatty() if progress is None else bool(progress))
    portable = portable_target(target) if (own_pool or executor) is not None else target
    evaluations: list[Evaluation] = []
    iterations: list[dict] = []

    def run_batch(points, phase, batch):
        outs = list(mapper(evaluate_point, itertools.repeat(portable), points, itertools.repeat(obj),
                           itertools.repeat(fit_options)))
        for point, out in zip(points, outs):
            ev = Evaluation(len(evaluations), phase, batch, point["degree"], point["range"], point["bits"],
                            point["method"], out["score"], out["ckks_levels"], out["info"], out["fit_s"], out["objective_s"])
            evaluations.append(ev)
            bar.update(ev, best_so_far([e.score for e in evaluations], direction)[-1])

    def refinement(q):
        t = time.perf_counter()
        points = refinement_points(space, evaluations, direction, q, float(acq["xtol"]), int(acq["cells"]),
                                   int(acq["probe"]), remaining=budget - len(evaluations), contend=float(acq["contend"]))
        return points, time.perf_counter() - t

    try:
        if strategy == "random":
            rng = np.random.default_rng(seed)
            for start in range(0, budget, batch_size):
                q = min(batch_size, budget - start)
                run_batch([space.from_unit(u, bins=True) for u in rng.random((q, len(space.dims)))], "random", start // batch_size)
            _check_not_all_failed(evaluations)
        else:
            with torch.random.fork_rng():
                torch.manual_seed(seed)
                unit = botorch.utils.sampling.draw_sobol_samples(
                    bounds=unit_bounds(torch, len(space.dims)), n=n_initial, q=1, seed=seed).squeeze(1)
                initial = [space.from_unit(u.tolist(), bins=True) for u in unit]
                for start in range(0, n_initial, batch_size):
                    run_batch(initial[start:start + batch_size], "initial", start // batch_size)
                _check_not_all_failed(evaluations)
                batch = math.ceil(n_initial / batch_size)
                local = False   # the refinement has started
                warm: dict = {}   # the GP's hyper-parameters, carried from round to round
                while len(evaluations) < budget:
                    q = min(batch_size, budget - len(evaluations))
                    points = []
                    if refine and (local or len(evaluations) >= budget - refine):
                        local = True
                        points, step_s = refinement(q)
                        if points:
                            iterations.append({"batch": batch, "q": len(points), "phase": "refine", "proposal_s": step_s})
                            run_batch(points, "refine", batch)
                            batch += 1
                            continue
                    points, timing, converged = propose(torch, space, evaluations, direction, log_scale, pareto, q, acq,
                                                        seed * 7919 + batch, float(acq["separation"]), warm)
                    iterations.append({"batch": batch, "q": len(points), "phase": "bo", **timing, "converged": converged})
                    phase = "bo"
                    if converged and refine and not local and acq["early_refine"]:
                        local = True     # BO would re-evaluate a point: refine now, BO resumes when it is done
                        alternative, _ = refinement(q)
                        if alternative:
                            iterations[-1]["handed_to_refine"] = True
                            points, phase = alternative, "refine"
                    if not points:
                        notes.append(f"stopped after {len(evaluations)} evaluations: every candidate of the acquisition "
                                     "grid is within the separation of an evaluated point")
                        break
                    run_batch(points, phase, batch)
                    batch += 1
    finally:
        bar.close()
        if own_pool is not None:
            own_pool.shutdown()

    scores = [e.score for e in evaluations]
    i_best = best_index(scores, direction)
    best = None
    if i_best is not None:
        best = _refit_best(target, evaluations[i_best], fit_options, obj)
    failed = sum(not e.ok for e in evaluations)
    if failed:
        notes.append(f"{failed} of {len(evaluations)} points scored NaN or ±inf and were counted as failures")
    settings = {"seed": seed, "budget": budget, "n_initial": n_initial if strategy == "bo" else 0, "refine": refine,
                "batch_size": batch_size, "workers": workers, "strategy": strategy, "pareto": bool(pareto),
                "max_depth": max_depth, "twins": bool(twins), "twins_s": twins_s, "import_s": import_s,
                "acquisition": acq if strategy == "bo" else None, "fit_options": json_ready(fit_options),
                "model": _model_name(acq) if strategy == "bo" else None,
                "acquisition_function": _acquisition_name(pareto, batch_size) if strategy == "bo" else None}
    description = {**obj.describe(), "direction": direction, "log_scale": log_scale}
    if hasattr(obj, "label"):
        description["label"] = obj.label()
    return SearchResult(target.name, space, description, tuple(evaluations), best, tuple(iterations), settings,
                        time.perf_counter() - started, tuple(notes))


def _process_pool(workers):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: forking after torch/BoTorch started their thread pools can deadlock the workers
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def _model_name(acq) -> str:
    noise = "learned noise" if acq["noise"] is None else f"fixed noise {acq['noise']:g} of Var(y)"
    return f"SingleTaskGP (unit-cube inputs, Standardize, {noise})"


def _acquisition_name(pareto, batch_size) -> str:
    if pareto:
        return "qLogNoisyExpectedHypervolumeImprovement"
    return "LogExpectedImprovement" if batch_size == 1 else "qLogExpectedImprovement"


def _check_not_all_failed(evaluations) -> None:
    if evaluations and not any(e.ok for e in evaluations):
        e = evaluations[0]
        why = e.info.get("failure", "the objective returned NaN or ±inf")
        raise InputError(f"the objective failed for all {len(evaluations)} initial points (e.g. degree {e.degree}, "
                         f"range {e.range:g}: {why}); nothing to optimise, stopping")


def _refit_best(target, ev: Evaluation, fit_options, obj):
    from ...fitting import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        approx = fit(target, ev.degree, ev.range, bits=ev.bits, method=ev.method, **fit_options)
    prov = dict(approx.provenance)
    prov["search"] = json_ready({"score": ev.score, "evaluation": ev.index, "objective": obj.describe(),
                                 "info": ev.info})
    return approx.replace(provenance=prov)


class _Progress:
    """A plain-text progress bar on stderr: ``search [####......] 12/50 best 3.1e-03 (d=7, a=4.2)``."""

    WIDTH = 24

    def __init__(self, total: int, enabled: bool):
        self.total = total
        self.enabled = enabled
        self.stream = sys.stderr
        self.count = 0
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, ev: Evaluation, best: float) -> None:
        self.count += 1
        if not self.enabled:
            return
        filled = int(self.WIDTH * self.count / self.total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        last = f"{ev.score:.3g}" if ev.ok else "NaN"
        line = (f"search [{bar}] {self.count}/{self.total}  last {last} (d={ev.degree}, a={ev.range:.3g})  "
                f"best {best:.4g}")
        if self.tty:
            self.stream.write("\r" + line.ljust(90))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.count:
            self.stream.write("\n")
            self.stream.flush()
