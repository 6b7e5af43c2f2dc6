"""Re-evaluate every claim an artifact's report prints, as any reader of the JSON could.

``polyfit report`` prints metrics, depth, MPC rounds and precision; each of those numbers is
recomputed here from the stages alone and compared with what the file stores:

- ``metrics`` on the stored ``grid_points`` and ``exclude`` (SPEC §3), with a relative
  tolerance of 1e-9 (float64 evaluation order may differ across platforms);
- ``depth`` from the evaluation plan (levels, products, per-backend levels, MPC rounds,
  effective degrees), which must match exactly;
- ``precision`` for the stored ``frac_bits``, ``ring_bits`` and ``input_bound`` (peak bits and
  ``fits`` of both fixed-point models), which must match exactly.

A key the fresh report has and the file lacks is a mismatch too: the report would print it.
"""
from __future__ import annotations

import math

from .depth import depth_report
from .errors import InputError
from .metrics import DEFAULT_GRID_POINTS, measure

RELATIVE_TOLERANCE = 1e-9
_MISSING = object()


def _same(stored, fresh) -> bool:
    """Equal, floats within the relative tolerance (a stored null matches a non-finite value)."""
    if isinstance(fresh, float) or isinstance(stored, float):
        if stored is None:
            return isinstance(fresh, float) and not math.isfinite(fresh)
        if any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in (stored, fresh)):
            return False  # a number against a list, a string or None: not the same
        if not math.isfinite(fresh):
            return False
        return math.isclose(stored, fresh, rel_tol=RELATIVE_TOLERANCE, abs_tol=1e-300)
    if isinstance(fresh, bool) or isinstance(stored, bool):
        return stored is fresh
    return stored == fresh


def _shown(value, limit: int = 160) -> str:
    """``repr(value)``, cut to ``limit`` characters (a whole re-evaluated list is not one line's worth)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mismatches(prefix: str, stored, fresh) -> list[str]:
    """One line per key of ``fresh`` whose stored value differs (recursing into dicts and lists)."""
    if isinstance(fresh, dict):
        if not isinstance(stored, dict):
            return [f"recheck  MISMATCH {prefix}: stored {_shown(stored)}, re-evaluated {_shown(fresh)}"]
        lines = []
        for key, value in fresh.items():
            lines += _mismatches(f"{prefix}.{key}", stored.get(key, _MISSING), value)
        return lines
    if isinstance(fresh, (list, tuple)) and isinstance(stored, (list, tuple)) and len(stored) == len(fresh):
        lines = []
        for i, (a, b) in enumerate(zip(stored, fresh)):
            lines += _mismatches(f"{prefix}[{i}]", a, b)
        return lines
    if stored is _MISSING:
        return [f"recheck  MISMATCH {prefix}: missing from the artifact, re-evaluated {_shown(fresh)}"]
    if not _same(stored, fresh):
        return [f"recheck  MISMATCH {prefix}: stored {_shown(stored)}, re-evaluated {_shown(fresh)}"]
    return []


def recheck(approx) -> dict:
    """Dict with ``ok``, the recomputed sections, and human-readable ``lines``."""
    from .precision import precision_report

    lines: list[str] = []
    out: dict = {"ok": True}
    checked = []
    stored = approx.metrics or {}
    if stored and approx.target.expr is None:
        try:
            approx.target([0.0])
        except InputError:  # loaded artifact of a Python callable: nothing to evaluate
            lines.append("recheck  metrics not re-evaluated: the target was a Python callable with no expression")
            stored = {}
    if stored:
        grid = int(stored.get("grid_points") or DEFAULT_GRID_POINTS)
        fresh = measure(approx, approx.target, approx.domain, grid, stored.get("exclude"))
        out["metrics"] = fresh
        for key in ("max_abs_error", "rms_error", "argmax_x"):
            if key != "argmax_x" or key in stored:  # argmax_x is optional (older artifacts lack it)
                lines += _mismatches(key, stored.get(key, _MISSING), fresh[key])
        checked.append("metrics")
    if approx.depth:
        fresh_depth = depth_report(approx)
        out["depth"] = fresh_depth
        lines += _mismatches("depth", approx.depth, fresh_depth)
        for key in ("stored_degrees", "note"):  # printed by the report, present only with trailing zeros
            if approx.depth.get(key) is not None and key not in fresh_depth:
                lines.append(f"recheck  MISMATCH depth.{key}: stored {approx.depth[key]!r}, "
                             "but no stage has trailing zero coefficients")
        checked.append("depth (levels, products, backends, MPC rounds)")
    if approx.precision:
        p = approx.precision
        try:
            fresh_precision = precision_report(approx, frac_bits=int(p["frac_bits"]), ring_bits=int(p["ring_bits"]),
                                               input_bound=float(p["input_bound"]))
        except (KeyError, TypeError, ValueError):
            lines.append("recheck  MISMATCH precision: frac_bits, ring_bits and input_bound must be stored numbers "
                         f"to re-evaluate it; got {p!r}")
        else:
            out["precision"] = fresh_precision
            lines += _mismatches("precision", p, fresh_precision)
            checked.append("precision (peak bits, fits, single rescale)")
    ok = not any("MISMATCH" in line for line in lines)
    if ok and checked:
        lines.append(f"recheck  stored {', '.join(checked)} match a fresh evaluation of the artifact")
    out["ok"] = ok
    out["lines"] = lines
    return out
