"""Polynomial bases and the maps between them (pure functions).

Conventions (as numpy.polynomial): coefficients are lowest degree first.

- monomial:  p(x) = Σ_k c_k x^k
- chebyshev: p(x) = Σ_k c_k T_k(t),  t = (2x − hi − lo)/(hi − lo) maps the stage's
  ``interval`` [lo, hi] onto the window [-1, 1].
"""
from __future__ import annotations

import numpy as np

BASES = ("monomial", "chebyshev")


def to_window(x, interval):
    """Affine map t = (2x − hi − lo)/(hi − lo) of ``interval`` = (lo, hi) onto [-1, 1]."""
    lo, hi = interval
    return (2.0 * np.asarray(x, dtype=float) - hi - lo) / (hi - lo)


def monomial_eval(coefficients, x):
    """Horner evaluation of Σ c_k x^k (numpy in, numpy out)."""
    return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), np.asarray(coefficients, dtype=float))


def chebyshev_eval(coefficients, x, interval):
    """Clenshaw evaluation of Σ c_k T_k(t) with t the window map of ``interval``."""
    return np.polynomial.chebyshev.chebval(to_window(x, interval), np.asarray(coefficients, dtype=float))


def chebyshev_to_monomial(coefficients, interval):
    """Monomial coefficients in x of Σ c_k T_k(t(x)).

    Exact in exact arithmetic; in float64 the monomial coefficients of a high-degree
    polynomial can lose many digits (see :func:`monomial_precision_loss`).
    """
    series = np.polynomial.Chebyshev(np.asarray(coefficients, dtype=float), domain=list(interval))
    coef = series.convert(kind=np.polynomial.Polynomial, domain=[-1, 1], window=[-1, 1]).coef
    return pad(coef, len(coefficients))


def monomial_to_chebyshev(coefficients, interval):
    """Chebyshev coefficients over ``interval`` of Σ c_k x^k."""
    series = np.polynomial.Polynomial(np.asarray(coefficients, dtype=float))
    coef = series.convert(kind=np.polynomial.Chebyshev, domain=list(interval)).coef
    return pad(coef, len(coefficients))


def monomial_precision_loss(chebyshev_coefficients, interval, points: int = 2001) -> float:
    """Max |p_mono(x) − p_cheb(x)| / max(1, max|p_cheb|) over ``interval``.

    Measures the digits lost by converting a Chebyshev series to monomial coefficients
    and evaluating them with Horner's rule in float64.
    """
    x = np.linspace(interval[0], interval[1], points)
    reference = chebyshev_eval(chebyshev_coefficients, x, interval)
    mono = monomial_eval(chebyshev_to_monomial(chebyshev_coefficients, interval), x)
    scale = max(1.0, float(np.max(np.abs(reference))))
    return float(np.max(np.abs(mono - reference)) / scale)


def pad(coef, length: int) -> np.ndarray:
    """``coef`` as exactly ``length`` coefficients: zeros appended, or higher terms cut.

    >>> pad([1.0, 2.0], 4)
    array([1., 2., 0., 0.])
    """
    out = np.zeros(length)
    out[: min(length, len(coef))] = coef[:length]
    return out
