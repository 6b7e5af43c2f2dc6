"""Figures of a :class:`~polyfit.solvers.search.SearchResult`: score per evaluation, the
evaluated degree × range surface, and the score vs CKKS-levels Pareto front."""
from __future__ import annotations

import numpy as np

from ...errors import InputError

PLOT_DECADES = 4   # plots show scores up to 10^4 × the best (exploding fits reach 1e20+)
KINDS = ("history", "surface", "pareto")


def plot_result(result, kinds=KINDS):
    """One panel per kind (``history``, ``surface``, ``pareto``), side by side."""
    import matplotlib.pyplot as plt

    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"plot kinds {kinds!r}; allowed: {', '.join(KINDS)}")
    draw = {"history": history, "surface": surface, "pareto": pareto}
    fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.2), squeeze=False)
    for ax, kind in zip(axes[0], kinds):
        draw[kind](result, ax)
    fig.suptitle(f"polyfit search: {result.target}, {result.objective.get('kind')} ({result.direction})")
    fig.tight_layout()
    return fig


def _log_axis(result) -> bool:
    s = result.scores
    s = s[np.isfinite(s)]
    return bool(result.objective.get("log_scale", result.objective.get("kind") == "expected_error")) and s.size > 0 and np.all(s > 0)


def history(result, ax):
    """Score per evaluation by phase, failures at the top, and the best so far."""
    s = result.scores
    n = np.arange(s.size)   # the history's 0-based index, as best_index
    phases = np.array([e.phase for e in result.evaluations])
    for phase, marker in (("initial", "s"), ("bo", "o"), ("refine", "^"), ("random", "x")):
        m = (phases == phase) & np.isfinite(s)
        if m.any():
            ax.scatter(n[m], s[m], marker=marker, s=18, label=phase)
    failed = ~np.isfinite(s)
    if failed.any():
        finite = s[np.isfinite(s)]
        y = np.full(failed.sum(), finite.max() if result.direction == "minimize" and finite.size else (finite.min() if finite.size else 0.0))
        ax.scatter(n[failed], y, marker="v", color="red", s=18, label="NaN/inf")
    ax.step(n, result.best_so_far(), where="post", color="black", label="best so far")
    if _log_axis(result):
        ax.set_yscale("log")
        _clip_log_axis(ax, s, result.direction)
    ax.set_xlabel("evaluation index (as in the history)")
    ax.set_ylabel("score")
    ax.set_title("score per evaluation")
    ax.legend(fontsize=7)


def surface(result, ax):
    """Evaluated points over range × degree, coloured by (log10) score; the best starred."""
    ev = [e for e in result.evaluations if e.ok]
    if not ev:
        ax.set_title("no successful evaluation")
        return
    x = np.array([e.range for e in ev])
    y = np.array([e.degree for e in ev])
    c = np.array([e.score for e in ev])
    if _log_axis(result):
        c = np.log10(c)
        label = "log10 score"
        if c.max() - c.min() > PLOT_DECADES:   # exploding fits would wash out the colours
            c = np.minimum(c, c.min() + PLOT_DECADES)
            label += f" (clipped at best + {PLOT_DECADES})"
    else:
        label = "score"
    sc = ax.scatter(x, y, c=c, cmap="viridis_r" if result.direction == "minimize" else "viridis", s=40, edgecolor="k", lw=0.3)
    ax.figure.colorbar(sc, ax=ax, label=label)
    b = result.best_evaluation
    ax.scatter([b.range], [b.degree], marker="*", s=220, color="red", label="best")
    ax.set_xscale("log")
    ax.set_yticks(list(result.space.degrees) if len(result.space.degrees) <= 16 else ax.get_yticks())
    ax.set_xlabel("range a (fit on [-a, a])")
    ax.set_ylabel("degree")
    ax.set_title("evaluated surface: degree × range")
    ax.legend(fontsize=7)


def pareto(result, ax):
    """Score vs CKKS levels of every successful point, with the non-dominated front."""
    ev = [e for e in result.evaluations if e.ok and e.ckks_levels is not None]
    if not ev:
        ax.set_title("no successful evaluation")
        return
    ax.scatter([e.ckks_levels for e in ev], [e.score for e in ev], s=16, color="0.6", label="evaluated")
    front = [result.evaluations[i] for i in result.pareto_indices()]
    front.sort(key=lambda e: e.ckks_levels)
    ax.plot([e.ckks_levels for e in front], [e.score for e in front], "o-", color="C3", label="Pareto front")
    for e in front:
        ax.annotate(f"d={e.degree}, a={e.range:.3g}", (e.ckks_levels, e.score), fontsize=7,
                    xytext=(4, 4), textcoords="offset points")
    if _log_axis(result):
        ax.set_yscale("log")
        _clip_log_axis(ax, [e.score for e in ev], result.direction)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("CKKS levels")
    ax.set_ylabel("score")
    ax.set_title("score vs depth")
    ax.legend(fontsize=7)


def _clip_log_axis(ax, scores, direction) -> None:
    """Show PLOT_DECADES decades above the best score (minimising) and say how many points
    lie above (exploding fits)."""
    s = np.asarray(scores, dtype=float)
    s = s[np.isfinite(s) & (s > 0)]
    top = s.min() * 10 ** PLOT_DECADES if s.size else 0.0
    if direction == "minimize" and s.size and s.max() > top:
        ax.set_ylim(s.min() / 2, top)
        ax.text(0.02, 0.98, f"{int(np.sum(s > top))} point(s) above {top:.1e}", transform=ax.transAxes,
                va="top", fontsize=7)
