"""Composite minimax approximations of sign, ReLU, |x|, step and max (Lee, Lee, No, Kim).

A composite s = p_k ∘ … ∘ p_1 of odd polynomials approximates sign on [−1, −ε] ∪ [ε, 1]:

- p_1 is the odd minimax approximation of sign on [−1, −ε] ∪ [ε, 1] (multi-interval Remez,
  :mod:`polyfit.solvers.sign_remez`), with error τ_1, so p_1 maps [ε, 1] onto
  [1 − τ_1, 1 + τ_1] (the lower end p_1(ε) is computed directly);
- p_{i+1} is refitted on that image (and its mirror), the minimax on [lo_i, hi_i]; the
  ratio ε_{i+1} = lo_i/hi_i is all that matters, since sign is scale invariant.

The final error τ_k is the sign error on |x| ≥ ε. In logit coordinates z = ln(ε/(1 − ε)) each
stage of degree d is a map z ↦ z′ = F_d(z) (tabulated by Remez on a grid of z and interpolated
by a cubic spline; asymptotically linear, slope 1 for ε → 0 and (d + 1)/2 for ε → 1), and
τ = 1/(1 + 2e^z′).

Degree sets (Lee et al.'s dynamic programme). A stage of degree d costs depth(d) levels and
mult(d) ciphertext products, both read off the project's evaluation plan
(``polyfit.plan.stage_plan(coefficients)``). States (depth, mults) keep the largest z
reachable; transitions add one stage; a state dominated by one with ≤ depth, ≤ mults and
≥ z is not expanded. Candidates reaching the target are ordered by (depth, mults) (or
(mults, depth) for ``order="multiplications"``) and verified by actually computing the stages:
the first that meets the target is returned, so the reported error is always the computed one.

ReLU, |x|. relu(x) ≈ x(1 + s(x))/2 has error |x|·|s(x) − sign(x)|/2 on all of [−1, 1], so the
gap need not be tiny: ε is a design parameter, chosen to minimise the measured ReLU error
(coarse scan then Brent in log2 ε) unless the caller fixes it. Candidates come from the DP
started at the model ε = 2^(4 − α) with the necessary condition τ ≤ 2^(1 − α).

Inputs in [−B, B] are scaled by ``input_scale`` = 1/B, which the plan folds into the first
stage's coefficients (no extra level).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ComputationError, InputError
from .sign_remez import (SignStageFit, exact_chebyshev_coefficients, interval_from_logit, next_logit,
                         reference_from_window, reference_in_window, sign_stage)

FUNCTIONS = ("sign", "relu", "abs", "step")
ORDERS = ("depth", "multiplications")
DEFAULT_MAX_DEGREE = 31
MAX_DEGREE_LIMIT = 63
Z_SPACING = 0.5
TABLE_FLOOR = 1e-12            # below this error a stage map is extrapolated (slope (d + 1)/2)
MAX_CANDIDATES = 12
ALPHA_RANGE = (1.0, 40.0)


# --------------------------------------------------------------------------------------
# Costs from the evaluation plan
# --------------------------------------------------------------------------------------
def representative_odd_coefficients(degree: int) -> list[float]:
    """An odd polynomial of ``degree`` with generic (non-integer, ≠ 1) odd coefficients."""
    return [0.0 if k % 2 == 0 else 0.5 + k / 1024 for k in range(degree + 1)]


def stage_cost(degree: int) -> tuple[int, int]:
    """(CKKS levels, ct×ct products) of one odd stage, from ``polyfit.plan.stage_plan``."""
    from ..plan import stage_plan

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


# --------------------------------------------------------------------------------------
# Stage maps z ↦ z′ (tabulated Remez)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StageMap:
    """z ↦ z′ for one degree: cubic spline on Remez samples, linear beyond them."""

    degree: int
    z: tuple
    z_next: tuple

    def __call__(self, z: float) -> float:
        zs, ys = self.z, self.z_next
        if len(zs) == 1:
            return ys[0] + (z - zs[0])
        if z <= zs[0]:
            return ys[0] + (z - zs[0]) * (ys[1] - ys[0]) / (zs[1] - zs[0])
        if z >= zs[-1]:
            return ys[-1] + (z - zs[-1]) * (self.degree + 1) / 2
        i = min(int((z - zs[0]) / (zs[1] - zs[0])), len(zs) - 2)
        # cubic through the four nearest samples (Lagrange), linear at the ends
        lo = max(0, min(i - 1, len(zs) - 4))
        idx = range(lo, min(lo + 4, len(zs)))
        if len(idx) < 4:
            t = (z - zs[i]) / (zs[i + 1] - zs[i])
            return ys[i] + t * (ys[i + 1] - ys[i])
        total = 0.0
        for j in idx:
            w = 1.0
            for m in idx:
                if m != j:
                    w *= (z - zs[m]) / (zs[j] - zs[m])
            total += w * ys[j]
        return total


def stage_map(degree: int, z_lo: float, z_hi: float, spacing: float = Z_SPACING, tol: float = 1e-7) -> StageMap:
    """Tabulate F_d on z_lo … z_hi by float64 Remez, warm-started from the previous point."""
    zs, ys = [], []
    window = None
    for z in np.arange(z_lo, z_hi + spacing, spacing):
        lo, hi = interval_from_logit(float(z))
        reference = None if window is None else reference_from_window(window, lo, hi)
        try:
            fit = sign_stage(degree, lo, hi, reference=reference, precision="float64", tol=tol)
        except ComputationError:
            try:
                fit = sign_stage(degree, lo, hi, precision="float64", tol=tol)
            except ComputationError:
                break
        zs.append(float(z))
        ys.append(next_logit(fit))
        window = reference_in_window(fit.reference, lo, hi)
        if fit.error < TABLE_FLOOR:
            break
    if not zs:
        raise ComputationError(f"could not tabulate stages of degree {degree} near z = {z_lo:.3g}")
    return StageMap(degree, tuple(zs), tuple(ys))


# --------------------------------------------------------------------------------------
# Degree-set dynamic programme and Pareto front
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DegreeSet:
    """A composite's degrees with its cost and predicted final sign error."""

    degrees: tuple
    depth: int
    multiplications: int
    z: float

    @property
    def predicted_error(self) -> float:
        return error_from_logit(self.z)


def candidate_degrees(max_degree: int) -> list[int]:
    return list(range(3, max_degree + 1, 2))


def stage_maps(max_degree: int, z_start: float, z_target: float | None) -> dict:
    """{degree: StageMap} for the odd degrees 3 … max_degree on z_start − ½ … z_target + 1."""
    z_hi = max((z_target if z_target is not None else 30.0), z_start) + 1.0
    return {d: stage_map(d, z_start - Z_SPACING, z_hi) for d in candidate_degrees(max_degree)}


def search_degree_sets(z_start: float, z_target: float | None, *, max_degree: int = DEFAULT_MAX_DEGREE,
                       depth_limit: int = 64, slack_after_feasible: int | None = 2,
                       maps: dict | None = None) -> list[DegreeSet]:
    """All non-dominated states of the DP (see module doc), up to ``depth_limit`` levels.

    With a target, states reaching it are terminal; with ``slack_after_feasible`` the search
    stops that many levels after the first feasible depth. ``maps`` (from :func:`stage_maps`)
    may be passed to reuse the tabulation.
    """
    degrees = candidate_degrees(max_degree)
    costs = {d: stage_cost(d) for d in degrees}
    maps = maps if maps is not None else stage_maps(max_degree, z_start, z_target)
    best: dict[tuple[int, int], tuple[float, tuple]] = {(0, 0): (z_start, ())}
    expanded: list[tuple[int, int, float]] = []
    states: list[DegreeSet] = []
    first_feasible = None
    for depth in range(0, depth_limit + 1):
        if first_feasible is not None and slack_after_feasible is not None and depth > first_feasible + slack_after_feasible:
            break
        for key in sorted(k for k in best if k[0] == depth):
            z, seq = best[key]
            mults = key[1]
            if any(d2 <= depth and m2 <= mults and z2 >= z and (d2, m2) != key for d2, m2, z2 in expanded):
                continue
            expanded.append((depth, mults, z))
            if seq:
                states.append(DegreeSet(seq, depth, mults, z))
            if z_target is not None and z >= z_target and seq:   # at least one stage, even for easy targets
                first_feasible = depth if first_feasible is None else first_feasible
                continue
            if z > 40.0:   # error below 1e-17: nothing left to gain in float64
                continue
            for d in degrees:
                dd, md = costs[d]
                new_key = (depth + dd, mults + md)
                if new_key[0] > depth_limit:
                    continue
                z_new = maps[d](z)
                if z_new <= z + 1e-9:
                    continue
                if new_key not in best or z_new > best[new_key][0]:
                    best[new_key] = (z_new, seq + (d,))
    return states


def pareto_front(alpha: float | None = None, epsilon: float | None = None, *, function: str = "sign",
                 max_depth: int | None = None, max_degree: int = DEFAULT_MAX_DEGREE) -> list[dict]:
    """Pareto front of (depth, multiplications, sign error) over composite degree sets.

    Args:
        alpha: sets ε = 2^−α when ``epsilon`` is not given.
        epsilon: gap half-width (inputs |x| ≥ ε on [−1, 1]).
        function: "relu"/"abs" add the final product by x (+1 level, +1 product).
        max_depth: total levels explored (default: 14, or 2α + 4 with alpha).
        max_degree: largest odd stage degree considered (≤ 63).

    Returns:
        Plain dicts sorted by depth then multiplications: ``degrees``, ``depth``,
        ``multiplications``, ``predicted_error`` (sign error on |x| ≥ ε, from the tabulated
        stage maps) and ``log2_error``; no point is dominated in all three.

    >>> front = pareto_front(epsilon=0.25, max_depth=6)
    >>> [p["degrees"] for p in front][:2]
    [[3], [5]]
    """
    function = _check_function(function)
    if epsilon is None:
        if alpha is None:
            raise InputError("pareto_front needs alpha or epsilon")
        epsilon = 2.0 ** -_check_alpha(alpha)
    epsilon = _check_epsilon(epsilon)
    max_degree = _check_max_degree(max_degree)
    extra = 1 if function in ("relu", "abs") else 0
    if max_depth is None:
        max_depth = int(2 * alpha + 4) if alpha is not None else 14
    states = search_degree_sets(logit(epsilon), None, max_degree=max_degree, depth_limit=max_depth - extra,
                                slack_after_feasible=None)
    points = [(s.depth + extra, s.multiplications + extra, s.predicted_error, s) for s in states]
    front = []
    for p in points:
        if not any(q[0] <= p[0] and q[1] <= p[1] and q[2] <= p[2] and q[:3] != p[:3] for q in points):
            front.append(p)
    front.sort(key=lambda p: (p[0], p[1], p[2]))
    return [{"degrees": list(s.degrees), "depth": d, "multiplications": m, "predicted_error": e,
             "log2_error": math.log2(e) if e > 0 else -math.inf} for d, m, e, s in front]


# --------------------------------------------------------------------------------------
# Computing stages
# --------------------------------------------------------------------------------------
def sign_stages(degrees, epsilon: float) -> list[SignStageFit]:
    """Remez stage by stage: stage 0 on [ε, 1], each next one on the previous image."""
    lo, hi = float(epsilon), 1.0
    fits = []
    for i, degree in enumerate(degrees):
        try:
            fit = sign_stage(degree, lo, hi)
        except ComputationError as exc:
            raise ComputationError(f"stage {i} (degree {degree}) did not converge: {exc}") from None
        fits.append(fit)
        lo, hi = fit.image
    return fits


def weighted_sign_error(stage_functions, epsilon: float) -> float:
    """max over x ∈ (0, 1] of x·|s(x) − 1| (= 2·ReLU error = |x| error of the composite)."""
    x = np.unique(np.concatenate([np.linspace(0.0, 1.0, 20001),
                                  np.geomspace(max(epsilon, 1e-300) * 2.0 ** -8, min(1.0, 16 * epsilon), 4001)]))
    s = x
    for f in stage_functions:
        s = f(s)
    return float(np.max(x * np.abs(s - 1.0)))


def sign_error_outside_gap(stage_functions, epsilon: float) -> float:
    """max over x ∈ [ε, 1] of |s(x) − 1| (dense grid, log-spaced near ε)."""
    x = np.unique(np.concatenate([np.linspace(epsilon, 1.0, 20001), np.geomspace(epsilon, 1.0, 4001)]))
    s = x
    for f in stage_functions:
        s = f(s)
    return float(np.max(np.abs(s - 1.0)))


def _fit_functions(fits):
    return [lambda t, c=np.asarray(f.coefficients): np.polynomial.polynomial.polyval(t, c) for f in fits]


def best_relu_epsilon(degrees, *, center: float | None = None,
                      give_up_above: float | None = None) -> tuple[float, list[SignStageFit], float]:
    """ε minimising max x|s(x) − 1| over (0, 1]: coarse scan in log2 ε, then bounded Brent.

    Returns (ε, stage fits, weighted error). With ``give_up_above``, a coarse minimum above
    it returns at once (refinement gains a few per cent, not more).
    """
    from scipy.optimize import minimize_scalar

    cache: dict[float, tuple[float, list]] = {}

    def objective(log2_eps: float) -> float:
        key = round(float(log2_eps), 6)
        if key not in cache:
            try:
                fits = sign_stages(degrees, 2.0 ** key)
                cache[key] = (weighted_sign_error(_fit_functions(fits), 2.0 ** key), fits)
            except ComputationError:
                cache[key] = (math.inf, [])
        return cache[key][0]

    lo, hi = (center - 3.0, min(-0.25, center + 2.0)) if center is not None else (-30.0, -0.25)
    coarse = np.arange(lo, hi + 1e-9, 0.5)
    values = [objective(v) for v in coarse]
    i = int(np.argmin(values))
    a, b = coarse[max(i - 1, 0)], coarse[min(i + 1, len(coarse) - 1)]
    if b > a and (give_up_above is None or values[i] <= give_up_above):
        minimize_scalar(objective, bounds=(a, b), method="bounded", options={"xatol": 2e-3})
    key = min(cache, key=lambda k: cache[k][0])
    value, fits = cache[key]
    if not math.isfinite(value):
        raise ComputationError(f"no gap width ε gave a converging composite of degrees {list(degrees)}")
    return 2.0 ** key, fits, value


def balanced_epsilon(degrees) -> tuple[float, list[SignStageFit]]:
    """The smallest ε with sign error ≤ ε on |x| ≥ ε (the degrees' own precision), by bisection."""
    lo, hi = -40.0, -0.05
    best = None
    for _ in range(40):
        mid = (lo + hi) / 2
        try:
            fits = sign_stages(degrees, 2.0 ** mid)
            ok = fits[-1].error <= 2.0 ** mid
        except ComputationError:
            fits, ok = None, False
        if ok:
            hi, best = mid, fits
        else:
            lo = mid
        if hi - lo < 1e-3:
            break
    if best is None:
        best = sign_stages(degrees, 2.0 ** hi)
    return 2.0 ** hi, best


# --------------------------------------------------------------------------------------
# Stages for the artifact
# --------------------------------------------------------------------------------------
def stage_from_fit(fit: SignStageFit, half_width: float, tolerance: float, basis: str = "auto"):
    """The artifact stage of a Remez fit: monomial, or Chebyshev over [−U, U] when Horner's
    rounding (≈ max|c_k|·(d + 1)·16·2^−53) would exceed 1% of ``tolerance``."""
    from ..approximation import Stage

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


# --------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------
def _check_function(function) -> str:
    if function not in FUNCTIONS:
        raise InputError(f"unknown function {function!r}; allowed: {', '.join(FUNCTIONS)}")
    return function


def _check_alpha(alpha) -> float:
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise InputError(f"alpha {alpha!r} must be a number in [1, 40]") from None
    if not (ALPHA_RANGE[0] <= value <= ALPHA_RANGE[1]):
        raise InputError(f"alpha {alpha!r} is out of range; allowed: 1 ≤ alpha ≤ 40 (bits of precision)")
    return value


def _check_epsilon(epsilon) -> float:
    try:
        value = float(epsilon)
    except (TypeError, ValueError):
        raise InputError(f"epsilon {epsilon!r} must be a number with 0 < epsilon < 1") from None
    if not (0.0 < value < 1.0):
        raise InputError(f"epsilon {epsilon!r} is out of range; allowed: 0 < epsilon < 1 (fraction of the range)")
    return value


def _check_degrees(degrees) -> tuple[int, ...]:
    if isinstance(degrees, str):
        try:
            degrees = [int(v) for v in degrees.split(",")]
        except ValueError:
            raise InputError(f"degrees {degrees!r} must be odd positive integers, e.g. 7,7,13") from None
    try:
        out = tuple(degrees)
    except TypeError:
        raise InputError(f"degrees {degrees!r} must be a list of odd positive integers, e.g. [7, 7, 13]") from None
    if not out:
        raise InputError("degrees must name at least one stage, e.g. [7, 7, 13]")
    for d in out:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 or d % 2 == 0:
            raise InputError(f"degree {d!r} in {list(out)} is not an odd positive integer (allowed: 1, 3, 5, …, {MAX_DEGREE_LIMIT})")
        if d > MAX_DEGREE_LIMIT:
            raise InputError(f"degree {d} in {list(out)} is above the supported {MAX_DEGREE_LIMIT}")
    return tuple(int(d) for d in out)


def _check_max_degree(max_degree) -> int:
    from ..problem import check_integer

    return check_integer(max_degree, "max_degree", 3, MAX_DEGREE_LIMIT)


def _check_bound(domain) -> float:
    """B from ``B`` or a symmetric ``(-B, B)`` (validated by :func:`polyfit.problem.check_domain`)."""
    from ..problem import check_domain

    lo, hi = check_domain(domain)
    if lo != -hi:
        raise InputError(f"domain {domain!r} must be symmetric (-B, B) or a number B > 0")
    return hi


# --------------------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------------------
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
    from ..problem import check_integer
    from ..reports import Stopwatch, assemble

    function = _check_function(function)
    if order not in ORDERS:
        raise InputError(f"unknown order {order!r}; allowed: {', '.join(ORDERS)}")
    if basis not in ("auto", "monomial", "chebyshev"):
        raise InputError(f"unknown basis {basis!r}; allowed: auto, monomial, chebyshev")
    chosen = [name for name, v in (("alpha", alpha), ("degrees", degrees), ("preset", preset)) if v is not None]
    if len(chosen) != 1:
        raise InputError("give exactly one of alpha, degrees, preset" + (f" (got {', '.join(chosen)})" if chosen else ""))
    bound = _check_bound(domain)
    max_degree = _check_max_degree(max_degree)
    if epsilon is not None:
        epsilon = _check_epsilon(epsilon)
    if max_depth is not None:
        max_depth = check_integer(max_depth, "max_depth", 1)
    extra = 1 if function in ("relu", "abs") else 0

    if degrees is not None:
        degrees = _check_degrees(degrees)
    fixed = degrees if degrees is not None else (_preset_degrees(preset) if preset is not None else None)
    if max_depth is not None and fixed is not None:
        depth = sum(stage_cost(d)[0] for d in fixed) + extra
        if depth > max_depth:
            raise InputError(f"degrees {list(fixed)} need {depth} levels, above max_depth {max_depth}")
    with Stopwatch() as sw:
        if preset is not None:
            parts = _from_preset(preset, function, bound, epsilon)
        elif degrees is not None:
            design = _design_for_degrees(degrees, function, epsilon)
        else:
            design = _design_for_alpha(_check_alpha(alpha), function, epsilon, max_depth, extra, order, max_degree)
    if preset is None:
        parts = _from_design(design, function, bound, basis, alpha, max_depth, order, max_degree)
    stages, objective, provenance, exclude = parts
    provenance["elapsed_s"] = sw.elapsed
    return assemble(function, (-bound, bound), stages, objective=objective, provenance=provenance,
                    input_scale=1.0 / bound, combine="none" if function == "sign" else function, exclude=exclude)


def _preset_degrees(name) -> list[int]:
    from ..presets import get_preset

    return get_preset(name).degrees


@dataclass(frozen=True)
class _Design:
    degrees: tuple
    epsilon: float
    fits: list
    epsilon_choice: str
    search: dict


def _relu_alpha(alpha: float, function: str) -> float:
    """Bits w with max x|s − 1| ≤ 2^−w: relu error = x|s − 1|/2 (w = α − 1), abs = x|s − 1| (w = α)."""
    return alpha - 1.0 if function == "relu" else alpha


def _design_for_degrees(degrees, function, epsilon) -> _Design:
    if epsilon is not None:
        return _Design(degrees, epsilon, sign_stages(degrees, epsilon), "given", {})
    if function in ("relu", "abs"):
        eps, fits, _ = best_relu_epsilon(degrees)
        return _Design(degrees, eps, fits, "minimises the measured error", {})
    eps, fits = balanced_epsilon(degrees)
    return _Design(degrees, eps, fits, "balanced: sign error ≤ ε on |x| ≥ ε", {})


def _design_for_alpha(alpha, function, epsilon, max_depth, extra, order, max_degree) -> _Design:
    relu_like = function in ("relu", "abs")
    if relu_like:
        weighted_bits = _relu_alpha(alpha, function)          # need max x|s − 1| ≤ 2^−weighted_bits
        model_eps = epsilon if epsilon is not None else min(0.5, 2.0 ** (3.0 - weighted_bits))
        target_error = 2.0 ** -weighted_bits                     # necessary: x|s − 1| at x = 1
    else:
        model_eps = epsilon if epsilon is not None else 2.0 ** -alpha
        target_error = 2.0 ** -(alpha - 1.0 if function == "step" else alpha)
    z_start, z_target = logit(model_eps), logit_for_error(target_error)
    limit = 64 if max_depth is None else max_depth - extra
    if limit < 2:
        raise InputError(f"max_depth {max_depth} is below the least depth of any composite ({2 + extra} levels)")
    slack = None if order == "multiplications" else 2
    maps = stage_maps(max_degree, z_start, z_target)
    states = [s for s in search_degree_sets(z_start, z_target, max_degree=max_degree, depth_limit=limit,
                                            slack_after_feasible=slack, maps=maps) if s.z >= z_target]
    if not states:
        if max_depth is not None:
            unbounded = [s for s in search_degree_sets(z_start, z_target, max_degree=max_degree, depth_limit=64,
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
                value, choice = weighted_sign_error(_fit_functions(fits), epsilon), "given"
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
            return _Design(state.degrees, eps, fits, choice, {"candidates": tried, "order": order})
    best = min(tried, key=lambda t: t["achieved_log2_error"])
    raise ComputationError(f"none of the {len(tried)} cheapest degree sets reached alpha {alpha:g} once computed "
                           f"(best tried: {best['degrees']} at 2^{best['achieved_log2_error']:.2f})")


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


def _from_design(design: _Design, function, bound, basis, alpha, max_depth, order, max_degree):
    """Stages, objective, provenance and metric exclusion of a computed composite."""
    from ..plan import stage_plan

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


def _from_preset(name, function, bound, epsilon):
    """Stages, objective, provenance and metric exclusion of a published composite."""
    from ..approximation import Stage
    from ..plan import stage_plan
    from ..presets import get_preset

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
                      "depth": plan.depth, "multiplications": plan.ct_ct_multiplications, "certificate": None})
        lo, hi = image
    exclude, errors = _error_reports(stages, eps, bound, function)
    objective = {"norm": "linf", "problem": "composite-preset", "function": function, "preset": preset.name,
                 "epsilon": eps, "range": bound, "degrees": preset.degrees, "stage_names": list(preset.stage_names),
                 "stage_intervals": [t["interval"] for t in table]}
    provenance = {"solver": "composite-preset", "backend": "published", "elapsed_s": None,
                  "options": {"preset": preset.name, "function": function, "range": bound, "epsilon": eps},
                  "source": preset.source, "stages": table, **errors}
    return stages, objective, provenance, exclude


# --------------------------------------------------------------------------------------
# max(a, b)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MaxApproximation:
    """max(a, b) ≈ ((a + b) + (a − b)·s(a − b))/2 with s the composite sign of ``sign``.

    Valid for |a − b| ≤ B (the sign composite's range), e.g. |a|, |b| ≤ B/2. Its error is
    |a − b|·|s − sign|/2, i.e. the ReLU error of the same composite at a − b, so a composite
    built with function="relu" (or "abs") is the natural input.
    """

    sign: object

    def __call__(self, a, b):
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        d = a - b
        s = self.sign.stage_outputs(d)[-1]  # the composite sign of a − b, without its combine
        return ((a + b) + d * s) / 2

    @property
    def difference_bound(self) -> float:
        return float(self.sign.domain[1])

    @property
    def ckks_levels(self) -> int:
        """Levels: the sign stages plus the product (a − b)·s."""
        from ..plan import stage_plan

        return sum(stage_plan(s.monomial_coefficients()).depth for s in self.sign.stages) + 1

    def __repr__(self) -> str:
        return f"MaxApproximation(degrees={self.sign.degrees}, |a - b| <= {self.difference_bound:g}, ckks_levels={self.ckks_levels})"


def max_approximation(sign_approximation) -> MaxApproximation:
    """max(a, b) from a composite sign (any combine: only its stages and input_scale are used).

    >>> m = max_approximation(composite(degrees=[7, 7], function="relu"))
    >>> float(abs(m(0.3, -0.2) - 0.3)) < 0.01
    True
    """
    if not hasattr(sign_approximation, "stages"):
        raise InputError("max_approximation needs an Approximation from composite(...)")
    return MaxApproximation(sign_approximation)
