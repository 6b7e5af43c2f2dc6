"""``plan_network``: choose each activation site's polynomial under a network depth budget.

1. **Profile** every site over the calibration data (:func:`polyfit.torch.profile_sites`):
   its input range [min, max] and distribution (moments, quantiles, histogram, a sample).
2. **Candidates** per site on that range (:mod:`.candidates`): least-squares fits over
   degrees, composite minimax ReLUs, each with its CKKS levels from the artifact.
3. **Sensitivity** of each (site, candidate) (:mod:`.measure`): ``evaluate`` of the model with
   only that site replaced, or the cheap proxy (the site's profiled mean squared error, mapped
   to metric units through two measured candidates per site, validated on extra pairs).
4. **Allocation**: with score(s, c) = metric(only s → c) − metric(exact), the dynamic
   programme of :mod:`.allocation` maximises Σ score under the depth budget on the traced
   graph (:mod:`.graph`); with ``metric_target``, the least budget whose allocation measures
   at least the target is found from the predicted one, stepping up or down.
5. **Refinement** by real evaluations (:mod:`.refine`): a local search over the per-site
   choices from the allocation's answer, within the budget (or lowering depth at the target).

:class:`NetworkPlanner` keeps steps 1–3 (and every measurement) across calls, so one model can
be planned for several budgets or targets, and compared with the *uniform* choices (the same
candidate spec at every site). Models reach ``evaluate`` as deep copies in eval mode;
``evaluate`` returns a number to maximise (accuracy; pass −loss for a loss). A ComputationError
inside it or a non-finite result counts as a failed plan, never chosen.
"""
from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import torch
from torch import nn

from ...errors import ComputationError, InputError
from ..profiling import model_inputs
from .allocation import allocate
from .candidates import DEFAULT_MARGIN, TARGETS, Candidate, build_candidates, default_specs, parse_spec
from .graph import build_graph
from .measure import Progress, Runner
from .measure import sensitivities as measure_sensitivities
from .plan import NetworkPlan, PlannedSite, check_poolable
from .refine import Moves, improve, shrink

SENSITIVITIES = ("metric", "proxy")


def plan_network(model: nn.Module, calibration_loader, *, evaluate: Callable[[nn.Module], float],
                 depth_budget: int | None = None, metric_target: float | None = None, candidates=None, sites=None,
                 seed: int = 0, count_linear: bool = False, margin: float = DEFAULT_MARGIN,
                 max_batches: int | None = None, sensitivity: str = "metric", max_evaluations: int = 60,
                 sweep: int = 8, patience: int = 10, uniform_starts: bool = True, progress: bool | None = None,
                 input_fn=None) -> NetworkPlan:
    """One approximation per activation site, chosen for the network as a whole.

    Args:
        model: a trained network (not modified).
        calibration_loader: batches for profiling (tensors, ``(inputs, labels)`` or dicts).
        evaluate: ``model -> number`` to maximise (e.g. validation accuracy).
        depth_budget: most levels on the deepest path; the plan maximises ``evaluate`` within it.
        metric_target: instead, the least depth whose plan measures ``evaluate`` ≥ this.
        candidates: spec strings (``"fit:7"``, ``"fit:7:samples"``, ``"composite:7,15"``) for
            every site, ``{site: specs}``, or ``(name, module, profile) -> [Approximation]``;
            default (:func:`~.candidates.default_specs`): fits of degree 1, 2, 3, 5, 7, 11, 15, 23 on
            the range, of degree 2 … 15 on the profiled samples, composites 3,3 / 7,7 / 7,15 / 15,15.
        sites: names (or :func:`find_sites` entries) to plan; default every ReLU/GELU/SiLU/
            Sigmoid/Tanh/Softplus module and every MaxPool2d.
        seed: profiling sample, move order and proxy validation are reproducible for a seed.
        count_linear: budget and depth count one level per plaintext–ciphertext linear layer too.
        margin: fit ranges are the profiled range widened by this factor about its centre.
        max_batches: profile at most this many calibration batches.
        sensitivity: ``"metric"`` (one evaluation per site and candidate) or ``"proxy"``.
        max_evaluations: evaluations the local search may spend.
        sweep: budgets whose allocations are measured for the Pareto table (depth_budget mode).
        patience: measured moves without improvement that end the local search.
        uniform_starts: also measure the uniform plans (one spec at every site) within the budget
            as starting points of the local search.
        progress: a progress line on stderr (default: when stderr is a terminal).
        input_fn: ``batch -> inputs`` when batches are not tensors or ``(inputs, ...)``.

    Returns:
        a :class:`NetworkPlan`.

    Raises:
        InputError: neither or both of depth_budget and metric_target; a budget below the
            least depth any plan has; a site polyfit cannot plan; functional activations.
    """
    planner = NetworkPlanner(model, calibration_loader, evaluate=evaluate, candidates=candidates, sites=sites, seed=seed,
                             count_linear=count_linear, margin=margin, max_batches=max_batches, sensitivity=sensitivity,
                             progress=progress, input_fn=input_fn)
    return planner.plan(depth_budget=depth_budget, metric_target=metric_target, max_evaluations=max_evaluations,
                        sweep=sweep, patience=patience, uniform_starts=uniform_starts)


class NetworkPlanner:
    """Profiles, candidates, depth graph and measurements of one model, reused across plans.

    ``NetworkPlanner(model, loader, evaluate=..., ...)`` takes the arguments of
    :func:`plan_network` except the budget/target and search knobs, which go to :meth:`plan`.
    Attributes: ``sites`` (names in execution order), ``candidates`` (per site, a list of
    :class:`~.candidates.Candidate`), ``graph``, ``profile``, ``baseline_metric``, ``notes``.
    """

    def __init__(self, model: nn.Module, calibration_loader, *, evaluate, candidates=None, sites=None, seed: int = 0,
                 count_linear: bool = False, margin: float = DEFAULT_MARGIN, max_batches: int | None = None,
                 sensitivity: str = "metric", progress: bool | None = None, input_fn=None):
        self.started = time.perf_counter()
        _check_setup(evaluate, sensitivity, margin, seed)
        from ..profiling import profile_sites

        example = _first_inputs(calibration_loader, input_fn)
        found = _select_sites(model, example, sites)
        self.profile = profile_sites(model, calibration_loader, {s.name: s.module for s in found},
                                     max_batches=max_batches, seed=seed, input_fn=input_fn)
        cands, self.notes = _candidates(found, self.profile, candidates, margin)
        self.graph = build_graph(model, {s.name: s.module for s in found}, count_linear=count_linear,
                                 example_inputs=example)
        if self.graph.note:
            self.notes.append(self.graph.note)
        if self.graph.unplanned:
            self.notes.append(f"activation sites not planned (0 levels in the depth): {', '.join(self.graph.unplanned)}")
        names = [s.name for s in found]
        order = [names.index(n) for n in self.graph.sites]
        self.found = [found[i] for i in order]
        self.sites = [s.name for s in self.found]
        self.candidates: list[list[Candidate]] = [cands[i] for i in order]
        self.seed, self.sensitivity, self.margin = seed, sensitivity, margin
        self.bar = Progress(sys.stderr.isatty() if progress is None else bool(progress))
        self.run = Runner(model, self.found, self.candidates, evaluate, self.bar, self.graph)
        self.baseline_metric = self.run.baseline()
        self.rng = np.random.default_rng(seed)
        self._sensitivity = None
        self.setup_s = time.perf_counter() - self.started

    # -- measurements -----------------------------------------------------------------------------------
    def sensitivities(self):
        """(metric alone per site and candidate, scores, proxy report), measured once."""
        if self._sensitivity is None:
            self.bar.phase = "sensitivity"
            sens, scores, info = measure_sensitivities(self.run, self.candidates, self.baseline_metric, self.sensitivity, self.rng)
            for name, row in zip(self.sites, scores):
                if not any(math.isfinite(v) for v in row):
                    raise ComputationError(f"site {name!r}: every candidate fails (non-finite metric) when that site "
                                           "alone is replaced; widen margin= or give other candidates")
            self._sensitivity = (sens, scores, info)
        return self._sensitivity

    def assignment(self, choice: Mapping[str, str]) -> tuple[int, ...]:
        """The assignment of ``{site: candidate label}`` (every site needed)."""
        out = []
        for name, row in zip(self.sites, self.candidates):
            label = choice.get(name)
            labels = [c.label for c in row]
            if label not in labels:
                raise InputError(f"site {name!r}: candidate {label!r} is not one of {', '.join(labels)}")
            out.append(labels.index(label))
        return tuple(out)

    def network(self, choice: Mapping[str, str]) -> nn.Module:
        """A deep copy of the model with ``{site: candidate label}`` in place (eval mode)."""
        return self.run.build(self.assignment(choice))

    def measure(self, choice: Mapping[str, str], source: str = "given") -> dict:
        """``{"total_depth", "metric"}`` of the plan ``{site: candidate label}`` (measured once)."""
        a = self.assignment(choice)
        value, _ = self.run.measure(a, source)
        return {"total_depth": self.run.depth(a), "metric": value if math.isfinite(value) else None}

    def shared_labels(self) -> list[str]:
        """Candidate labels every site has (the specs a uniform plan can use)."""
        return [c.label for c in self.candidates[0] if all(c.label in {x.label for x in row} for row in self.candidates)]

    def uniform(self, labels=None) -> list[dict]:
        """The uniform plans: one candidate spec at every site (each fitted on its own range).

        ``labels``: specs to try (default: every label all sites share). Returns
        ``[{"candidate", "total_depth", "metric"}]`` sorted by depth."""
        labels = self.shared_labels() if labels is None else [parse_spec(s).label for s in labels]
        self.bar.phase = "uniform"
        out = []
        for label in labels:
            result = self.measure({name: label for name in self.sites}, f"uniform {label}")
            out.append({"candidate": label, **result})
        self.bar.close()
        return sorted(out, key=lambda r: (r["total_depth"], r["candidate"]))

    # -- planning ---------------------------------------------------------------------------------------
    def plan(self, *, depth_budget: int | None = None, metric_target: float | None = None, max_evaluations: int = 60,
             sweep: int = 8, patience: int = 10, uniform_starts: bool = True) -> NetworkPlan:
        """The plan within ``depth_budget`` (or the least-depth one reaching ``metric_target``).

        ``patience``: measured moves without improvement that end the local search;
        ``uniform_starts``: also measure the uniform plans (within the budget) as starting points,
        so the plan is never worse, on ``evaluate``, than the best uniform one at its depth."""
        started, before = time.perf_counter(), self.run.evaluations
        _check_goal(depth_budget, metric_target, max_evaluations, sweep)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise InputError(f"patience must be an integer >= 1, got {patience!r}")
        sens, scores, info = self.sensitivities()
        levels = [[c.levels for c in row] for row in self.candidates]
        usable = [[lv for lv, v in zip(levels[i], scores[i]) if math.isfinite(v)] for i in range(len(self.sites))]
        least = self.graph.total({n: min(usable[i]) for i, n in enumerate(self.sites)})
        most = self.graph.total({n: max(usable[i]) for i, n in enumerate(self.sites)})
        if depth_budget is not None and depth_budget < least:
            raise InputError(f"depth budget {depth_budget} is below the least depth of any plan: {least} levels "
                             "(every site at its cheapest working candidate)")
        options = {n: list(zip(levels[i], scores[i])) for i, n in enumerate(self.sites)}
        alloc = allocate(self.graph, options, depth_budget if depth_budget is not None else most)
        moves = Moves(levels, scores, self.run.depth, self.rng)
        notes = list(self.notes)
        if uniform_starts:
            self.bar.phase = "uniform"
            for label in self.shared_labels():
                a = self.assignment({n: label for n in self.sites})
                if depth_budget is None or self.run.depth(a) <= depth_budget:
                    self.run.measure(a, f"uniform {label}")
        self.bar.phase = "allocation"
        if depth_budget is not None:
            budgets = sorted({int(round(b)) for b in np.linspace(least, depth_budget, sweep)} | {depth_budget})
            for b in budgets:
                choice = alloc.choice(b)
                if choice is not None:
                    self.run.measure(self._as_tuple(choice), f"allocation at budget {b}")
            within = [e for e in self.run.plans() if e[1] <= depth_budget]
            start = (max(within, key=lambda e: (e[2], -e[1])) if within
                     else (self._as_tuple(alloc.choice(depth_budget)), 0, -math.inf))
            self.bar.phase = "local search"
            best, value, _ = improve(start[0], start[2], moves, self.run.measure_for("local search"), depth_budget,
                                     max_evaluations, patience)
        else:
            best, value = self._least_budget(alloc, metric_target, least, most)
            spent = 0
            if not value >= metric_target and not self._reaching(metric_target):
                # No allocation measures the target: raise the metric at the deepest budget first.
                self.bar.phase = "local search"
                best, value, spent = improve(best, value, moves, self.run.measure_for("local search"), most,
                                             max_evaluations // 2, patience)
            reaching = self._reaching(metric_target)
            if reaching:
                best, _, value = min(reaching, key=lambda e: (e[1], -e[2]))   # the shallowest plan measured at the target
                self.bar.phase = "local search"
                measure = self.run.measure_for("local search")
                left = max_evaluations - spent
                best, value, used = shrink(best, value, moves, measure, metric_target, left // 2, patience)
                left -= used
                best, value, used = self._bisect(alloc, best, value, least, moves, metric_target, left // 2, patience)
                left -= used
                best, value, _ = shrink(best, value, moves, measure, metric_target, left, patience)
            else:
                message = (f"no plan reached metric_target {metric_target:g}; the best measured plan ({value:.4g} at "
                           f"depth {self.run.depth(best)}) is returned")
                warnings.warn(message, stacklevel=2)
                notes.append(message)
        self.bar.close()
        search = {"evaluations": self.run.evaluations - before, "evaluations_total": self.run.evaluations,
                  "elapsed_s": time.perf_counter() - started, "setup_s": self.setup_s, "seed": self.seed,
                  "sensitivity": self.sensitivity, "max_evaluations": max_evaluations, "patience": patience,
                  "allocation": "exact (series-parallel graph)" if alloc.exact else "chain bound (graph not series-parallel)",
                  "predicted_metric": self.baseline_metric + float(sum(scores[i][k] for i, k in enumerate(best))),
                  "phases_total": dict(self.run.by_phase), **info}
        return self._assemble(best, value, sens, depth_budget, metric_target, search, notes)

    def _bisect(self, alloc, best, value, least, moves, target, evaluations, patience):
        """Bisect the depth in [least, depth(best)]: at each probe budget, a local search from the best
        plan measured within it, stopped once it reaches ``target`` (``evaluations`` in all)."""
        lo, hi, used = least, self.run.depth(best), 0
        probes = max(1, math.ceil(math.log2(max(2, hi - lo + 1))))
        per_probe = max(1, evaluations // probes)
        while lo < hi and used + per_probe <= evaluations:
            mid = (lo + hi) // 2
            within = [e for e in self.run.plans() if e[1] <= mid]
            if not within and alloc.choice(mid) is not None:   # start from the allocation at this budget
                a = self._as_tuple(alloc.choice(mid))
                m0, cost = self.run.measure(a, f"allocation at budget {mid}")
                used += cost
                within = [(a, self.run.depth(a), m0)] if math.isfinite(m0) else []
            if not within:
                lo = mid + 1
                continue
            start, _, start_value = max(within, key=lambda e: (e[2], -e[1]))
            found, m, spent = improve(start, start_value, moves, self.run.measure_for("local search"), mid, per_probe,
                                      patience, stop_at=target)
            used += spent
            if m >= target:
                best, value, hi = found, m, self.run.depth(found)
            else:
                lo = mid + 1
        return best, value, used

    def _reaching(self, target) -> list:
        """(assignment, depth, metric) of every plan measured so far at or above ``target``."""
        return [e for e in self.run.plans() if e[2] >= target]

    def _as_tuple(self, choice: dict) -> tuple[int, ...]:
        return tuple(choice[n] for n in self.sites)

    def _least_budget(self, alloc, target, least, most):
        """The least budget whose allocation measures ≥ target, from the predicted one up or down."""
        feasible = alloc.feasible_budgets()
        predicted_ok = [b for b in feasible if self.baseline_metric + alloc.predicted[b] >= target]
        b = max(least, predicted_ok[0] if predicted_ok else most)
        tried = {}

        def at(budget):
            a = self._as_tuple(alloc.choice(budget))
            tried[budget] = (a, self.run.measure(a, f"allocation at budget {budget}")[0])
            return tried[budget]

        found = None
        a, m = at(b)
        if m >= target:
            found = (a, m)
            while b > least:
                b -= 1
                a, m = at(b)
                if not m >= target:
                    break
                found = (a, m)
        else:
            while b < most and found is None:
                b += 1
                a, m = at(b)
                if m >= target:
                    found = (a, m)
        if found is None:
            return max(tried.values(), key=lambda am: am[1] if math.isfinite(am[1]) else -math.inf)
        return found

    def _assemble(self, best, value, sens, depth_budget, metric_target, search, notes) -> NetworkPlan:
        out = []
        for i, (site, row) in enumerate(zip(self.found, self.candidates)):
            c = row[best[i]]
            p = self.profile[site.name]
            distribution = {"mean": p.mean, "std": p.std, "elements": p.elements,
                            "quantiles": {f"{q:g}": v for q, v in p.quantiles.items()},
                            "histogram": {"range": [-p.histogram_range, p.histogram_range],
                                          "counts": [] if p.histogram_counts is None else [int(v) for v in p.histogram_counts]}}
            table = [{"label": x.label, "levels": x.levels, "metric": sens[i][k],
                      "error": x.error if math.isfinite(x.error) else None} for k, x in enumerate(row)]
            out.append(PlannedSite(site.name, type(site.module).__name__, c.kind, c.label, c.approximation, c.levels,
                                   (p.minimum, p.maximum), distribution, sens[i][best[i]],
                                   c.error if math.isfinite(c.error) else None, c.info.get("rounds", 1), table))
        depth = self.graph.depth({s.name: s.levels for s in out})
        return NetworkPlan(out, depth.total, depth, value if math.isfinite(value) else None, self.baseline_metric,
                           depth_budget, metric_target, list(self.run.explored), search, notes)


# -- setup -----------------------------------------------------------------------------------------------
def _check_setup(evaluate, sensitivity, margin, seed):
    if not callable(evaluate):
        raise InputError(f"evaluate must be a callable model -> number, got {type(evaluate).__name__}")
    if sensitivity not in SENSITIVITIES:
        raise InputError(f"sensitivity {sensitivity!r} is not allowed; allowed: {', '.join(SENSITIVITIES)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not (math.isfinite(margin) and margin >= 1):
        raise InputError(f"margin must be a finite number >= 1, got {margin!r}")


def _check_goal(depth_budget, metric_target, max_evaluations, sweep):
    if (depth_budget is None) == (metric_target is None):
        raise InputError("give exactly one of depth_budget (maximise the metric within it) and metric_target "
                         "(least depth reaching it)")
    if depth_budget is not None and (isinstance(depth_budget, bool) or not isinstance(depth_budget, int) or depth_budget < 1):
        raise InputError(f"depth_budget must be an integer >= 1 (CKKS levels), got {depth_budget!r}")
    if metric_target is not None and (isinstance(metric_target, bool) or not isinstance(metric_target, (int, float))
                                      or not math.isfinite(metric_target)):
        raise InputError(f"metric_target must be a finite number, got {metric_target!r}")
    for label, value, low in (("max_evaluations", max_evaluations, 0), ("sweep", sweep, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise InputError(f"{label} must be an integer >= {low}, got {value!r}")


def _first_inputs(loader, input_fn):
    for batch in loader:
        return model_inputs(batch, input_fn)
    raise InputError("the calibration loader yielded no batches")


def _select_sites(model, example, sites):
    from ..surgery import default_kinds, find_sites

    found = find_sites(model, example, kinds=default_kinds() + (nn.MaxPool2d,))
    if found.functional:
        listing = "; ".join(f"{s.name} at {s.location}" for s in found.functional[:4])
        raise InputError(f"{len(found.functional)} functional activation call(s) cannot be planned ({listing}); "
                         "use nn modules in the model")
    plannable = [s for s in found.modules if type(s.module) in TARGETS or isinstance(s.module, nn.MaxPool2d)]
    if sites is None:
        chosen = plannable
        if not chosen:
            raise InputError("the model has no activation module polyfit can plan "
                             f"({', '.join(t.__name__ for t in TARGETS)}, MaxPool2d)")
    else:
        by_name = {s.name: s for s in found.modules}
        wanted = [getattr(s, "name", s) for s in sites]
        unknown = [w for w in wanted if w not in by_name]
        if unknown or not wanted:
            raise InputError(f"site(s) {', '.join(map(repr, unknown)) or '(none given)'} are not activation sites of the "
                             f"model; sites: {', '.join(by_name)}")
        chosen = [by_name[w] for w in dict.fromkeys(wanted)]
    for s in chosen:
        if isinstance(s.module, nn.MaxPool2d):
            check_poolable(s.name, s.module)
    return chosen


def _candidates(planned, profile, candidates, margin):
    notes, designs, out = [], {}, []
    for site in planned:
        p = profile[site.name]
        if callable(candidates) and not isinstance(candidates, Mapping):
            row = _custom(site, p, candidates)
        else:
            specs = candidates.get(site.name) if isinstance(candidates, Mapping) else candidates
            specs = default_specs() if specs is None else [parse_spec(s) for s in specs]
            if not specs:
                raise InputError(f"site {site.name!r}: the candidate list is empty")
            row, skipped = build_candidates(site.name, site.module, p, specs, margin=margin, designs=designs)
            notes += skipped
        out.append(row)
    return out, notes


def _custom(site, profile, make) -> list[Candidate]:
    from ...approximation import Approximation

    made = list(make(site.name, site.module, profile))
    if not made or not all(isinstance(a, Approximation) for a in made):
        raise InputError(f"candidates callable must return a non-empty list of Approximations for site {site.name!r}")
    return [Candidate(f"custom:{k}", a, int(a.depth["ckks_levels"])) for k, a in enumerate(made)]
