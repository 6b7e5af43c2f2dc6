import numpy as np
import pytest

import polyfit as pf
from polyfit.approximation import Approximation, Stage, apply_combine
from polyfit.basis import chebyshev_to_monomial, monomial_to_chebyshev
from polyfit.reports import assemble
from polyfit.targets import get_target


def test_monomial_stage_evaluates_lowest_degree_first():
    stage = Stage("monomial", [1.0, 2.0, 3.0])
    assert stage(np.array([2.0]))[0] == 1 + 2 * 2 + 3 * 4


def test_chebyshev_stage_uses_its_interval_window():
    stage = Stage("chebyshev", [0.0, 0.0, 1.0], interval=(0.0, 4.0))  # T2(t), t = (x - 2)/2
    x = np.array([0.0, 1.0, 2.0, 3.0])
    t = (x - 2.0) / 2.0
    np.testing.assert_allclose(stage(x), 2 * t**2 - 1)


def test_chebyshev_stage_requires_interval():
    with pytest.raises(pf.InputError, match="interval"):
        Stage("chebyshev", [1.0, 2.0])


def test_basis_conversion_round_trips():
    coefs = np.array([0.3, -1.2, 0.5, 2.0, -0.7])
    cheb = monomial_to_chebyshev(coefs, (-3.0, 5.0))
    np.testing.assert_allclose(chebyshev_to_monomial(cheb, (-3.0, 5.0)), coefs, atol=1e-12)


def test_quantized_stage_is_exact_and_checked():
    stage = Stage.quantized_monomial([322, 512, 160, 0, -3], 10)
    assert stage.coefficients == (322 / 1024, 0.5, 160 / 1024, 0.0, -3 / 1024)
    with pytest.raises(pf.InputError, match="integers"):
        Stage("monomial", [0.3, 0.5], quantized=pf.Quantization(10, (322, 512)))


def test_composite_applies_input_scale_then_stages_then_combine():
    s1 = Stage("monomial", [0.0, 2.0])          # 2t
    s2 = Stage("monomial", [0.0, 0.0, 1.0])     # u^2
    approx = Approximation(get_target("relu"), (-1, 1), (s1, s2), input_scale=0.5, combine="abs")
    x = np.array([-1.0, 0.5, 1.0])
    expected = x * (2 * 0.5 * x) ** 2
    np.testing.assert_allclose(approx(x), expected)


@pytest.mark.parametrize("combine,expected", [
    ("none", lambda x, s: s), ("relu", lambda x, s: (x + x * s) / 2),
    ("abs", lambda x, s: x * s), ("step", lambda x, s: (1 + s) / 2)])
def test_combines_follow_the_spec(combine, expected):
    x = np.array([-2.0, 0.5, 3.0])
    s = np.array([-1.0, 0.2, 1.0])
    np.testing.assert_allclose(apply_combine(combine, x, s), expected(x, s))


def test_unknown_combine_is_refused():
    with pytest.raises(pf.InputError, match="combine"):
        Approximation(get_target("relu"), (-1, 1), (Stage("monomial", [0.0]),), combine="max")


def test_assemble_attaches_reports_and_provenance_fields():
    approx = assemble("relu", (-5, 5), [Stage("monomial", [0.3, 0.5, 0.15])],
                      objective={"norm": "l2"}, provenance={"solver": "test"})
    assert set(approx.provenance) >= {"solver", "backend", "options", "elapsed_s"}
    assert approx.depth["ckks_levels"] == 2
    assert approx.metrics["grid_points"] == 10001
    x = np.linspace(-5, 5, 10001)
    assert approx.metrics["max_abs_error"] == pytest.approx(np.max(np.abs(0.3 + 0.5 * x + 0.15 * x**2 - np.maximum(x, 0))))


def test_repr_and_html_are_short_and_informative():
    approx = pf.fit("tanh", 5, 3)
    text = repr(approx)
    assert "tanh" in text and "degrees=[5]" in text and "ckks_levels=3" in text and len(text) < 200
    html = approx._repr_html_()
    assert "<table>" in html and "CKKS levels 3" in html


def test_a_string_domain_is_rejected_not_split_into_characters():
    from polyfit.validate import check_domain

    with pytest.raises(pf.InputError, match="domain '12'"):
        check_domain("12")


@pytest.mark.parametrize("kwargs", [{"bits": "abc"}, {"points": "x"}, {"points": [1]}])
def test_non_numeric_bits_and_points_are_input_errors(kwargs):
    with pytest.raises(pf.InputError, match=next(iter(kwargs))):
        pf.fit("relu", 4, 5, **kwargs)


@pytest.mark.parametrize("kwargs", [{"input_scale": "x"}, {"exclude": "12"}, {"exclude": (2.0, 1.0)}])
def test_bad_input_scale_and_exclude_are_input_errors(kwargs):
    with pytest.raises(pf.InputError, match=next(iter(kwargs))):
        pf.fit("relu", 4, 5, **kwargs)


def test_with_reports_keeps_the_stored_metric_grid():
    from polyfit.reports import with_reports

    approx = assemble("sign", (-1, 1), [Stage("monomial", [0.0, 1.5, 0.0, -0.5])], objective={},
                      provenance={"solver": "test"}, exclude=(-0.25, 0.25), grid_points=501)
    changed = with_reports(approx.replace(stages=(Stage("monomial", [0.0, 1.4, 0.0, -0.4]),)))
    assert changed.metrics["exclude"] == [-0.25, 0.25] and changed.metrics["grid_points"] == 501
    assert with_reports(approx, exclude=None).metrics["exclude"] is None


def test_lazy_api_names_stay_functions_after_their_modules_are_imported():
    import polyfit.solvers.composite  # noqa: F401
    import polyfit.solvers.search  # noqa: F401
    import polyfit.verification  # noqa: F401

    assert callable(pf.verify) and callable(pf.composite) and callable(pf.search) and callable(pf.taylor)
    assert pf.verify.__module__ == "polyfit.verification"
