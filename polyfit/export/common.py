"""The parts every exported program shares: the artifact as data, its plaintext reference, the
sample inputs and the self-check that prints the last JSON line.

A program is assembled from fixed source text (this module and the engine's) and two data
literals, ``ARTIFACT`` and ``SCHEDULE``, written by :func:`~polyfit.export.literal.python_literal`:
nothing the artifact says becomes code.
"""
from __future__ import annotations

from .._version import __version__
from ..depth import effective_degree
from .literal import python_literal

DEFAULT_SAMPLES = 256


def artifact_data(approx, samples: int = DEFAULT_SAMPLES) -> dict:
    """What the program needs to re-evaluate the artifact in float64 and to sample its domain."""
    metrics = approx.metrics or {}
    depth = approx.depth or {}
    return {
        "target": {"name": approx.target.name, "expr": approx.target.expr},
        "domain": list(approx.domain),
        "input_scale": approx.input_scale,
        "stages": [{"basis": s.basis, "coefficients": list(s.coefficients),
                    "interval": list(s.interval) if s.interval is not None else None,
                    "effective_degree": effective_degree(s)} for s in approx.stages],
        "combine": approx.combine,
        "exclude": list(metrics["exclude"]) if metrics.get("exclude") else None,
        "grid_points": int(metrics.get("grid_points") or 10001),
        "samples": int(samples),
        "max_abs_error": metrics.get("max_abs_error"),
        "depth_backends": dict(depth.get("backends") or {}),
        "polyfit_version": __version__,
    }


HEADER = '''#!/usr/bin/env python3
"""{title}: one polyfit artifact, standalone (numpy and {engine} only; no polyfit import).

Written by `polyfit export --to {engine}` (polyfit {version}). ARTIFACT holds the artifact's
definition (target, domain, stages), SCHEDULE what {engine} evaluates; both are plain data.

In your pipeline:
{usage}
Run as a script it sets up a context sized for the artifact, evaluates sample inputs over the
domain and prints, as its last line, a JSON object with `levels_used` (HE engines) and
`max_error_vs_artifact`; it exits 1 when a check fails.
"""
import json
import sys
import time

import numpy as np

'''

COMMON_CODE = '''

def reference(x):
    """The artifact in float64: y = combine(x, s_k(... s_1(input_scale * x)))."""
    x = np.asarray(x, dtype=float)
    s = ARTIFACT["input_scale"] * x
    for stage in ARTIFACT["stages"]:
        c = np.asarray(stage["coefficients"], dtype=float)
        if stage["basis"] == "monomial":
            s = np.polynomial.polynomial.polyval(s, c)
        else:
            lo, hi = stage["interval"]
            s = np.polynomial.chebyshev.chebval((2.0 * s - hi - lo) / (hi - lo), c)
    combine = ARTIFACT["combine"]
    if combine == "relu":
        return 0.5 * (x + x * s)
    if combine == "abs":
        return x * s
    if combine == "step":
        return 0.5 * (1.0 + s)
    return s


def sample_inputs(samples=None):
    """Evenly spread points of the artifact's metric grid (its domain minus the excluded gap)."""
    lo, hi = ARTIFACT["domain"]
    grid = np.linspace(lo, hi, ARTIFACT["grid_points"])
    if ARTIFACT["exclude"] is not None:
        a, b = ARTIFACT["exclude"]
        grid = grid[(grid <= a) | (grid >= b)]
    n = min(int(samples or ARTIFACT["samples"]), len(grid))
    return grid[np.unique(np.round(np.linspace(0, len(grid) - 1, n)).astype(int))]


def main():
    x = sample_inputs()
    expected = reference(x)
    started = time.perf_counter()
    run = run_check(x)
    seconds = time.perf_counter() - started
    error = float(np.max(np.abs(np.asarray(run.pop("outputs"), dtype=float) - expected)))
    claimed = ARTIFACT["depth_backends"].get(ENGINE)
    levels = run.get("levels_used")
    ok = error <= TOLERANCE and (levels is None or claimed is None or levels == claimed)
    if "rounds" in run:  # MPC: CrypTen's counted rounds against the schedule's
        ok = ok and run["rounds"] == run.get("rounds_claimed", run["rounds"])
    lo, hi = ARTIFACT["domain"]
    print(f"{ENGINE}: {len(x)} samples of [{lo:g}, {hi:g}], max |{ENGINE} - artifact| = {error:.3e} "
          f"(tolerance {TOLERANCE:g})" + ("" if levels is None else f", {levels} levels used, claimed {claimed}"))
    summary = {"engine": ENGINE, "ok": bool(ok), "levels_used": levels, "levels_claimed": claimed,
               "max_error_vs_artifact": error, "tolerance": TOLERANCE, "samples": int(len(x)),
               "seconds": round(seconds, 3), **run}
    print(json.dumps(summary))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
'''


def render(*, engine: str, title: str, usage: str, artifact: dict, schedule: dict, tolerance: float,
           engine_code: str) -> str:
    """The whole program: header, data literals, engine code, common code."""
    header = HEADER.format(title=title, engine=engine, version=__version__, usage=usage)
    data = (f"ENGINE = {python_literal(engine)}\n"
            f"TOLERANCE = {python_literal(float(tolerance))}  # largest accepted |engine - artifact|\n\n"
            f"ARTIFACT = {python_literal(artifact)}\n\n"
            f"SCHEDULE = {python_literal(schedule)}\n")
    return header + data + engine_code + COMMON_CODE
