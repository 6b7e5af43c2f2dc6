"""The evaluation plan: optimal depth, numeric agreement with numpy, product counts."""
import numpy as np
import pytest

import polyfit as pf
from polyfit.depth import optimal_levels
from polyfit.plan import approximation_plan, level_of_power, stage_plan

DEGREES = range(0, 65)


def _numpy_value(coefficients, x):
    return np.polynomial.polynomial.polyval(x, coefficients)


def _coefficient_sets(d, rng):
    yield "random", rng.normal(size=d + 1)
    odd = rng.normal(size=d + 1)
    odd[::2] = 0.0
    yield "odd", odd
    even = rng.normal(size=d + 1)
    even[1::2] = 0.0
    yield "even", even
    yield "integer", rng.integers(-3, 4, size=d + 1).astype(float)


@pytest.mark.parametrize("d", DEGREES)
def test_stage_plan_reaches_optimal_depth_and_matches_numpy(d):
    rng = np.random.default_rng(d)
    x = np.linspace(-1.0, 1.0, 33)
    for kind, c in _coefficient_sets(d, rng):
        c = c.copy()
        if kind != "integer" and d > 0:
            c[d] = c[d] or 0.7  # keep the degree
        plan = stage_plan(c)
        effective = int(np.max(np.nonzero(c)[0])) if np.any(c) else 0
        if kind == "integer":
            assert plan.depth <= optimal_levels(effective), (kind, d)
        else:
            assert plan.depth == optimal_levels(effective), (kind, d)
        scale = max(1.0, float(np.sum(np.abs(c))))
        assert np.max(np.abs(plan.execute(x) - _numpy_value(c, x))) <= 1e-12 * scale, (kind, d)


@pytest.mark.parametrize("d", DEGREES)
def test_chebyshev_schedule_has_the_same_depth_and_products(d):
    c = np.random.default_rng(100 + d).normal(size=d + 1)
    if d > 0:
        c[d] = c[d] or 0.5
    cheb, mono = stage_plan(c, basis="chebyshev"), stage_plan(c)
    assert cheb.depth == mono.depth == optimal_levels(d)
    assert cheb.ct_ct_multiplications == mono.ct_ct_multiplications
    x = np.linspace(-1.0, 1.0, 33)
    assert np.max(np.abs(cheb.execute(x) - np.polynomial.chebyshev.chebval(x, c))) <= 1e-12 * max(1.0, np.sum(np.abs(c)))


def test_integer_coefficients_need_no_scalar_levels():
    # u^3 + 2u^2 − u: every constant is an integer, so the only levels are the two products.
    plan = stage_plan([0.0, -1.0, 2.0, 1.0])
    assert plan.scalar_multiplications == 0
    assert plan.depth == 2


@pytest.mark.parametrize("d, at_most", [(7, 5), (15, 8), (31, 13), (63, 18), (127, 27)])
def test_fewer_ct_products_than_recursive_halving(d, at_most):
    c = np.random.default_rng(1).normal(size=d + 1)
    best, halving = stage_plan(c), stage_plan(c, baby_steps=2)
    assert best.depth == halving.depth == optimal_levels(d)
    assert best.ct_ct_multiplications <= at_most
    if d >= 15:
        assert best.ct_ct_multiplications < halving.ct_ct_multiplications


def test_odd_polynomial_skips_even_powers():
    c = np.zeros(32)
    c[1::2] = np.random.default_rng(2).normal(size=16)
    assert stage_plan(c).ct_ct_multiplications < stage_plan(np.random.default_rng(2).normal(size=32)).ct_ct_multiplications


def test_level_of_power_is_ceil_log2():
    assert [level_of_power(i) for i in range(1, 10)] == [0, 1, 2, 2, 3, 3, 3, 3, 4]


def test_input_scale_is_folded_without_a_level():
    stage = pf.Stage("monomial", [0.1, 0.5, 0.25, -0.125])
    scaled = pf.Approximation(pf.get_target("relu"), (-8, 8), (stage,), input_scale=0.125)
    plan = approximation_plan(scaled)
    x = np.linspace(-8, 8, 17)
    assert plan.depth == 2
    assert np.allclose(plan.execute(x), scaled(x), atol=1e-12)


@pytest.mark.parametrize("combine", ["none", "relu", "abs", "step"])
def test_composite_chains_stages_and_combine_costs_one_level(combine):
    stages = (pf.Stage("monomial", [0.0, 1.5, 0.0, -0.5]), pf.Stage("monomial", [0.0, 1.875, 0.0, -1.25, 0.0, 0.375]))
    approx = pf.Approximation(pf.get_target("sign"), (-1, 1), stages, combine=combine)
    plan = approximation_plan(approx)
    expected = optimal_levels(3) + optimal_levels(5) + (1 if combine in ("relu", "abs") else 0)
    assert plan.depth == expected
    x = np.linspace(-1, 1, 41)
    assert np.max(np.abs(plan.execute(x) - approx(x))) < 1e-12


def test_input_multiplier_keeps_the_function():
    approx = pf.fit("relu", degree=6, domain=5)
    x = np.linspace(-5, 5, 21)
    plan = approximation_plan(approx, input_multiplier=0.2)
    assert plan.depth == approximation_plan(approx).depth
    assert np.allclose(plan.execute(0.2 * x), approx(x), atol=1e-10)
