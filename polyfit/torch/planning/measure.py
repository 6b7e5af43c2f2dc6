"""Measuring plans for the planner: the cached runner, the sensitivities and the progress line.

An *assignment* is a tuple with one candidate index per site (−1: the exact activation). The
runner builds the model for it with :func:`polyfit.torch.replace_activations`, hands a deep
copy in eval mode to ``evaluate``, and remembers the result, so no assignment is measured twice.

Sensitivity of (site s, candidate c): the metric with only s replaced by c. Its score for the
allocation is score(s, c) = metric(only s → c) − metric(exact), −∞ when the metric is not
finite. The proxy mode measures two candidates per site (the fewest levels and the most) and
interpolates the others linearly in log10 of their profiled mean squared error; extra
randomly drawn pairs are measured to validate it (Spearman rank correlation and mean absolute
error of predicted vs measured metric).
"""
from __future__ import annotations

import copy
import math
import sys

import numpy as np
import torch

from ...errors import ComputationError, InputError
from .candidates import Candidate
from .plan import PlannedSite, planned_module


def sensitivities(run, cands, baseline, mode, rng):
    """Per (site, candidate): measured metric alone (or None), the score for the allocation, and the proxy check."""
    n = len(cands)
    sens = [[None] * len(row) for row in cands]
    if mode == "metric":
        for i, row in enumerate(cands):
            for k in range(len(row)):
                sens[i][k] = run.alone(i, k)
        scores = [[score(m, baseline) for m in row] for row in sens]
        info = {"proxy_rank_correlation": rank_correlation(cands, sens)}
        return sens, scores, info
    scores = []
    for i, row in enumerate(cands):
        probes = sorted({min(range(len(row)), key=lambda k: (row[k].levels, row[k].error)),
                         max(range(len(row)), key=lambda k: (row[k].levels, -row[k].error))})
        for k in probes:
            sens[i][k] = run.alone(i, k)
        scores.append(proxy_scores(row, {k: score(sens[i][k], baseline) for k in probes}))
    pool = [(i, k) for i, row in enumerate(cands) for k in range(len(row)) if sens[i][k] is None]
    picked = [pool[j] for j in rng.permutation(len(pool))[:max(2, n)]] if pool else []
    predicted, measured = [], []
    for i, k in picked:
        sens[i][k] = run.alone(i, k)
        predicted.append(baseline + scores[i][k])
        measured.append(sens[i][k])
    ok = [(p, m) for p, m in zip(predicted, measured) if math.isfinite(p) and m is not None and math.isfinite(m)]
    info = {"proxy_validation": {"pairs": len(picked), "rank_correlation": _spearman(*zip(*ok)) if len(ok) > 2 else None,
                                 "mean_abs_error": float(np.mean([abs(p - m) for p, m in ok])) if ok else None}}
    return sens, scores, info


def score(metric, baseline) -> float:
    return metric - baseline if metric is not None and math.isfinite(metric) else -math.inf


def proxy_scores(row: list[Candidate], measured: dict[int, float]) -> list[float]:
    """Scores of every candidate from the two measured ones, linear in log10(error) between them."""
    points = sorted((math.log10(max(row[k].error, 1e-300)), s) for k, s in measured.items()
                    if math.isfinite(row[k].error) and math.isfinite(s))
    out = []
    for k, c in enumerate(row):
        if k in measured:
            out.append(measured[k])
        elif not points or not math.isfinite(c.error):
            out.append(-math.inf)
        else:
            xs, ys = zip(*points)
            out.append(float(np.interp(math.log10(max(c.error, 1e-300)), xs, ys)))
    return out


def rank_correlation(cands, sens) -> float | None:
    """Spearman correlation of −error (the proxy) and the measured metric over all measured pairs."""
    pairs = [(-c.error, m) for row, ms in zip(cands, sens) for c, m in zip(row, ms)
             if m is not None and math.isfinite(m) and math.isfinite(c.error)]
    return _spearman(*zip(*pairs)) if len(pairs) > 2 else None


def _spearman(a, b) -> float | None:
    import warnings

    from scipy.stats import spearmanr

    with warnings.catch_warnings():  # a constant input (every metric equal) has no correlation: None says so
        warnings.simplefilter("ignore")
        value = spearmanr(a, b).statistic
    return float(value) if math.isfinite(value) else None


class Runner:
    """Measures assignments (a candidate index per site, −1 = exact), caching each once."""

    def __init__(self, model, planned, cands, evaluate, bar, graph):
        self.model, self.planned, self.cands, self.evaluate, self.bar, self.graph = model, planned, cands, evaluate, bar, graph
        self.cache: dict[tuple, float] = {}
        self.explored: list[dict] = []
        self.evaluations = 0
        self.by_phase: dict[str, int] = {}
        self.best = -math.inf

    def depth(self, a) -> int:
        return self.graph.total({p.name: self.cands[i][k].levels for i, (p, k) in enumerate(zip(self.planned, a))})

    def _metric(self, net) -> float:
        try:
            value = self.evaluate(net.eval())
        except ComputationError:
            return math.nan
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
            raise InputError(f"evaluate must return a number, got {type(value).__name__}")
        return float(value) if math.isfinite(value) else math.nan

    def baseline(self) -> float:
        value = self._metric(copy.deepcopy(self.model))
        if not math.isfinite(value):
            raise InputError("evaluate(model) with the exact activations is not a finite number")
        return value

    def build(self, a):
        """A deep copy of the model with assignment ``a`` in place (eval mode)."""
        from ..surgery import replace_activations

        by_name = {p.name: (p, self.cands[i][k]) for i, (p, k) in enumerate(zip(self.planned, a)) if k >= 0}

        def factory(site):
            p, c = by_name[site.name]
            holder = PlannedSite(p.name, type(p.module).__name__, c.kind, c.label, c.approximation, c.levels, (0.0, 0.0))
            return planned_module(holder, p.module)

        if not by_name:
            return copy.deepcopy(self.model).eval()
        return replace_activations(self.model, factory, sites=[p for p, _ in by_name.values()])[0].eval()

    def _run(self, a) -> float:
        net = self.build(a)
        self.evaluations += 1
        self.by_phase[self.bar.phase] = self.by_phase.get(self.bar.phase, 0) + 1
        return self._metric(net)

    def alone(self, i: int, k: int) -> float:
        a = tuple(k if j == i else -1 for j in range(len(self.planned)))
        if a not in self.cache:
            self.cache[a] = self._run(a)
            self.bar.update(self.evaluations, self.best, None)
        return self.cache[a]

    def measure(self, a, source: str) -> tuple[float, int]:
        """(metric, 1 if newly measured else 0) of the whole-network plan ``a``."""
        if a in self.cache:
            return self.cache[a], 0
        value = self.cache[a] = self._run(a)
        depth = self.depth(a)
        self.explored.append({"total_depth": depth, "metric": value if math.isfinite(value) else None, "source": source,
                              "choice": {p.name: self.cands[i][k].label for i, (p, k) in enumerate(zip(self.planned, a))}})
        if math.isfinite(value) and value > self.best:
            self.best = value
        self.bar.update(self.evaluations, self.best, depth)
        return value, 1

    def measure_for(self, source: str):
        return lambda a: self.measure(a, source)

    def plans(self):
        """(assignment, depth, metric) of every whole-network plan measured."""
        return [(a, self.depth(a), m) for a, m in self.cache.items() if min(a) >= 0 and math.isfinite(m)]


class Progress:
    """``plan [sensitivity] 42 evaluations  best 0.9611 (last depth 21)`` on stderr: rewritten in
    place on a terminal; elsewhere one line per phase change and per ``EVERY`` evaluations."""

    EVERY = 10

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.phase = "baseline"
        self.stream = sys.stderr
        self.tty = enabled and self.stream.isatty()
        self.shown = False
        self._last_phase = None

    def update(self, count: int, best: float, depth) -> None:
        if not self.enabled:
            return
        if not self.tty and self.phase == self._last_phase and count % self.EVERY:
            return
        self._last_phase = self.phase
        best_text = f"best {best:.4f}" if math.isfinite(best) else "best -"
        line = f"plan [{self.phase}] {count} evaluations  {best_text}" + (f" (last depth {depth})" if depth is not None else "")
        self.stream.write(("\r" + line.ljust(80)) if self.tty else line + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.enabled and self.tty and self.shown:
            self.stream.write("\n")
            self.stream.flush()
