"""Assemble an Approximation with its reports (metrics, depth, precision: SPEC §3–4).

Every solver ends in :func:`assemble`; :func:`with_reports` re-measures a modified value.
Their readable text is :mod:`polyfit.report_text` (the presentation layer).
"""
from __future__ import annotations

import math
import time

from .approximation import Approximation
from .depth import depth_report
from .errors import ComputationError
from .metrics import DEFAULT_GRID_POINTS, measure
from .precision import DEFAULT_RING_BITS, precision_report
from .targets import get_target


def assemble(target, domain, stages, *, objective: dict, provenance: dict, input_scale: float = 1.0,
             combine: str = "none", exclude=None, grid_points: int = DEFAULT_GRID_POINTS,
             ring_bits: int = DEFAULT_RING_BITS, frac_bits: int | None = None) -> Approximation:
    """Build an :class:`Approximation` and attach metrics, depth and precision.

    Every solver ends here so that all artifacts carry the same reports and provenance
    fields (``solver``, ``backend``, ``options``, ``elapsed_s``; solvers may add more).

    Raises:
        ComputationError: the fit's error on the metric grid is not finite (the polynomial
            overflows float64): no artifact of it is written.
    """
    provenance = dict(provenance)  # the caller's dict is left as it was
    for key in ("solver", "backend", "options", "elapsed_s"):
        provenance.setdefault(key, {} if key == "options" else None)
    approx = Approximation(target=get_target(target), domain=tuple(domain), stages=tuple(stages),
                           input_scale=input_scale, combine=combine, objective=objective,
                           provenance=provenance)
    approx = with_reports(approx, exclude=exclude, grid_points=grid_points, ring_bits=ring_bits, frac_bits=frac_bits)
    return require_finite_error(approx)


def require_finite_error(approx: Approximation) -> Approximation:
    """``approx`` itself, or ComputationError when its metrics are not finite (nothing to write)."""
    error = approx.metrics["max_abs_error"]
    if not (math.isfinite(error) and math.isfinite(approx.metrics["rms_error"])):
        raise ComputationError(
            f"the {approx.provenance.get('solver')} fit of {approx.target.name!r} (degrees {approx.degrees}) has max "
            f"error {error:.3g} and rms error {approx.metrics['rms_error']:.3g} on the metric grid (worst near "
            f"x = {approx.metrics.get('argmax_x', float('nan')):g}): float64 cannot evaluate it there; nothing written")
    return approx


_STORED = object()  # default of with_reports: keep the metric grid the approximation already states


def with_reports(approx: Approximation, *, exclude=_STORED, grid_points=_STORED,
                 ring_bits: int = DEFAULT_RING_BITS, frac_bits: int | None = None) -> Approximation:
    """Recompute metrics, depth and precision of ``approx`` (pure: returns a new value).

    ``exclude`` and ``grid_points`` default to those of ``approx.metrics`` (so a modified copy
    is measured like the original), else to no exclusion and 10001 points.
    """
    stored = approx.metrics or {}
    if exclude is _STORED:
        exclude = tuple(stored["exclude"]) if stored.get("exclude") else None
    if grid_points is _STORED:
        grid_points = int(stored.get("grid_points") or DEFAULT_GRID_POINTS)
    metrics = measure(approx, approx.target, approx.domain, grid_points, exclude)
    return approx.replace(metrics=metrics, depth=depth_report(approx),
                          precision=precision_report(approx, frac_bits=frac_bits, ring_bits=ring_bits))


class Stopwatch:
    """``with Stopwatch() as sw: ...; sw.elapsed`` in seconds (perf_counter)."""

    def __enter__(self):
        self._start = time.perf_counter()
        self.elapsed = 0.0
        return self

    def __exit__(self, *exc):
        self.elapsed = time.perf_counter() - self._start
        return False
