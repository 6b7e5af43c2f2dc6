"""Refinement of an allocation by real evaluations: a local search over the per-site choices.

The dynamic programme of :mod:`.allocation` assumes that the metric drops of the sites add up;
they do not quite (an error upstream changes what every later site sees). The local search
corrects that with measured metrics. A *move* changes one site's candidate, or two sites' at
once (one site up, another down: depth traded between them). Moves are ranked by the additive
prediction

    predicted(a') = measured(a) + Σ_s [score(s, a'_s) − score(s, a_s)]

(ties broken by a seeded shuffle); the best-ranked ones are measured in turn and the first that
improves is taken. A round ends after ``patience`` measured moves without improvement: the
allocation is then a local optimum for the moves the model ranks highest.

- ``improve``: maximise the metric, keeping the network depth within the budget.
- ``shrink``: lower the network depth, keeping the measured metric at or above the target.

For a metric target the planner shrinks the shallowest plan measured at the target, then bisects
the depth between the least possible and the result's: at each probe budget it runs ``improve``
(stopping once the target is met) from the best plan measured within it; a last ``shrink``
polishes what it found (half, a quarter and the rest of the evaluations).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Assignment = tuple[int, ...]


class Moves:
    """Neighbours of an assignment (one or two sites changed), with their depth and prediction."""

    def __init__(self, levels: Sequence[Sequence[int]], scores: Sequence[Sequence[float]],
                 depth: Callable[[Assignment], int], rng: np.random.Generator):
        self.levels = levels
        self.scores = scores
        self.depth = depth
        self.rng = rng

    def predicted_change(self, a: Assignment, b: Assignment) -> float:
        return float(sum(self.scores[i][b[i]] - self.scores[i][a[i]] for i in range(len(a)) if a[i] != b[i]))

    def neighbours(self, a: Assignment) -> list[Assignment]:
        n = len(a)
        out = []
        for i in range(n):
            for k in range(len(self.levels[i])):
                if k != a[i] and np.isfinite(self.scores[i][k]):
                    out.append(a[:i] + (k,) + a[i + 1:])
        for i in range(n):
            ups = [k for k in range(len(self.levels[i])) if self.levels[i][k] > self.levels[i][a[i]]
                   and self.scores[i][k] > self.scores[i][a[i]]]
            for j in range(n):
                if j == i:
                    continue
                downs = [k for k in range(len(self.levels[j])) if self.levels[j][k] < self.levels[j][a[j]]
                         and np.isfinite(self.scores[j][k])]
                for ki in ups:
                    for kj in downs:
                        b = list(a)
                        b[i], b[j] = ki, kj
                        out.append(tuple(b))
        return out

    def ranked(self, a: Assignment, keep: Callable[[Assignment, int], bool]) -> list[tuple[Assignment, int]]:
        """Neighbours that ``keep(b, depth(b))`` accepts, best predicted first."""
        found = []
        for b in self.neighbours(a):
            d = self.depth(b)
            if keep(b, d):
                found.append((b, d))
        order = self.rng.permutation(len(found))
        found = [found[i] for i in order]
        found.sort(key=lambda bd: (-self.predicted_change(a, bd[0]), bd[1]))
        return found


def improve(start: Assignment, start_metric: float, moves: Moves, measure: Callable[[Assignment], float],
            budget: int, max_evaluations: int, patience: int = 10,
            stop_at: float | None = None) -> tuple[Assignment, float, int]:
    """Hill-climb on the measured metric within ``budget`` levels (until it reaches ``stop_at``,
    when given); returns (best, metric, evaluations spent)."""
    return _climb(start, start_metric, moves, measure,
                  keep=lambda d, depth_now: d <= budget,
                  # equal metric for less depth is better too
                  better=lambda m, d, value, depth_now: m > value or (m == value and d < depth_now),
                  max_evaluations=max_evaluations, patience=patience,
                  done=lambda value: stop_at is not None and value >= stop_at)


def shrink(start: Assignment, start_metric: float, moves: Moves, measure: Callable[[Assignment], float],
           target: float, max_evaluations: int, patience: int = 10) -> tuple[Assignment, float, int]:
    """Lower the depth while the measured metric stays >= ``target``; returns (best, metric, measured)."""
    return _climb(start, start_metric, moves, measure,
                  keep=lambda d, depth_now: d < depth_now,
                  better=lambda m, d, value, depth_now: m >= target,
                  max_evaluations=max_evaluations, patience=patience, done=lambda value: False)


def _climb(start, start_metric, moves, measure, *, keep, better, max_evaluations, patience, done):
    """First-improvement local search: measure the ranked neighbours of the current assignment
    whose depth ``keep(d, depth_now)`` admits, move to the first ``better(m, d, value,
    depth_now)``; stop when a round finds none within ``patience`` evaluations, when
    ``max_evaluations`` are spent, or when ``done(value)``. Returns (best, metric, spent)."""
    current, value, used = start, start_metric, 0
    while used < max_evaluations and not done(value):
        depth_now = moves.depth(current)
        improved = False
        tried = 0
        for b, d in moves.ranked(current, lambda b, d: keep(d, depth_now)):
            m, cost = measure(b)
            used += cost
            tried += cost
            if better(m, d, value, depth_now):
                current, value, improved = b, m, True
                break
            if tried >= patience or used >= max_evaluations:
                break
        if not improved:
            break
    return current, value, used
