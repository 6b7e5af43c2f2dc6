from fractions import Fraction

import numpy as np
import pytest

import polyfit as pf


def test_relu_at_zero_uses_the_symmetric_derivative():
    approx = pf.taylor("relu", 4)
    assert approx.stages[0].coefficients == (0.0, 0.5, 0.0, 0.0, 0.0)
    assert approx.objective["kink_rule"].startswith("symmetric")


def test_silu_degree_10_matches_the_published_series():
    approx = pf.taylor("silu", 10)
    expected = ["0", "1/2", "1/4", "0", "-1/48", "0", "1/480", "0", "-17/80640", "0", "31/1451520"]
    assert approx.provenance["series_coefficients"] == expected
    np.testing.assert_allclose(approx.stages[0].coefficients, [float(Fraction(e)) for e in expected], rtol=1e-15)


def test_expansion_about_a_center_is_converted_to_monomials():
    approx = pf.taylor("exp", 3, center=1.0, domain=(0, 2))
    e = np.e
    np.testing.assert_allclose(approx.stages[0].coefficients, [e / 3, e / 2, 0.0, e / 6], atol=1e-15)


def test_taylor_of_an_expression_and_default_domain():
    approx = pf.taylor("x*tanh(x)", 4)
    np.testing.assert_allclose(approx.stages[0].coefficients, [0, 0, 1, 0, -1 / 3], atol=1e-15)
    assert approx.domain == (-1.0, 1.0)


def test_taylor_of_a_callable_is_refused():
    with pytest.raises(pf.InputError, match="Taylor"):
        pf.taylor(np.cos, 3)
