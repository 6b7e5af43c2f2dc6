"""A monomial stage evaluates to within 2^-48·max(1, |p|) of the stored polynomial's exact value."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from polyfit.approximation import Stage
from polyfit.basis import (MONOMIAL_EVAL_TOLERANCE, exact_chebyshev_to_monomial, monomial_eval,
                           monomial_eval_accurate)
from polyfit.reports import assemble


def exact_values(coefficients, t) -> list[Fraction]:
    """Σ c_k t^k in rationals at each float64 t."""
    out = []
    for v in t:
        x, acc = Fraction(float(v)), Fraction(0)
        for c in reversed(coefficients):
            acc = acc * x + Fraction(float(c))
        out.append(acc)
    return out


def deviation(values, exact) -> float:
    """max |value − exact| / max(1, |exact|)."""
    return max(float(abs(Fraction(float(v)) - e) / max(1, abs(e))) for v, e in zip(values, exact))


def high_degree_integers(degree: int, frac_bits: int) -> list[int]:
    """Integers of sigmoid(8t)'s Chebyshev interpolant in monomials × 2^F (|a_k| up to ~2^50)."""
    cheb = np.polynomial.chebyshev.chebinterpolate(lambda t: 1 / (1 + np.exp(-8 * t)), degree)
    return [round(c * 2**frac_bits) for c in exact_chebyshev_to_monomial(cheb, (-1.0, 1.0))]


def test_low_degree_stage_values_are_plain_horner():
    stage = Stage.quantized_monomial([322, 512, 160, 0, -3], 10)
    t = np.linspace(-5, 5, 1001)
    assert np.array_equal(stage(t), monomial_eval(stage.coefficients, t))


def test_high_degree_quantized_stage_is_within_tolerance_of_its_exact_value():
    stage = Stage.quantized_monomial(high_degree_integers(47, 24), 24)
    t = np.linspace(-1, 1, 401)
    exact = exact_values(stage.coefficients, t)
    assert deviation(monomial_eval(stage.coefficients, t), exact) > 1e3 * MONOMIAL_EVAL_TOLERANCE  # Horner fails
    assert deviation(stage(t), exact) <= MONOMIAL_EVAL_TOLERANCE


def test_points_beyond_compensated_horner_are_correctly_rounded():
    # (1 − t)^63 expanded: Σ|c_k||t|^k ≈ 2^63 against |p| ≈ 0, beyond even twice the precision
    coefficients = [float(math.comb(63, k)) * (-1.0) ** k for k in range(64)]
    t = np.linspace(0.9, 1.1, 101)
    assert [float(v) for v in monomial_eval_accurate(coefficients, t)] == [float(e) for e in exact_values(coefficients, t)]


def test_accurate_evaluation_keeps_shapes_scalars_and_non_finite_values():
    c = [float(v) for v in high_degree_integers(31, 20)]
    assert monomial_eval_accurate(c, np.ones((2, 3)) * 0.5).shape == (2, 3)
    assert np.ndim(monomial_eval_accurate(c, 0.5)) == 0
    out = monomial_eval_accurate(c, np.array([np.nan, np.inf, 0.25]))
    assert np.isnan(out[0]) and not np.isfinite(out[1]) and np.isfinite(out[2])


def test_metrics_of_a_high_degree_quantized_stage_are_its_exact_error():
    frac_bits = 24
    stage = Stage.quantized_monomial(high_degree_integers(47, frac_bits), frac_bits)
    a = assemble("sigmoid", (-8.0, 8.0), [stage], objective={}, provenance={"solver": "test"},
                 input_scale=0.125, grid_points=2001, frac_bits=frac_bits)
    x = np.linspace(-8.0, 8.0, 2001)
    exact = np.array([float(v) for v in exact_values(stage.coefficients, x * 0.125)])
    target = 1 / (1 + np.exp(-x))
    assert a.metrics["max_abs_error"] == pytest.approx(float(np.max(np.abs(exact - target))), rel=1e-6, abs=0)
