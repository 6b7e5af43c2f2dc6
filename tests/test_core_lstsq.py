import warnings

import numpy as np
import pytest
import sympy

import polyfit as pf


def exact_projection(expr_of_x, lo, hi, degree):
    """Monomial coefficients of the exact L2 projection, by symbolic integration."""
    x = sympy.Symbol("x", real=True)
    f = expr_of_x(x)
    basis = [x**k for k in range(degree + 1)]
    gram = sympy.Matrix(degree + 1, degree + 1, lambda i, j: sympy.integrate(basis[i] * basis[j], (x, lo, hi)))
    rhs = sympy.Matrix(degree + 1, 1, lambda i, _: sympy.integrate(basis[i] * f, (x, lo, hi)))
    return np.array([float(c) for c in gram.LUsolve(rhs)])


@pytest.mark.parametrize("name,expr,lo,hi,degree", [
    ("relu", lambda x: sympy.Piecewise((0, x < 0), (x, True)), -5, 5, 4),
    ("abs", lambda x: sympy.Abs(x), -2, 3, 6),
    ("exp", sympy.exp, -1, 2, 5),
])
def test_continuous_l2_matches_exact_projection(name, expr, lo, hi, degree):
    approx = pf.fit(name, degree, (lo, hi), grid="continuous")
    exact = exact_projection(expr, lo, hi, degree)
    got = np.array(approx.stages[0].coefficients)
    assert np.max(np.abs(got - exact)) <= 1e-10 * np.max(np.abs(exact))


def test_continuous_l2_error_is_orthogonal_to_polynomials():
    approx = pf.fit("gelu", 6, (-4, 4), grid="continuous", basis="chebyshev")
    u, w = np.polynomial.legendre.leggauss(400)
    x = np.concatenate([2 * u - 2, 2 * u + 2])  # Gauss rule on [-4, 0] and [0, 4]
    weights = np.concatenate([2 * w, 2 * w])
    err = approx(x) - approx.target(x)
    for k in range(7):
        assert abs(np.sum(weights * err * x**k)) < 1e-9 * 4**k


def test_discrete_l2_matches_numpy_polyfit():
    approx = pf.fit("tanh", 5, (-3, 2), points=200)
    x = np.linspace(-3, 2, 200)
    reference = np.polynomial.polynomial.polyfit(x, np.tanh(x), 5)
    np.testing.assert_allclose(approx.stages[0].coefficients, reference, rtol=1e-9, atol=1e-12)
    assert approx.objective["grid"] == {"kind": "uniform", "points": 200}


def test_chebyshev_grid_and_density_weight():
    def density(x):
        return np.exp(-x**2 / 2)

    approx = pf.fit("relu", 4, 4, grid="chebyshev", points=300, weight=density)
    x = np.polynomial.chebyshev.chebpts1(300) * 4
    w = density(x)
    reference = np.polynomial.polynomial.polyfit(x, np.maximum(x, 0), 4, w=np.sqrt(w))
    np.testing.assert_allclose(approx.stages[0].coefficients, reference, rtol=1e-8, atol=1e-10)
    assert approx.objective["weight"] == {"kind": "density", "name": "density"}


def test_sample_weighted_fit_uses_the_samples():
    rng = np.random.default_rng(0)
    samples = rng.normal(0, 1.5, 5000)
    approx = pf.fit("relu", 3, 6, samples=samples)
    reference = np.polynomial.polynomial.polyfit(samples, np.maximum(samples, 0), 3)
    np.testing.assert_allclose(approx.stages[0].coefficients, reference, rtol=1e-8, atol=1e-10)
    assert approx.objective["grid"]["kind"] == "samples" and approx.objective["grid"]["points"] == 5000


def test_input_scale_fits_in_the_scaled_variable():
    approx = pf.fit("sigmoid", 7, 8, input_scale=1 / 8)
    x = np.linspace(-8, 8, 1000)
    reference = np.polynomial.polynomial.polyfit(x / 8, 1 / (1 + np.exp(-x)), 7)
    np.testing.assert_allclose(approx.stages[0].coefficients, reference, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(approx(x), np.polynomial.polynomial.polyval(x / 8, reference), atol=1e-12)


def test_degree_64_is_stable_and_error_falls():
    errors = []
    for degree in (8, 16, 32, 64):
        approx = pf.fit("tanh", degree, 8, grid="continuous", basis="chebyshev")
        assert np.all(np.isfinite(approx.stages[0].coefficients))
        errors.append(approx.metrics["max_abs_error"])
    assert all(b < a for a, b in zip(errors, errors[1:]))
    assert errors[-1] < 1e-5


def test_monomial_precision_loss_is_reported():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        approx = pf.fit("tanh", 64, 8, basis="monomial")
    assert any("loses the fit's accuracy" in str(w.message) for w in caught)
    assert "loses the fit's accuracy" in approx.provenance["warnings"][0]


def test_low_degree_monomial_fit_has_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        approx = pf.fit("relu", 4, 5)
    assert "warnings" not in approx.provenance
