"""Fitting and scoring one point of the search: top-level functions, so that process
executors can pickle them."""
from __future__ import annotations

import time
import warnings

import numpy as np

from ...errors import InputError, PolyfitError


def portable_target(target):
    """A picklable stand-in for ``target`` (process executors): ``("expr", text)`` for a
    parsed SymPy expression (its numpy function is a closure made by lambdify); any other
    Target (named targets are module-level functions) is passed as it is."""
    if target.name == "expr" and target.expr:
        return ("expr", target.expr)
    return target


def _resolve_target(spec):
    from ...targets import parse_expr

    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "expr":
        return parse_expr(spec[1])
    return spec


def evaluate_point(target, point: dict, objective, fit_options: dict) -> dict:
    """Fit ``point`` with :func:`polyfit.fit` and score it; never raises for a bad fit.

    ``target`` is a Target or what :func:`portable_target` made of one. Returns a dict with
    score (NaN when the fit or the objective failed), ckks_levels, info, fit_s and
    objective_s.
    """
    from ...fitting import fit

    target = _resolve_target(target)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            approx = fit(target, point["degree"], point["range"], bits=point["bits"], method=point["method"], **fit_options)
        except PolyfitError as exc:
            return {"score": float("nan"), "ckks_levels": None, "info": {"failure": " ".join(str(exc).split())},
                    "fit_s": time.perf_counter() - t0, "objective_s": 0.0}
        t1 = time.perf_counter()
        with np.errstate(all="ignore"):
            out = objective(approx)
        t2 = time.perf_counter()
    if isinstance(out, dict):
        if "score" not in out:
            raise InputError(f"objective returned a dict without 'score' (keys: {sorted(out)})")
        info = {k: v for k, v in out.items() if k != "score"}
        score = out["score"]
    else:
        info, score = {}, out
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise InputError(f"objective returned {score!r}; it must return a number or a dict with 'score'") from None
    notes = sorted({" ".join(str(w.message).split()) for w in caught})
    if notes:
        info["fit_warnings"] = notes
    return {"score": score, "ckks_levels": int(approx.depth.get("ckks_levels")) if approx.depth else None,
            "info": info, "fit_s": t1 - t0, "objective_s": t2 - t1}
