"""Degree twins: degrees whose fits are the same polynomial, so the search evaluates only one.

Write the target as f = f_e + f_o (even and odd parts, f_e(x) = (f(x) + f(−x))/2). On a
symmetric fitting problem (domain [−a, a], a symmetric grid, no weight) the best polynomial
of degree d is the best even polynomial of degree ≤ E(d) for f_e plus the best odd one of
degree ≤ O(d) for f_o (E(d), O(d): the largest even / odd integer ≤ d), because even and
odd polynomials are orthogonal there (L2) and the best approximation is unique and inherits
the symmetry (L∞). When a part is itself a polynomial of degree r, every degree above r
reproduces it exactly, so the fit of degree d depends only on

    (min(E(d), r_e), min(O(d), r_o))      (r = ∞ when the part is not a polynomial; −1 when it is 0)

and degrees with the same pair are twins: ReLU, SiLU and GELU have f_o = x/2 (r_o = 1), so
2k and 2k + 1 fit the same polynomial; for odd targets (tanh) 2k + 1 and 2k + 2 do.

The parts' degrees are measured on the target itself (no names): f_e and f_o are sampled on
Chebyshev points of [0, a_hi] and a part counts as a polynomial of degree r when its least-
squares fit of that degree leaves less than ``PARITY_RTOL`` of max|f|. Each pair is then
confirmed by fitting both degrees at the smallest and largest range with the search's own
fitting options: their polynomials must agree on [−a, a] to ``AGREEMENT_RTOL`` of the fit's
error there (rounding in the monomial conversion leaves ~1e-6 at degree 31 on [−50, 50]).
The lower degree of each twin class is kept (the same polynomial at no more depth).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ...errors import PolyfitError

PARITY_PROBE_POINTS = 257
#: Highest degree of an even/odd part recognised as a polynomial.
PARITY_MAX_DEGREE = 9
PARITY_RTOL = 1e-11
AGREEMENT_RTOL = 1e-5


@dataclass(frozen=True)
class Twins:
    """``skipped``: (degree, same_as) pairs; ``reason``: one readable sentence (or "")."""

    skipped: tuple[tuple[int, int], ...] = ()
    reason: str = ""


def part_degrees(target, extent: float) -> tuple[int | None, int | None]:
    """Degrees (r_e, r_o) of the even and odd parts of ``target`` on [−extent, extent]: −1 for a
    part that is zero, r when it is a polynomial of degree r ≤ ``PARITY_MAX_DEGREE``, else None.

    >>> from polyfit.targets import get_target
    >>> part_degrees(get_target("relu"), 50.0), part_degrees(get_target("tanh"), 8.0)
    ((None, 1), (-1, None))
    """
    n = PARITY_PROBE_POINTS
    x = 0.5 * extent * (1.0 + np.cos(np.pi * (np.arange(n) + 0.5) / n))   # Chebyshev points of (0, extent)
    with np.errstate(all="ignore"):
        fp, fm = np.asarray(target(x), dtype=float), np.asarray(target(-x), dtype=float)
    if not (np.all(np.isfinite(fp)) and np.all(np.isfinite(fm))):
        return None, None
    scale = max(float(np.max(np.abs(fp))), float(np.max(np.abs(fm))), 1e-300)
    t = x / extent
    return _polynomial_degree((fp + fm) / 2, t, 0, scale), _polynomial_degree((fp - fm) / 2, t, 1, scale)


def _polynomial_degree(part, t, parity, scale) -> int | None:
    if float(np.max(np.abs(part))) <= PARITY_RTOL * scale:
        return -1
    for r in range(parity, PARITY_MAX_DEGREE + 1, 2):
        basis = np.column_stack([t ** j for j in range(parity, r + 1, 2)])
        coef, *_ = np.linalg.lstsq(basis, part, rcond=None)
        if float(np.max(np.abs(basis @ coef - part))) <= PARITY_RTOL * scale:
            return r
    return None


def twin_classes(degrees, r_even, r_odd) -> dict[int, int]:
    """{degree: the lowest degree of ``degrees`` that fits the same polynomial} (see above)."""
    def key(d):
        e, o = d - d % 2, d - 1 + d % 2
        return (e if r_even is None else min(e, r_even), o if r_odd is None else min(o, r_odd))

    first: dict[tuple, int] = {}
    for d in sorted(degrees):
        first.setdefault(key(d), d)
    return {d: first[key(d)] for d in degrees}


def find_twins(target, degrees, range_bounds, methods, fit_options) -> Twins:
    """The twins among ``degrees`` for a float-coefficient search, confirmed by probe fits."""
    r_even, r_odd = part_degrees(target, float(range_bounds[1]))
    if r_even is None and r_odd is None:
        return Twins()
    same = {d: k for d, k in twin_classes(degrees, r_even, r_odd).items() if d != k}
    confirmed = tuple((d, k) for d, k in sorted(same.items())
                      if all(_same_fit(target, d, k, a, m, fit_options) for a in range_bounds for m in methods))
    if not confirmed:
        return Twins()
    parts = [f"{name} part is {_describe(r)}" for name, r in (("even", r_even), ("odd", r_odd)) if r is not None]
    reason = (f"the target's {' and '.join(parts)}, so these degrees fit the same polynomial as a lower one "
              f"(confirmed by fitting both at a = {range_bounds[0]:g} and {range_bounds[1]:g})")
    return Twins(confirmed, reason)


def _describe(r: int) -> str:
    return "zero" if r < 0 else f"a polynomial of degree {r}"


def _same_fit(target, degree, lower, a, method, fit_options) -> bool:
    from ...fitting import fit

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            high = fit(target, degree, float(a), method=method, **fit_options)
            low = fit(target, lower, float(a), method=method, **fit_options)
    except PolyfitError:
        return False
    x = np.linspace(-a, a, 2001)
    with np.errstate(all="ignore"):
        f = np.asarray(target(x), dtype=float)
        diff = float(np.max(np.abs(high(x) - low(x))))
        err = float(np.max(np.abs(low(x) - f)))
    scale = float(np.max(np.abs(f))) if np.all(np.isfinite(f)) else math.inf
    return math.isfinite(diff) and diff <= AGREEMENT_RTOL * err + 1e-13 * scale
