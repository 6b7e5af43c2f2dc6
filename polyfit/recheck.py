"""Re-evaluate an artifact's stored reports, as any reader of the JSON could.

Metrics are recomputed on the stored ``grid_points`` and ``exclude`` (SPEC §3) and
compared with a relative tolerance of 1e-9 (float64 evaluation order may differ across
platforms); depth is recomputed from the evaluation plan and must match exactly.
"""
from __future__ import annotations

import math

from .depth import depth_report
from .errors import InputError
from .metrics import DEFAULT_GRID_POINTS, measure

RELATIVE_TOLERANCE = 1e-9


def recheck(approx) -> dict:
    """Dict with ``ok``, the recomputed values, and human-readable ``lines``."""
    lines, ok = [], True
    stored = approx.metrics or {}
    out: dict = {"ok": True}
    if approx.target.expr is None:
        try:
            approx.target([0.0])
        except InputError:  # loaded artifact of a Python callable: nothing to evaluate
            lines.append("recheck  metrics not re-evaluated: the target was a Python callable with no expression")
            stored = {}
    if stored:
        grid = int(stored.get("grid_points") or DEFAULT_GRID_POINTS)
        fresh = measure(approx, approx.target, approx.domain, grid, stored.get("exclude"))
        out["metrics"] = fresh
        for key in ("max_abs_error", "rms_error"):
            a, b = stored.get(key), fresh[key]
            same = (a is None and not math.isfinite(b)) or (
                a is not None and math.isclose(a, b, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300))
            if not same:
                ok = False
                lines.append(f"recheck  MISMATCH {key}: stored {a!r}, re-evaluated {b!r}")
    if approx.depth:
        fresh_depth = depth_report(approx)
        out["depth"] = fresh_depth
        for key in ("ckks_levels", "degrees"):
            if approx.depth.get(key) != fresh_depth[key]:
                ok = False
                lines.append(f"recheck  MISMATCH depth.{key}: stored {approx.depth.get(key)!r}, plan gives {fresh_depth[key]!r}")
    if ok:
        lines.append("recheck  stored metrics and depth match a fresh evaluation of the artifact")
    out["ok"] = ok
    out["lines"] = lines
    return out
