"""Local refinement of the range after the global phase: a bracketed golden-section search on
t = ln a within the most promising cells (a cell: one degree, bits, method).

For a fixed cell the objective is a 1-D function of t, cheap to evaluate and often with a
cliff: under ``uniform:a=6`` the error jumps as soon as a < 6 leaves part of the support to
extrapolation, so the optimum sits at the edge (a* = 5.994 for SiLU) and the 1 % window is
1 % wide in a. A GP smooths such an edge away; a golden-section search does not need the
function to be smooth, only unimodal in the bracket, and shrinks the bracket by 0.618 per
evaluation whatever its shape.

The search is stateless: each step is derived from the evaluations so far, all of them
reused. In a cell, with the evaluated t sorted and t* the best, the bracket is
[t_left, t_right] = the neighbours of t* (or the range bounds, at an end). Steps alternate
(as in Brent's method, without its state): a golden-section step, t* + 0.381966·(t_right − t*)
when the right part is the longer one, else t* − 0.381966·(t* − t_left), then a parabolic
step to the vertex of the parabola through the three bracket points (log10 of the losses;
taken only when both neighbours are evaluated and the vertex falls into the longer part,
where the golden step would go; else golden again). The golden step shrinks the bracket
whatever the function's shape, the parabolic one converges fast on a smooth minimum. No point is closer than
0.381966·xtol to an evaluated one, so none is evaluated twice. A cell is done when both
parts are shorter than ``xtol``. Which cell: the best cell and, up to ``cells`` in all,
the next ones whose best score is within a factor 10 of it (contenders) first get ``probe``
steps each, best first; then the contender with the best outlook takes each step — its best
loss minus what its last two steps gained, so a cell still falling fast (a high degree
approaching its explosion edge) outranks one that has stalled — until all have converged. With q > 1 points per round the q points split the bracket evenly.
"""
from __future__ import annotations

import math

GOLDEN = (3.0 - math.sqrt(5.0)) / 2.0
#: Default bracket width (in ln a) at which a cell counts as converged: 0.1 % of a.
DEFAULT_XTOL = 1e-3
#: Default number of cells refined, best first.
DEFAULT_CELLS = 3
#: Golden-section steps every contender gets first (probes).
DEFAULT_PROBE = 2
#: A cell is a contender while its best score is within this factor of the best cell's.
DEFAULT_CONTEND = 10.0


def cell_of(point) -> tuple:
    """The discrete coordinates of a point: (degree, bits, method)."""
    return point["degree"], point["bits"], point["method"]


def refinement_points(space, evaluations, direction, q=1, xtol=DEFAULT_XTOL, cells=DEFAULT_CELLS,
                      probe=DEFAULT_PROBE, remaining=None, contend=DEFAULT_CONTEND) -> list[dict]:
    """Up to q new points of the golden-section search (empty when every contender is done).

    ``evaluations``: all so far (objects with ``point``, ``score`` and ``phase``);
    ``direction``: ``"minimize"`` or ``"maximize"``; ``xtol``: bracket width in ln a at which
    a cell is done; ``cells``: how many cells, best first, may be refined — the best one and
    those whose best score is within a factor ``contend`` of it; ``probe``: steps
    each contender gets (best first) before the one with the best outlook (see above) takes
    each step, so that a cell whose edge the global phase missed can still overtake the
    incumbent; ``remaining``:
    evaluations left in the budget — a contender is probed only if the probes still owed
    leave ``probe`` steps for the winner, so that a small budget goes to the best cell.
    """
    ranked = _ranked_cells(evaluations, direction)
    contenders = [c for c in ranked[:cells] if c is ranked[0] or _contends(c[2], ranked[0][2], direction, contend)]
    log_lo, log_hi = (math.log(v) for v in space.range_bounds)
    steps = {cell: sum(getattr(e, "phase", None) == "refine" and cell_of(e.point) == cell for e in evaluations)
             for cell, _, _ in contenders}
    while remaining is not None and len(contenders) > 1:
        # the probes still owed, plus `probe` steps left for the winner, must fit the budget;
        # else the worst contender not yet probed is dropped
        owed = sum(max(probe - steps[c[0]], 0) for c in contenders)
        unprobed = [c for c in contenders[1:] if not steps[c[0]]]
        if remaining >= owed + probe or not unprobed:
            break
        contenders.remove(unprobed[-1])
    probing = [c for c in contenders if steps[c[0]] < probe]
    rest = sorted((c for c in contenders if c not in probing), key=lambda c: _outlook(evaluations, c[0], direction))
    for cell, samples, _ in probing + rest:
        # a contender's probes are golden steps (they explore boldly); otherwise parabolic
        # (Brent) steps, fast on a smooth minimum, alternate with golden ones, so every other
        # step still shrinks the bracket whatever the shape (a cliff)
        probe_step = cell != ranked[0][0] and steps[cell] < probe
        new = _steps(_bracket(samples, log_lo, log_hi), q, xtol, parabolic=not probe_step and steps[cell] % 2 == 0)
        if new:
            degree, bits, method = cell
            return [{"degree": degree, "range": float(math.exp(t)), "bits": bits, "method": method} for t in new]
    return []


def _outlook(evaluations, cell, direction) -> float:
    """Where the cell's loss is heading: its best loss minus what its last two refinement
    steps gained (a cell still improving fast outranks one that has stalled)."""
    losses = [(e.score if direction == "minimize" else -e.score) for e in evaluations if cell_of(e.point) == cell]
    losses = [v if math.isfinite(v) else math.inf for v in losses]
    refined = [i for i, e in enumerate(e for e in evaluations if cell_of(e.point) == cell)
               if getattr(e, "phase", None) == "refine"]
    now = min(losses)
    cut = refined[-2] if len(refined) >= 2 else (refined[0] if refined else len(losses))
    before = min(losses[:cut], default=math.inf)
    gain = before - now if math.isfinite(before) else 0.0
    return now - gain


def _contends(score, best, direction, factor) -> bool:
    if not (score > 0 and best > 0):
        return True
    return score <= factor * best if direction == "minimize" else score >= best / factor


def _ranked_cells(evaluations, direction):
    """[(cell, [(t, loss), ...] sorted by t, best score)] for cells with a finite score, best
    cell first (loss: the score, negated when maximising; failures +inf)."""
    by_cell: dict[tuple, list] = {}
    for e in evaluations:
        loss = e.score if direction == "minimize" else -e.score
        by_cell.setdefault(cell_of(e.point), []).append((math.log(e.point["range"]), loss if math.isfinite(loss) else math.inf))
    ranked = []
    for cell, samples in by_cell.items():
        best = min(v for _, v in samples)
        if math.isfinite(best):
            ranked.append((cell, sorted(samples), best if direction == "minimize" else -best))
    ranked.sort(key=lambda item: item[2] if direction == "minimize" else -item[2])
    return ranked


def _bracket(samples, log_lo, log_hi):
    """((t, loss) left, best, right): the best evaluated t and its neighbours; at an end the
    range bound stands in, with loss None (not evaluated)."""
    i = min(range(len(samples)), key=lambda k: (samples[k][1], k))
    left = samples[i - 1] if i > 0 else (log_lo, None)
    right = samples[i + 1] if i + 1 < len(samples) else (log_hi, None)
    return left, samples[i], right


def _parabolic(bracket, xtol) -> float | None:
    """Vertex of the parabola through the bracket's three points (log10 of the losses when
    they are positive: errors span decades) when both neighbours are evaluated and finite and
    the vertex lies in the longer part, where the golden step would go, at least
    0.381966·xtol from every bracket point; else None."""
    (a, fa), (b, fb), (c, fc) = bracket
    if fa is None or fc is None or not (math.isfinite(fa) and math.isfinite(fc)):
        return None
    if min(fa, fb, fc) > 0:
        fa, fb, fc = math.log10(fa), math.log10(fb), math.log10(fc)
    num = (b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)
    den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
    if den == 0 or not math.isfinite(num / den):
        return None
    v = b - 0.5 * num / den
    gap = GOLDEN * xtol
    lo, hi = (b + gap, c - gap) if c - b >= b - a else (a + gap, b - gap)
    return v if lo <= v <= hi else None


def _steps(bracket, q, xtol, parabolic=False) -> list[float]:
    (left, _), (best, _), (right, _) = bracket
    widths = (best - left, right - best)
    if max(widths) < xtol:
        return []
    if q == 1:
        vertex = _parabolic(bracket, xtol) if parabolic else None
        if vertex is not None:
            return [vertex]
        if widths[1] >= widths[0]:
            return [best + GOLDEN * widths[1]]
        return [best - GOLDEN * widths[0]]
    # q points split the bracket evenly, shared between the two parts by their widths
    out = []
    for side, width in ((-1, widths[0]), (1, widths[1])):
        n = int(round(q * width / (right - left)))
        step = width / (n + 1)
        if n and step >= GOLDEN * xtol:
            out += [best + side * j * step for j in range(1, n + 1)]
    return sorted(out)[:q] or _steps(bracket, 1, xtol)
