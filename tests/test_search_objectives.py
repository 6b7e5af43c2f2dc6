"""The search objectives integrate correctly: the Gaussian support and the grid follow the
integrand (degree, target growth), checked against adaptive quadrature over ±20σ."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import polyfit as pf
from polyfit.search_objectives import ExpectedError, InputDistribution, gaussian_support_sigmas, parse_objective


def _adaptive(approx, sigma, error="mse", sigmas=20.0, target=None):
    """E_{N(0, σ²)} of the error by scipy's adaptive quad, split at the kink and at ±a."""
    from scipy.integrate import quad

    f = target or approx.target
    a = approx.domain[1]
    power = 2 if error == "mse" else 1

    def integrand(x):
        d = float(approx(np.array([x]))[0] - f(np.array([x]))[0])
        return abs(d) ** power * math.exp(-x * x / (2 * sigma * sigma)) / (math.sqrt(2 * math.pi) * sigma)

    edges = sorted({-sigmas * sigma, -a, 0.0, a, sigmas * sigma})
    return sum(quad(integrand, lo, hi, limit=1000, epsabs=0, epsrel=1e-12)[0] for lo, hi in zip(edges[:-1], edges[1:]))


def _fit(*args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fit(*args)


def test_gaussian_mse_of_degree_31_matches_adaptive_quadrature_over_20_sigma():
    # The squared error of degree 31 peaks near 7.9σ: a cut at ±10σ dropped 2.8 % here.
    approx = _fit("relu", 31, 8.0)
    out = parse_objective("gaussian:sigma=1.5")(approx)
    assert out["score"] == pytest.approx(_adaptive(approx, 1.5), rel=1e-8)
    assert out["quadrature"]["support"][1] > 13 * 1.5


def test_gaussian_mae_grid_doubles_until_its_estimate_meets_rtol():
    # |p − f| has a kink wherever p crosses f: the grid must refine past its initial 8001 nodes.
    approx = _fit("gelu", 12, 9.0)
    out = parse_objective("gaussian:sigma=3,error=mae")(approx)
    assert out["quadrature"]["points"] > 8001 and out["quadrature"]["error_estimate"] <= 1e-6
    assert out["score"] == pytest.approx(_adaptive(approx, 3.0, "mae"), rel=1e-6)


def test_relu_kink_at_the_centre_is_integrated_to_rtol():
    # The centre node is a Simpson panel edge, so the kink of ReLU at 0 costs no accuracy
    # (a plain trapezoid on 8001 nodes was 2.4e-5 off here).
    approx = _fit("relu", 8, 7.8)
    out = parse_objective("gaussian:sigma=2")(approx)
    assert out["score"] == pytest.approx(_adaptive(approx, 2.0), rel=1e-8)


def test_gaussian_support_extends_for_a_target_growing_faster_than_a_polynomial():
    # f = exp: f(x)² φ(x) peaks at 2σ² = 10σ for σ = 5, beyond any degree-based support.
    approx = _fit("exp", 2, 1.0)
    out = parse_objective("gaussian:sigma=5")(approx)
    assert out["quadrature"]["support"][1] >= 14 * 5
    assert out["score"] == pytest.approx(_adaptive(approx, 5.0, sigmas=30.0), rel=1e-6)


def test_support_sigmas_grow_with_the_integrand_power():
    assert gaussian_support_sigmas(0) == 10.0
    assert gaussian_support_sigmas(16) < gaussian_support_sigmas(62) < 14.0


def test_uniform_expectation_reports_its_error_estimate_below_rtol():
    from scipy.integrate import quad

    approx = _fit("silu", 8, 5.9)
    dist = InputDistribution("uniform", {"lo": -6.0, "hi": 6.0}, rtol=1e-8)
    value, info = dist.expectation(lambda x: (approx(x) - approx.target(x)) ** 2)
    exact = quad(lambda x: float((approx(np.array([x])) - approx.target(np.array([x])))[0]) ** 2, -6, 6,
                 points=[-5.9, 5.9], limit=500, epsrel=1e-13)[0] / 12
    assert info["error_estimate"] <= 1e-8 and value == pytest.approx(exact, rel=1e-8)


def test_samples_expectation_reports_the_standard_error_of_the_mean():
    samples = np.random.default_rng(1).normal(size=400)
    value, info = InputDistribution("samples", samples=samples).expectation(lambda x: x * x)
    assert value == pytest.approx(np.mean(samples ** 2))
    assert info["standard_error"] == pytest.approx(np.std(samples ** 2) / 20)


@pytest.mark.parametrize("kwargs", [dict(points=2), dict(points=10 ** 8), dict(rtol=0.0), dict(rtol="1e-6")])
def test_bad_quadrature_settings_are_input_errors(kwargs):
    with pytest.raises(pf.InputError):
        InputDistribution("gaussian", {"sigma": 1.0}, **kwargs)


def test_objective_spec_sets_the_quadrature_tolerance():
    obj = parse_objective("uniform:a=3,rtol=1e-9,points=1001")
    assert obj.distribution.rtol == 1e-9 and obj.distribution.points == 1001
    assert isinstance(obj, ExpectedError)


@pytest.mark.parametrize("spec", ["gaussian:sigma=2,sigma=3", "uniform:a=1,A=2", "gaussian:sigma=2,error=mse,error=mae"])
def test_an_objective_key_given_twice_is_refused(spec):
    with pytest.raises(pf.InputError, match="is given twice"):  # the last value silently won
        parse_objective(spec)
