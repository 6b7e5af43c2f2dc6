"""Taylor polynomials by SymPy series.

    p(x) = Σ_{k=0..d} a_k (x − c)^k,   a_k = f^(k)(c)/k!

At a point where the target is not smooth (ReLU, |x|, sign at 0) the one-sided series
differ; we use their average, the *symmetric* series

    a_k = (a_k⁺ + a_k⁻)/2,   a_k^± = coefficients of the series of f(c ± h), h > 0.

For ReLU at 0 this gives a_1 = (1 + 0)/2 = 1/2, the symmetric derivative, and the
polynomial 0.5·x that Sisyphus reports. Where f is analytic both sides agree and the
result is the ordinary Taylor polynomial. Coefficients are computed exactly (rationals
where SymPy finds them) and rounded to float64 once, after expanding to monomials in x.
"""
from __future__ import annotations

import math

from ..approximation import Stage
from ..errors import ComputationError, InputError
from ..problem import check_degree, check_domain
from ..reports import Stopwatch, assemble
from ..targets import NAMED, get_target, parse_expr, sympy_expr


def taylor(target, degree, center=0.0, domain=None):
    """Taylor polynomial of ``target`` of ``degree`` about ``center``.

    Args:
        target: a name, a :class:`~polyfit.targets.Target` with an expression, or a SymPy
            expression string in x (Python callables have no series).
        degree: 0 … 1000 (SymPy gets slow beyond a few dozen for transcendental targets).
        center: expansion point c.
        domain: where the metrics are measured: ``A`` for [-A, A] or (lo, hi);
            default [c − 1, c + 1].

    >>> taylor("relu", 1).stages[0].coefficients
    (0.0, 0.5)
    """
    import sympy

    degree = check_degree(degree)
    if isinstance(target, str) and target.strip().lower() not in NAMED:
        target = parse_expr(target)
    target = get_target(target)
    try:
        center_value = float(center)
    except (TypeError, ValueError):
        center_value = math.nan
    if not math.isfinite(center_value):
        raise InputError(f"center {center!r} must be a finite number")
    center = center_value
    domain = check_domain(domain if domain is not None else (center - 1.0, center + 1.0))
    expr, x = sympy_expr(target)
    c = sympy.nsimplify(center, rational=True) if center != 0.0 else sympy.Integer(0)
    with Stopwatch() as sw:
        series = symmetric_series(expr, x, c, degree)
        shifted = sum(a * (x - c) ** k for k, a in enumerate(series))
        poly = sympy.Poly(sympy.expand(shifted), x)
        mono = [poly.coeff_monomial(x**k) for k in range(degree + 1)]
    try:
        coefficients = [float(sympy.N(a, 30)) for a in mono]
    except (TypeError, ValueError):
        raise ComputationError(f"Taylor coefficients of {target.name!r} at {center:g} are not real numbers") from None
    if not all(math.isfinite(v) for v in coefficients):
        raise ComputationError(f"Taylor coefficients of {target.name!r} at {center:g} are not finite (singular point?)")
    objective = {"norm": "taylor", "center": center, "order": degree,
                 "kink_rule": "symmetric: average of the one-sided series of f(c+h) and f(c-h)"}
    provenance = {"solver": "taylor", "backend": "sympy", "elapsed_s": sw.elapsed,
                  "options": {"center": center, "degree": degree},
                  "series_coefficients": [str(a) for a in series],
                  "series_variable": "x - center"}
    return assemble(target, domain, [Stage("monomial", coefficients)], objective=objective, provenance=provenance)


def symmetric_series(expr, x, center, degree: int) -> list:
    """Exact coefficients a_0 … a_d of the symmetric series of ``expr`` about ``center``."""
    import sympy

    sides = []
    for positive in (True, False):
        h = sympy.Symbol("h", positive=positive, negative=not positive)
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
        sides.append(coeffs)
    return [sympy.simplify((a + b) / 2) for a, b in zip(*sides)]
