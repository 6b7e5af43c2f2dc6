"""pf.composite: degree-set search, the α table rows, artifacts that re-evaluate, max(a, b)."""
import json
import math

import numpy as np
import pytest

import polyfit as pf
from polyfit.errors import InputError
from polyfit.plan import stage_plan
from polyfit.solvers.composite import max_approximation, pareto_front, stage_cost


@pytest.fixture(scope="module")
def relu_a7():
    return pf.composite(alpha=7, function="relu")


@pytest.fixture(scope="module")
def relu_a10():
    return pf.composite(alpha=10, function="relu")


def test_alpha_7_relu_matches_lee_at_no_greater_depth(relu_a7):
    # Lee et al.: degrees [7, 7], depth 6 (+1 for relu), ReLU error 2^-7.04
    assert relu_a7.degrees == [7, 7]
    assert relu_a7.depth["ckks_levels"] <= 7
    assert math.log2(relu_a7.provenance["relu_error"]) <= -7.04
    assert math.log2(relu_a7.metrics["max_abs_error"]) <= -7.04


def test_alpha_10_relu_matches_lee_at_no_greater_depth(relu_a10):
    # Lee et al.: degrees [7, 7, 13], depth 10 (+1), ReLU error 2^-10.11
    assert relu_a10.depth["ckks_levels"] <= 11
    assert math.log2(relu_a10.provenance["relu_error"]) <= -10.11
    assert relu_a10.degrees == [7, 7, 13]


def test_sign_alpha_reaches_its_precision_outside_the_gap():
    a = pf.composite(alpha=8)
    eps = 2.0 ** -8
    assert a.metrics["exclude"] == [-eps, eps]
    assert a.metrics["max_abs_error"] <= 2.0 ** -8
    assert a.provenance["stages"][-1]["error"] <= 2.0 ** -8
    assert a.provenance["search"]["candidates"][-1]["accepted"]


def test_stage_depths_come_from_the_plan_and_add_up(relu_a10):
    rows = relu_a10.provenance["stages"]
    for row, stage in zip(rows, relu_a10.stages):
        plan = stage_plan(stage.monomial_coefficients())
        assert (row["depth"], row["multiplications"]) == (plan.depth, plan.ct_ct_multiplications) == stage_cost(row["degree"])
    assert sum(r["depth"] for r in rows) + 1 == relu_a10.depth["ckks_levels"]
    assert sum(r["multiplications"] for r in rows) + 1 == relu_a10.depth["ct_ct_multiplications"]


def test_each_stage_is_fitted_on_the_image_of_the_previous(relu_a10):
    rows = relu_a10.provenance["stages"]
    assert rows[0]["interval"] == [relu_a10.objective["epsilon"], 1.0]
    for prev, row in zip(rows, rows[1:]):
        assert row["interval"] == prev["image"]
        assert prev["image"][0] == pytest.approx(1 - prev["error"], rel=1e-6)
        assert row["certificate"]["alternation_points"] == row["degree"] // 2 + 2


def test_stages_and_composite_carry_the_common_certificate(relu_a10):
    for row in relu_a10.provenance["stages"]:
        cert = row["certificate"]
        assert cert["kind"] == "remez" and cert["certified"] is True
        assert cert["value"] == row["error"] and cert["bound"] <= cert["value"] and cert["gap"] < 1e-9
    whole = relu_a10.provenance["certificate"]
    assert whole["kind"] == "heuristic" and whole["certified"] is False and whole["bound"] is None
    assert whole["value"] == relu_a10.provenance["relu_error"]


def independent_eval(data, x):
    """Evaluate an artifact dict with numpy only (SPEC §2/§3)."""
    s = x * data["input_scale"]
    for st in data["stages"]:
        if st["basis"] == "monomial":
            s = np.polynomial.polynomial.polyval(s, st["coefficients"])
        else:
            lo, hi = st["interval"]
            s = np.polynomial.chebyshev.chebval((2 * s - hi - lo) / (hi - lo), st["coefficients"])
    return {"none": s, "relu": (x + x * s) / 2, "abs": x * s, "step": (1 + s) / 2}[data["combine"]]


@pytest.mark.parametrize("kwargs,target", [
    (dict(degrees=[7, 7], function="relu", domain=4.0), lambda x: np.maximum(x, 0)),
    (dict(degrees=[31, 15], function="sign", epsilon=2.0 ** -12), np.sign),
    (dict(degrees=[5, 7], function="step", epsilon=0.05, domain=2.0), lambda x: np.heaviside(x, 0.5)),
    (dict(degrees=[7, 9], function="abs"), np.abs),
])
def test_artifact_metrics_equal_an_independent_re_evaluation(tmp_path, kwargs, target):
    a = pf.composite(**kwargs)
    path = a.save(tmp_path / "c.json")
    data = json.loads(open(path).read())
    lo, hi = data["domain"]
    x = np.linspace(lo, hi, data["metrics"]["grid_points"])
    if data["metrics"]["exclude"]:
        ex = data["metrics"]["exclude"]
        x = x[(x <= ex[0]) | (x >= ex[1])]
    err = np.abs(independent_eval(data, x) - target(x))
    assert np.max(err) == pytest.approx(data["metrics"]["max_abs_error"], rel=1e-12, abs=1e-15)
    assert np.sqrt(np.mean(err ** 2)) == pytest.approx(data["metrics"]["rms_error"], rel=1e-9)
    b = pf.load(path)
    assert np.array_equal(b(x), a(x))
    assert data["objective"]["degrees"] == kwargs["degrees"] and data["objective"]["norm"] == "linf"


def test_high_degree_stages_are_stored_in_a_stable_basis():
    a = pf.composite(degrees=[31, 31], epsilon=2.0 ** -16)
    assert a.stages[0].basis == "chebyshev" and a.stages[0].interval == (-1.0, 1.0)
    assert a.metrics["max_abs_error"] <= 1.01 * a.provenance["stages"][-1]["error"]
    assert a.provenance["stages"][0]["depth"] == 5                 # zeros at even powers survive conversion


def test_range_is_a_prescale_folded_into_the_first_stage():
    a1 = pf.composite(degrees=[7, 7], function="relu", epsilon=0.08)
    a4 = pf.composite(degrees=[7, 7], function="relu", epsilon=0.08, domain=4.0)
    assert a4.input_scale == 0.25 and a4.depth["ckks_levels"] == a1.depth["ckks_levels"]
    assert a4.metrics["max_abs_error"] == pytest.approx(4 * a1.metrics["max_abs_error"], rel=1e-9)


def test_max_of_two_numbers(relu_a7):
    m = max_approximation(relu_a7)
    a = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 1000))
    err = np.abs(m(a[0], a[1]) - np.maximum(a[0], a[1]))
    assert np.max(err) <= relu_a7.provenance["relu_error"] * (1 + 1e-9)
    assert m.ckks_levels == relu_a7.depth["ckks_levels"]


def test_max_outside_the_composite_range_is_refused_not_garbage(relu_a7):
    # |a - b| = 4 with B = 1: the diverging composite read max(2, -2) = 3.5e17
    with pytest.raises(InputError, match=r"\|a - b\| <= 1 .*got \|a - b\| = 4"):
        max_approximation(relu_a7)(np.array([0.3, 2.0]), np.array([-0.2, -2.0]))


def test_pareto_front_is_non_dominated_and_contains_lee_alpha_7():
    front = pareto_front(epsilon=0.084, function="relu", max_depth=7)
    triples = [(p["depth"], p["multiplications"], p["predicted_error"]) for p in front]
    for t in triples:
        assert not any(u != t and u[0] <= t[0] and u[1] <= t[1] and u[2] <= t[2] for u in triples)
    assert [7, 7] in [p["degrees"] for p in front if p["depth"] == 7]
    assert all(p["depth"] <= 7 for p in front)


def test_order_multiplications_trades_depth_for_products():
    by_depth = pf.composite(alpha=5)
    by_mults = pf.composite(alpha=5, order="multiplications", max_depth=by_depth.depth["ckks_levels"] + 3)
    assert by_mults.depth["ct_ct_multiplications"] <= by_depth.depth["ct_ct_multiplications"]
    assert by_mults.metrics["max_abs_error"] <= 2.0 ** -5


@pytest.mark.parametrize("kwargs,match", [
    (dict(alpha=0.5), "alpha"), (dict(alpha=41), "alpha"), (dict(alpha=5, epsilon=0.0), "epsilon"),
    (dict(alpha=5, epsilon=1.0), "epsilon"), (dict(degrees=[7, 8]), "degree 8"), (dict(degrees=[0]), "degree 0"),
    (dict(degrees="7,x"), "degrees"), (dict(preset="f9"), "unknown preset"), (dict(alpha=5, degrees=[7]), "exactly one"),
    (dict(), "exactly one"), (dict(alpha=6, max_depth=3), "max_depth 3"), (dict(alpha=5, function="gelu"), "function"),
    (dict(degrees=[7], domain=-1.0), "range"), (dict(degrees=[7], epsilon=1e-300), "2\\^-40"),
    (dict(alpha=5, max_depth=65), "max_depth"), (dict(alpha="5"), "alpha"),
])
def test_bad_input_is_one_line_input_error(kwargs, match):
    with pytest.raises(InputError, match=match) as info:
        pf.composite(**kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("function", ["sign", "relu", "abs", "step"])
def test_easy_targets_still_get_one_stage(function):
    a = pf.composite(alpha=1, function=function, max_degree=7)
    assert len(a.stages) >= 1 and a.metrics["max_abs_error"] <= 0.5


# -- explicit degrees: ε chosen for them even where a wide ε collapses a stage's image ------------
def test_a_collapsed_image_is_below_resolution_not_bad_input():
    from polyfit.solvers.composite.epsilon import sign_stages
    from polyfit.solvers.composite.sign import BelowResolution

    # at ε = 1/4, stage 1 of [15, 15, 27] maps onto [1.0, 1.0]: its error is below float64's resolution
    with pytest.raises(BelowResolution, match=r"stage 2 \(degree 27\).*give a smaller epsilon"):
        sign_stages([15, 15, 27], 0.25)


@pytest.mark.parametrize("function", ["sign", "step"])
def test_explicit_degrees_get_the_balanced_epsilon_past_collapsing_widths(function):
    a = pf.composite(degrees=[15, 15, 27], function=function)
    eps = a.objective["epsilon"]
    assert a.degrees == [15, 15, 27] and 2**-10 < eps < 2**-9
    assert a.provenance["sign_error"] <= eps


@pytest.mark.slow
def test_relu_explicit_degrees_whose_epsilon_scan_collapses_stages():
    a = pf.composite(degrees=[15, 15, 27], function="relu")   # was: "sign stage interval [1.0, 1.0]"
    assert a.degrees == [15, 15, 27] and a.metrics["max_abs_error"] < 2**-13


def test_epsilon_search_evaluates_high_degree_stages_in_a_stable_basis():
    from polyfit.solvers.composite.epsilon import fit_functions, sign_stages, weighted_sign_error

    fits = sign_stages([63, 63], 2.0**-9)   # stage 0 has monomial coefficients near 1e23
    assert weighted_sign_error(fit_functions(fits), 2.0**-9) == pytest.approx(fits[-1].error, rel=1e-6)
