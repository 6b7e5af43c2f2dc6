"""Error metrics measured by evaluating an artifact on a uniform grid (SPEC §3).

    x_i = numpy.linspace(lo, hi, grid_points)   (endpoints included)
    kept = x_i outside the open interval ``exclude`` = (a, b), when given
    max_abs_error = max_i |y(x_i) − f(x_i)|,  rms_error = sqrt(mean_i (y(x_i) − f(x_i))²)

Anyone re-evaluating the JSON with these rules gets the same numbers. A target that is not
finite somewhere on that grid (1/x through 0, log x at x ≤ 0) has no finite error to report:
:func:`measure` refuses it (ComputationError) instead of writing ``inf``.
"""
from __future__ import annotations

import numpy as np

from .errors import ComputationError, InputError

DEFAULT_GRID_POINTS = 10001


def outside(x: np.ndarray, exclude) -> np.ndarray:
    """The points of ``x`` not in the open interval ``exclude`` = (a, b) (all of them for None).

    Fitting grids (:meth:`polyfit.problem.FitProblem.grid_x`) use the same rule.
    """
    if exclude is None:
        return x
    a, b = exclude
    return x[(x <= a) | (x >= b)]


def metric_grid(domain, grid_points: int = DEFAULT_GRID_POINTS, exclude=None) -> np.ndarray:
    """The evaluation grid: uniform points of ``domain`` minus the open interval ``exclude``."""
    return outside(np.linspace(float(domain[0]), float(domain[1]), int(grid_points)), exclude)


def measure(approx_fn, target_fn, domain, grid_points: int = DEFAULT_GRID_POINTS, exclude=None) -> dict:
    """Metrics dict of SPEC §3 for ``approx_fn`` against ``target_fn``.

    ``max_abs_error`` is ``inf`` when the approximation overflows and NaN propagates as NaN,
    so that neither is hidden; the artifact writes both as JSON ``null`` (solvers refuse such a
    fit: :func:`polyfit.reports.assemble`).

    Raises:
        ComputationError: the target is not finite at a grid point (the error there is undefined).
    """
    x = metric_grid(domain, grid_points, exclude)
    if x.size == 0:
        raise InputError(f"the metric grid is empty: {int(grid_points)} points of {tuple(domain)}"
                         + ("" if exclude is None else f" minus exclude {tuple(exclude)}")
                         + "; give grid_points ≥ 1 and an exclude narrower than the domain")
    with np.errstate(all="ignore"):
        target = np.asarray(target_fn(x), dtype=float)
        bad = ~np.isfinite(target)
        if np.any(bad):
            name = getattr(target_fn, "expr", None) or getattr(target_fn, "name", None) or getattr(
                target_fn, "__name__", "the target")
            raise ComputationError(
                f"target {name!r} is {float(target[bad][0])} at x = {x[bad][0]:g} on the metric grid "
                f"({int(grid_points)} points of [{float(domain[0]):g}, {float(domain[1]):g}]); its error is undefined "
                "there: choose a domain where the target is finite")
        err = np.asarray(approx_fn(x), dtype=float) - target
        abs_err = np.abs(err)
        rms = float(np.sqrt(np.mean(err * err)))
    worst = int(np.nanargmax(abs_err)) if np.any(np.isfinite(abs_err)) else 0
    return {
        "max_abs_error": float(np.max(abs_err)),
        "rms_error": rms,
        "grid_points": int(grid_points),
        "exclude": None if exclude is None else [float(exclude[0]), float(exclude[1])],
        "argmax_x": float(x[worst]),
    }
