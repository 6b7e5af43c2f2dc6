"""What a composite stage costs, and the logit coordinates of the degree-set search.

A stage of degree d costs depth(d) CKKS levels and mult(d) ciphertext products, both read off
the project's evaluation plan (``polyfit.plan.stage_plan``) for a generic odd polynomial, so
the search and the artifact's depth report count the same plan. A gap ratio ε = lo/hi is
carried as its logit z = ln(ε/(1 − ε)); a stage whose output ratio has logit z has sign
error τ = 1/(1 + 2e^z).
"""
from __future__ import annotations

import math


def representative_odd_coefficients(degree: int) -> list[float]:
    """An odd polynomial of ``degree`` with generic (non-integer, ≠ 1) odd coefficients."""
    return [0.0 if k % 2 == 0 else 0.5 + k / 1024 for k in range(degree + 1)]


def stage_cost(degree: int) -> tuple[int, int]:
    """(CKKS levels, ct×ct products) of one odd stage, from ``polyfit.plan.stage_plan``."""
    from ...plan import stage_plan

    plan = stage_plan(representative_odd_coefficients(degree))
    return plan.depth, plan.ct_ct_multiplications


def error_from_logit(z: float) -> float:
    """τ = 1/(1 + 2e^z): the sign error of a stage whose output ratio has logit z."""
    if z > 700:
        return 0.0
    w = math.exp(-z) if z > -700 else math.inf
    return w / (w + 2) if math.isfinite(w) else 1.0


def logit_for_error(error: float) -> float:
    """Inverse of :func:`error_from_logit`: e^z = (1/τ − 1)/2 (τ ≥ 1 is clamped: any stage does)."""
    error = min(error, 0.999)
    return math.log((1.0 / error - 1.0) / 2.0)


def logit(epsilon: float) -> float:
    return math.log(epsilon) - math.log1p(-epsilon)
