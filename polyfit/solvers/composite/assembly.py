"""Assembly: the artifact's stages, objective, provenance and metric exclusion of a composite."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...basis import exact_chebyshev_coefficients
from ...certificate import Certificate
from .epsilon import sign_error_outside_gap, weighted_sign_error
from .sign import SignStageFit


@dataclass(frozen=True)
class Design:
    degrees: tuple
    epsilon: float
    fits: list
    epsilon_choice: str
    search: dict


def stage_from_fit(fit: SignStageFit, half_width: float, tolerance: float, basis: str = "auto"):
    """The artifact stage of a Remez fit: monomial, or Chebyshev over [−U, U] when Horner's
    rounding (≈ max|c_k|·(d + 1)·16·2^−53) would exceed 1% of ``tolerance``."""
    from ...approximation import Stage

    if basis == "auto":
        rounding = max(abs(c) for c in fit.coefficients) * (fit.degree + 1) * 16 * np.finfo(float).eps
        basis = "monomial" if rounding <= 0.01 * tolerance else "chebyshev"
    if basis == "monomial":
        return Stage("monomial", fit.coefficients)
    cheb = tuple(float(c) for c in exact_chebyshev_coefficients(fit.exact, half_width))
    return Stage("chebyshev", cheb, interval=(-half_width, half_width))


def stage_image(stage, lo: float, hi: float) -> tuple[float, float]:
    """(min, max) of a stage on [lo, hi]: ends plus the real critical points inside."""
    mono = np.asarray(stage.monomial_coefficients(), dtype=float)
    points = [lo, hi]
    if len(mono) > 2:
        roots = np.polynomial.polynomial.polyroots(np.polynomial.polynomial.polyder(mono))
        points += [r.real for r in roots if abs(r.imag) < 1e-9 and lo < r.real < hi]
    grid = np.concatenate([np.linspace(lo, hi, 4001), points])
    values = stage(grid)
    return float(np.min(values)), float(np.max(values))


def _log2(error: float):
    """log2 of an error, None for an exact 0 (JSON has no -inf)."""
    return math.log2(error) if error > 0 else None


def _error_reports(stages, epsilon: float, bound: float, function: str):
    """(metric exclude, provenance entries): sign error on |x| ≥ ε and the ReLU/|x| errors on [−B, B]."""
    sign_error = sign_error_outside_gap(stages, epsilon)
    weighted = weighted_sign_error(stages, epsilon)
    exclude = (-epsilon * bound, epsilon * bound) if function in ("sign", "step") else None
    return exclude, {"sign_error": sign_error, "log2_sign_error": _log2(sign_error),
                     "relu_error": weighted / 2 * bound, "abs_error": weighted * bound}


def function_error(errors: dict, function: str) -> float:
    """The composite's error in the function's own units (dense grid, see :func:`_error_reports`)."""
    return {"sign": errors["sign_error"], "step": errors["sign_error"] / 2,
            "relu": errors["relu_error"], "abs": errors["abs_error"]}[function]


def composite_certificate(errors: dict, function: str, *, alpha=None, source: str | None = None) -> Certificate:
    """The whole composite's certificate: its measured error, no proven bound.

    A computed composite is a degree set proposed by the DP over interpolated stage maps and
    then computed; each stage is a certified minimax (its own certificate in ``stages``), but
    the composite's optimality (least depth for its error) is not proven. A preset is published.
    """
    value = function_error(errors, function)
    if source is not None:
        return Certificate(kind="published", certified=False, value=value,
                           message=f"published coefficients ({source}); error measured on a dense grid, nothing re-proven")
    target = f"; target 2^-{alpha:g} met" if alpha is not None else ""
    return Certificate(kind="heuristic", certified=False, value=value,
                       message=f"{function} error measured on a dense grid{target}; each stage is a Remez minimax "
                               "(stages[i].certificate), the degree set's optimality is not proven")


def from_design(design: Design, function, bound, basis, alpha, max_depth, order, max_degree):
    """Stages, objective, provenance and metric exclusion of a computed composite."""
    from ...plan import stage_plan

    fits = design.fits
    tolerance = min(f.error for f in fits)
    stages, table = [], []
    half_width = 1.0
    for i, fit in enumerate(fits):
        stage = stage_from_fit(fit, half_width, tolerance, basis)
        plan = stage_plan(stage.monomial_coefficients())
        stages.append(stage)
        table.append({"stage": i, "degree": fit.degree, "basis": stage.basis, "interval": list(fit.interval),
                      "image": list(fit.image), "error": fit.error, "log2_error": _log2(fit.error),
                      "depth": plan.depth, "multiplications": plan.ct_ct_multiplications,
                      "certificate": fit.certificate()})
        half_width = fit.image[1]
    eps = design.epsilon
    exclude, errors = _error_reports(stages, eps, bound, function)
    objective = {
        "norm": "linf", "problem": "composite-minimax-sign", "function": function,
        "alpha": alpha, "epsilon": eps, "epsilon_choice": design.epsilon_choice, "range": bound,
        "degrees": list(design.degrees), "basis": "odd polynomials; stage i minimax for sign on its interval and mirror",
        "stage_intervals": [list(f.interval) for f in fits], "order": order, "max_depth": max_depth,
        "max_degree": max_degree,
        "error_bound": _error_bound(alpha, function, bound),
    }
    arithmetic = sorted({f.arithmetic for f in fits})
    provenance = {
        "solver": "composite-minimax", "backend": "+".join(arithmetic),
        "options": {"alpha": alpha, "epsilon": eps, "degrees": list(design.degrees), "function": function,
                    "range": bound, "max_depth": max_depth, "order": order, "max_degree": max_degree, "basis": basis},
        "elapsed_s": None,
        "stages": table,
        **errors,
        "certificate": composite_certificate(errors, function, alpha=alpha).to_dict(),
        "method": "Lee, Lee, No, Kim (eprint 2020/834): stage-wise multi-interval Remez, degree-set DP",
    }
    if design.search:
        provenance["search"] = design.search
    return stages, objective, provenance, exclude


def _error_bound(alpha, function, bound):
    if alpha is None:
        return None
    if function in ("relu", "abs"):
        return 2.0 ** -alpha * bound
    return 2.0 ** -alpha


def from_preset(name, function, bound, epsilon):
    """Stages, objective, provenance and metric exclusion of a published composite."""
    from ...approximation import Stage
    from ...plan import stage_plan
    from ...presets import get_preset

    preset = get_preset(name)
    eps = epsilon if epsilon is not None else preset.nominal_epsilon
    stages = [Stage("monomial", c) for c in preset.monomial_stages()]
    lo, hi = eps, 1.0
    table = []
    for i, (stage, stage_name) in enumerate(zip(stages, preset.stage_names)):
        image = stage_image(stage, lo, hi)
        error = max(abs(image[0] - 1.0), abs(image[1] - 1.0))
        plan = stage_plan(stage.monomial_coefficients())
        table.append({"stage": i, "name": stage_name, "degree": stage.degree, "basis": "monomial",
                      "interval": [lo, hi], "image": list(image), "error": error,
                      "log2_error": _log2(error),
                      "depth": plan.depth, "multiplications": plan.ct_ct_multiplications,
                      "certificate": Certificate(kind="published", certified=False, value=error,
                                                 message="published stage coefficients: nothing re-proven").to_dict()})
        lo, hi = image
    exclude, errors = _error_reports(stages, eps, bound, function)
    objective = {"norm": "linf", "problem": "composite-preset", "function": function, "preset": preset.name,
                 "epsilon": eps, "range": bound, "degrees": preset.degrees, "stage_names": list(preset.stage_names),
                 "stage_intervals": [t["interval"] for t in table]}
    provenance = {"solver": "composite-preset", "backend": "published", "elapsed_s": None,
                  "options": {"preset": preset.name, "function": function, "range": bound, "epsilon": eps},
                  "source": preset.source, "stages": table, **errors,
                  "certificate": composite_certificate(errors, function, source=preset.source).to_dict()}
    return stages, objective, provenance, exclude
