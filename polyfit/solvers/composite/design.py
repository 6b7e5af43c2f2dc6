"""``composite()``: choose the composite (degrees and ε), compute its stages, assemble it."""
from __future__ import annotations

import math

from ...errors import ComputationError, InputError
from ...validate import (MAX_DEPTH_LIMIT, check_alpha, check_bound, check_degrees, check_epsilon, check_function,
                         check_max_degree, check_max_depth)
from .assembly import Design, from_design, from_preset
from .costs import logit, logit_for_error, stage_cost
from .degree_sets import DEFAULT_MAX_DEGREE, search_degree_sets, stage_maps
from .epsilon import balanced_epsilon, best_relu_epsilon, fit_functions, sign_stages, weighted_sign_error

MAX_CANDIDATES = 12

ORDERS = ("depth", "multiplications")


def composite(alpha=None, epsilon=None, degrees=None, preset=None, function: str = "sign", domain=1.0,
              max_depth: int | None = None, order: str = "depth", max_degree: int = DEFAULT_MAX_DEGREE,
              basis: str = "auto"):
    """Composite minimax approximation of sign (or ReLU, |x|, step) on [−B, B].

    Exactly one of ``alpha``, ``degrees``, ``preset`` chooses the composite:

    - ``alpha``: the least-depth (then fewest products; ``order="multiplications"`` swaps
      the two under ``max_depth``) composite of odd minimax stages whose error is ≤ 2^−α:
      sign: |s − sign| on ε·B ≤ |x| ≤ B with ε = ``epsilon`` or 2^−α; step: |(1 + s)/2 − step|
      there; relu, abs: |y − f(x)| ≤ 2^−α·B on all of [−B, B] (ε is then chosen to minimise
      the error unless given).
    - ``degrees``: these odd stage degrees (stage 0 first); ε as given, else chosen (relu,
      abs: least error; sign, step: the balanced ε with error ≤ ε on |x| ≥ ε).
    - ``preset``: a published composite (:mod:`polyfit.presets`), evaluated as published.

    Args:
        function: "sign" (combine none), "relu", "abs" or "step".
        domain: B > 0 (inputs in [−B, B]); ``input_scale`` = 1/B.
        max_depth: most CKKS levels allowed in total (combine included); InputError when no
            composite within it reaches alpha.
        max_degree: largest stage degree the search considers (3 … 63).
        basis: stage basis in the artifact: "auto" (monomial unless Horner's rounding would
            matter, then Chebyshev over [−U, U]), "monomial" or "chebyshev".

    Returns:
        An :class:`~polyfit.approximation.Approximation`; ``provenance["stages"]`` lists each
        stage's degree, interval, image, error, depth, products and Remez certificate.

    >>> a = composite(degrees=[7, 7], function="relu")
    >>> a.degrees, a.depth["ckks_levels"], a.metrics["max_abs_error"] < 2 ** -7.04
    ([7, 7], 7, True)
    """
    from ...reports import Stopwatch, assemble

    function = check_function(function)
    if order not in ORDERS:
        raise InputError(f"unknown order {order!r}; allowed: {', '.join(ORDERS)}")
    if basis not in ("auto", "monomial", "chebyshev"):
        raise InputError(f"unknown basis {basis!r}; allowed: auto, monomial, chebyshev")
    if isinstance(alpha, str):  # composite("relu", ...): the first positional parameter is alpha
        hint = f"; the function is the keyword function={alpha!r}" if alpha in ("sign", "relu", "abs", "step") else ""
        raise InputError(f"alpha {alpha!r} must be a number, 1 ≤ alpha ≤ 40 (bits of precision){hint}")
    chosen = [name for name, v in (("alpha", alpha), ("degrees", degrees), ("preset", preset)) if v is not None]
    if len(chosen) != 1:
        raise InputError("give exactly one of alpha, degrees, preset" + (f" (got {', '.join(chosen)})" if chosen else ""))
    bound = check_bound(domain)
    max_degree = check_max_degree(max_degree)
    if epsilon is not None:
        epsilon = check_epsilon(epsilon)
    if max_depth is not None:
        max_depth = check_max_depth(max_depth)
    extra = 1 if function in ("relu", "abs") else 0

    if degrees is not None:
        degrees = check_degrees(degrees)
    fixed = degrees if degrees is not None else (_preset_degrees(preset) if preset is not None else None)
    if max_depth is not None and fixed is not None:
        depth = sum(stage_cost(d)[0] for d in fixed) + extra
        if depth > max_depth:
            raise InputError(f"degrees {list(fixed)} need {depth} levels, above max_depth {max_depth}")
    with Stopwatch() as sw:
        if preset is not None:
            parts = from_preset(preset, function, bound, epsilon)
        elif degrees is not None:
            design = _design_for_degrees(degrees, function, epsilon)
        else:
            design = _design_for_alpha(check_alpha(alpha), function, epsilon, max_depth, extra, order, max_degree)
    if preset is None:
        parts = from_design(design, function, bound, basis, alpha, max_depth, order, max_degree)
    stages, objective, provenance, exclude = parts
    provenance["elapsed_s"] = sw.elapsed
    return assemble(function, (-bound, bound), stages, objective=objective, provenance=provenance,
                    input_scale=1.0 / bound, combine="none" if function == "sign" else function, exclude=exclude)


def _preset_degrees(name) -> list[int]:
    from ...presets import get_preset

    return get_preset(name).degrees


def _relu_alpha(alpha: float, function: str) -> float:
    """Bits w with max x|s − 1| ≤ 2^−w: relu error = x|s − 1|/2 (w = α − 1), abs = x|s − 1| (w = α)."""
    return alpha - 1.0 if function == "relu" else alpha


def _design_for_degrees(degrees, function, epsilon) -> Design:
    if epsilon is not None:
        return Design(degrees, epsilon, sign_stages(degrees, epsilon), "given", {})
    if function in ("relu", "abs"):
        eps, fits, _ = best_relu_epsilon(degrees)
        return Design(degrees, eps, fits, "minimises the measured error", {})
    eps, fits = balanced_epsilon(degrees)
    return Design(degrees, eps, fits, "balanced: sign error ≤ ε on |x| ≥ ε", {})


def _design_for_alpha(alpha, function, epsilon, max_depth, extra, order, max_degree) -> Design:
    relu_like = function in ("relu", "abs")
    if relu_like:
        weighted_bits = _relu_alpha(alpha, function)          # need max x|s − 1| ≤ 2^−weighted_bits
        model_eps = epsilon if epsilon is not None else min(0.5, 2.0 ** (3.0 - weighted_bits))
        target_error = 2.0 ** -weighted_bits                     # necessary: x|s − 1| at x = 1
    else:
        model_eps = epsilon if epsilon is not None else 2.0 ** -alpha
        target_error = 2.0 ** -(alpha - 1.0 if function == "step" else alpha)
    z_start, z_target = logit(model_eps), logit_for_error(target_error)
    limit = MAX_DEPTH_LIMIT if max_depth is None else max_depth - extra
    if limit < 2:
        raise InputError(f"max_depth {max_depth} is below the least depth of any composite ({2 + extra} levels)")
    slack = None if order == "multiplications" else 2
    maps = stage_maps(max_degree, z_start, z_target)
    states = [s for s in search_degree_sets(z_start, z_target, max_degree=max_degree, depth_limit=limit,
                                            slack_after_feasible=slack, maps=maps) if s.z >= z_target]
    if not states:
        if max_depth is not None:
            unbounded = [s for s in search_degree_sets(z_start, z_target, max_degree=max_degree, depth_limit=MAX_DEPTH_LIMIT,
                                                       slack_after_feasible=0, maps=maps) if s.z >= z_target]
            least = min((s.depth for s in unbounded), default=None)
            reach = (f"reaching alpha {alpha:g} needs at least {least + extra} levels" if least is not None
                     else "no composite reaches it")
            raise InputError(f"max_depth {max_depth} is too small for alpha {alpha:g} ({function}): {reach}")
        raise ComputationError(f"no composite of odd degrees ≤ {max_degree} reaches alpha {alpha:g}")
    key = (lambda s: (s.depth, s.multiplications, -s.z)) if order == "depth" else (lambda s: (s.multiplications, s.depth, -s.z))
    states.sort(key=key)
    tried = []
    halve = 0.5 if function in ("relu", "step") else 1.0    # function error per unit of sign error
    for state in states[:MAX_CANDIDATES]:
        if relu_like:
            if epsilon is None:
                eps, fits, value = best_relu_epsilon(state.degrees, center=math.log2(model_eps),
                                                     give_up_above=1.25 * 2.0 ** -_relu_alpha(alpha, function))
                choice = "minimises the measured error"
            else:
                eps, fits = epsilon, sign_stages(state.degrees, epsilon)
                value, choice = weighted_sign_error(fit_functions(fits), epsilon), "given"
            ok = value <= 2.0 ** -_relu_alpha(alpha, function)
            achieved = value
        else:
            eps, choice = model_eps, ("given" if epsilon is not None else "2^-alpha")
            fits = sign_stages(state.degrees, eps)
            achieved = fits[-1].error
            ok = achieved <= target_error
        # errors of the function itself (relu, abs: on [-1, 1]; the prediction is the part at x = 1 only)
        tried.append({"degrees": list(state.degrees), "depth": state.depth + extra,
                      "multiplications": state.multiplications + extra,
                      "predicted_log2_error": math.log2(max(halve * state.predicted_error, 1e-300)),
                      "achieved_log2_error": math.log2(halve * achieved) if achieved > 0 else -math.inf,
                      "accepted": ok})
        if ok:
            return Design(state.degrees, eps, fits, choice, {"candidates": tried, "order": order})
    best = min(tried, key=lambda t: t["achieved_log2_error"])
    raise ComputationError(f"none of the {len(tried)} cheapest degree sets reached alpha {alpha:g} once computed "
                           f"(best tried: {best['degrees']} at 2^{best['achieved_log2_error']:.2f})")
