"""Taylor polynomials from exact power series.

    p(x) = Σ_{k=0..d} a_k (x − c)^k,   a_k = f^(k)(c)/k!

At a point where the target is not smooth (ReLU, |x|, sign at 0) the one-sided series
differ; we use their average, the *symmetric* series

    a_k = (a_k⁺ + a_k⁻)/2,   a_k^± = coefficients of the series of f(c ± h), h > 0.

For ReLU at 0 this gives a_1 = (1 + 0)/2 = 1/2, the symmetric derivative, and the
polynomial 0.5·x that Sisyphus reports. Where f is analytic both sides agree and the
result is the ordinary Taylor polynomial. Coefficients come from power-series recurrences
(:mod:`polyfit.solvers._series`, O(d²) operations: degree 400 in seconds where
``sympy.series`` took minutes), exactly — rationals where the values at the center are
rational, 60-digit floats where they are not — and are rounded to float64 once, after
expanding to monomials in x.
"""
from __future__ import annotations

import math

from ..approximation import Stage
from ..errors import ComputationError, InputError
from ..certificate import Certificate
from ..reports import Stopwatch, assemble
from ..targets import NAMED, get_target, parse_expr, sympy_expr
from ..validate import check_degree, check_domain, real_number


MAX_DEGREE = 400      # every named target, center 0 or 1/2, takes ≤ 8 s at this degree (docs/solvers/taylor.md)
SERIES_SECONDS = 60.0  # time budget of the recurrences for any expression
KINKS = ("Abs", "Max", "Min", "sign", "Heaviside", "Piecewise")


def taylor(target, degree, center=0.0, domain=None):
    """Taylor polynomial of ``target`` of ``degree`` about ``center``.

    Args:
        target: a name, a :class:`~polyfit.targets.Target` with an expression, or a SymPy
            expression string in x (Python callables have no series).
        degree: 0 … 400.
        center: expansion point c (a number; strings are refused).
        domain: where the metrics are measured: ``A`` for [-A, A] or (lo, hi);
            default [c − 1, c + 1].

    >>> taylor("relu", 1).stages[0].coefficients
    (0.0, 0.5)
    """
    import sympy

    degree = check_degree(degree)
    if degree > MAX_DEGREE:
        raise InputError(f"taylor degree {degree} is out of range; allowed: 0 to {MAX_DEGREE}")
    if isinstance(target, str) and target.strip().lower() not in NAMED:
        target = parse_expr(target)
    target = get_target(target)
    center = real_number(center, "center")
    domain = check_domain(domain if domain is not None else (center - 1.0, center + 1.0))
    expr, x = sympy_expr(target)
    c = sympy.nsimplify(center, rational=True) if center != 0.0 else sympy.Integer(0)
    with Stopwatch() as sw:
        series = symmetric_series(expr, x, c, degree)
        mono = shifted_to_monomial(series, c)
    try:
        coefficients = [float(sympy.N(a, 30)) for a in mono]
    except (TypeError, ValueError):
        raise ComputationError(f"Taylor coefficients of {target.name!r} at {center:g} are not real numbers") from None
    if not all(math.isfinite(v) for v in coefficients):
        raise ComputationError(f"Taylor coefficients of {target.name!r} at {center:g} are not finite (singular point?)")
    objective = {"norm": "taylor", "center": center, "order": degree,
                 "kink_rule": "symmetric: average of the one-sided series of f(c+h) and f(c-h)"}
    certificate = Certificate("heuristic", False, message=(
        "a Taylor polynomial matches derivatives at the center; it minimises no error on the domain, "
        "so nothing about the domain error is proven"))
    provenance = {"solver": "taylor", "backend": "sympy", "elapsed_s": sw.elapsed,
                  "options": {"center": center, "degree": degree},
                  "series_coefficients": [str(a) for a in series],
                  "series_variable": "x - center",
                  "certificate": certificate.to_dict()}
    mono = assemble(target, domain, [Stage("monomial", coefficients)], objective=objective, provenance=provenance)
    return _keep_accurate_basis(mono, series, center, domain)


def _keep_accurate_basis(mono, series, center: float, domain):
    """``mono`` (the exact monomial coefficients, each rounded to float64 once), or the same
    Taylor polynomial in the Chebyshev basis of the domain when that rounding moves its values.

    Far from 0 the expansion of Σ a_k (x − c)^k in powers of x cancels (exp about 50 on
    [40, 60]: monomial coefficients ~1e37 for values ~1e26), so one rounding per coefficient
    changes the polynomial itself. The rule is fit's ``basis="auto"`` (docs/defaults.md):
    monomial when max over the metric grid |p_monomial − p_chebyshev| ≤ max(1 % of the Taylor
    polynomial's max error, 1e-12·max(1, max|p|)). The Chebyshev coefficients interpolate p at
    d + 1 Chebyshev points, where p is evaluated in its shifted form with 40 digits.
    """
    import mpmath
    import numpy as np

    from ..fitting import AUTO_BASIS_FLOOR, AUTO_BASIS_RELATIVE
    from ..metrics import metric_grid

    n = len(series)
    lo, hi = domain
    theta = np.pi * (np.arange(n) + 0.5) / n
    with mpmath.workdps(40):
        a = [mpmath.mpf(str(sympy_number)) for sympy_number in _numeric(series)]
        mid, half, c = mpmath.mpf(lo + hi) / 2, mpmath.mpf(hi - lo) / 2, mpmath.mpf(center)
        values = np.array([float(mpmath.polyval(a[::-1], mid + half * mpmath.cos(t) - c)) for t in theta])
    basis_values = np.cos(np.outer(np.arange(n), theta))  # T_j at the nodes
    cheb = basis_values @ values * (2.0 / n)
    cheb[0] /= 2.0
    if not np.all(np.isfinite(cheb)):
        return mono
    cheb_stage = Stage("chebyshev", tuple(cheb), interval=(lo, hi))
    x = metric_grid(mono.domain, int(mono.metrics["grid_points"]), None)
    with np.errstate(all="ignore"):
        exact = cheb_stage(x)
        change = float(np.max(np.abs(mono.stages[0](x) - exact)))
    scale = max(1.0, float(np.max(np.abs(exact))))
    tolerance = max(AUTO_BASIS_RELATIVE * float(mono.metrics["max_abs_error"]), AUTO_BASIS_FLOOR * scale)
    if change <= tolerance:
        return mono
    provenance = dict(mono.provenance)
    provenance["basis_choice"] = {
        "requested": "auto", "chosen": "chebyshev", "conversion_change": change, "tolerance": tolerance,
        "reason": (f"rounding the monomial coefficients in x (about center {center:g}) changes the Taylor polynomial's "
                   f"values by {change:.2e}, more than the tolerance {tolerance:.2e}")}
    return assemble(mono.target, mono.domain, [cheb_stage], objective=mono.objective, provenance=provenance)


def _numeric(series) -> list:
    import sympy

    return [sympy.N(a, 40) for a in series]


def shifted_to_monomial(series, center) -> list:
    """Coefficients m_j of Σ_k a_k (x − c)^k in powers of x: m_j = Σ_(k≥j) a_k C(k, j) (−c)^(k−j)."""
    import sympy

    if center == 0:
        return list(series)
    n = len(series)
    powers = [sympy.Integer(1)]
    for _ in range(n):
        powers.append(powers[-1] * (-center))
    return [sympy.Add(*[series[k] * math.comb(k, j) * powers[k - j] for k in range(j, n) if series[k] != 0])
            for j in range(n)]


def symmetric_series(expr, x, center, degree: int) -> list:
    """Exact coefficients a_0 … a_d of the symmetric series of ``expr`` about ``center``.

    A smooth expression has one series (built by the recurrences of :mod:`._series`). With a
    kink function (Abs, Max, Min, sign, Heaviside, Piecewise) both one-sided expressions
    f(c ± h), h > 0, are simplified by SymPy's assumptions (Max(0, h) → h) and expanded, and
    their coefficients averaged; ``sympy.series`` is the fallback for what the recurrences do
    not cover.
    """
    import sympy

    kinked = any(expr.has(getattr(sympy, name)) for name in KINKS)
    if not kinked:
        return _one_side(expr, x, center, degree)
    sides = []
    for positive in (True, False):
        h = sympy.Symbol("h", positive=positive, negative=not positive)
        sides.append(_one_side(expr.subs(x, center + h), h, sympy.Integer(0), degree))
    return [(a + b) / 2 if (a + b).is_Number else sympy.simplify((a + b) / 2) for a, b in zip(*sides)]


def _one_side(expr, x, center, degree: int) -> list:
    from ._series import NotSmooth, SeriesTimeout, series

    try:
        return series(expr, x, center, degree, seconds=SERIES_SECONDS)
    except NotSmooth:
        return _sympy_series(expr, x, center, degree)
    except SeriesTimeout as exc:
        raise ComputationError(f"the Taylor series of {expr} about {center} did not finish in {SERIES_SECONDS:g} s "
                               f"(at term {exc.args[0]} of {degree}); use a lower degree") from None


def _sympy_series(expr, x, center, degree: int) -> list:
    """``sympy.series`` of expr about ``center`` (slow; for what the recurrences do not cover)."""
    import sympy

    h = sympy.Dummy("h")
    shifted = expr.subs(x, center + h)
    try:
        s = sympy.series(shifted, h, 0, degree + 1).removeO()
    except Exception as exc:  # SymPy raises assorted types for singular series
        raise ComputationError(f"SymPy could not expand {expr} about {center}: {type(exc).__name__}") from None
    s = sympy.expand(s)
    coeffs = []
    for k in range(degree + 1):
        a = s.coeff(h, k) if k else s.subs(h, 0)
        if a.has(h) or a.has(sympy.O):
            raise ComputationError(f"the series of {expr} about {center} is not a power series (term {k})")
        coeffs.append(sympy.nsimplify(a) if a.is_Float else a)
    return coeffs
