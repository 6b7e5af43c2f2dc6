"""Precision report against the exact-integer fixed-point simulation."""
import itertools
import warnings

import numpy as np
import pytest

import polyfit as pf
from polyfit.backends import fixed_point
from polyfit.precision import MODELS, bits_of, fits, input_grid, precision_report

GRID = list(itertools.product((2, 5, 8), (1.0, 6.0, 20.0), (8, 16, 24)))


@pytest.fixture(scope="module")
def fits_by_case():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {(d, r): pf.fit("tanh", degree=d, domain=r) for d, r, _ in GRID}


@pytest.mark.parametrize("degree, bound, frac_bits", GRID)
def test_fixed_point_simulation_agrees_with_report(fits_by_case, degree, bound, frac_bits):
    approx = fits_by_case[(degree, bound)]
    report = precision_report(approx, frac_bits=frac_bits, ring_bits=64)
    x = input_grid(bound, 1025)
    for model, section in ((MODELS[0], report), (MODELS[1], report["single_rescale"])):
        run = fixed_point.run(approx, x, frac_bits, 64, model)
        assert run.peak_bits <= section["peak_bits"]
        assert section["peak_bits"] - run.peak_bits <= 1  # coarser grid than the report's
        assert (not run.overflow) == (section["peak_bits"] <= 64) or abs(section["peak_bits"] - 64) <= 1


def test_grid_contains_both_fitting_and_overflowing_cases(fits_by_case):
    verdicts = {precision_report(fits_by_case[(d, r)], frac_bits=f)["fits"] for d, r, f in GRID}
    assert verdicts == {True, False}


def test_headline_peak_bits():
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    p = a.precision
    assert p["frac_bits"] == 10 and p["ring_bits"] == 64 and p["fits"]
    # largest intermediate: x^4 at scale 2^20: 625·2^20 → 30 bits + sign
    assert p["peak_bits"] == 31


def test_bits_of_and_fits():
    assert bits_of(0) == 1 and bits_of(1) == 2 and bits_of(2**63 - 1) == 64
    assert fits(64, 64) and not fits(65, 64)


def test_overflow_wraps_and_is_reported():
    a = pf.fit("relu", degree=8, domain=20)
    run = fixed_point.run(a, input_grid(20.0, 257), 20, 64)
    assert run.overflow and run.peak_bits > 64
    assert np.max(np.abs(run.outputs - a(input_grid(20.0, 257)))) > 1.0


def test_truncation_error_is_small_when_it_fits():
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    x = input_grid(5.0, 257)
    run = fixed_point.run(a, x, 20, 64)
    assert not run.overflow
    assert np.max(np.abs(run.outputs - a(x))) < 1e-3


def test_degree6_range30_fit_peaking_near_the_ring_does_not_fit():
    a = pf.fit("relu", degree=6, domain=30, bits=20)
    p = a.precision
    assert 58 <= p["peak_bits"] <= 64  # below the ring: no overflow ...
    assert p["failure_probability"] > 2.0 ** -20  # ... but local truncation fails often
    assert not p["fits"]


def test_headline_failure_probability_is_immaterial():
    p = pf.fit("relu", degree=4, domain=5, bits=10).precision
    # x⁴ before truncation: 625·2^20 ≈ 2^29.3, so about 2^-34.7 per element
    assert 0 < p["failure_probability"] < 2.0 ** -30 and p["parties_assumed"] == 2


def test_unbounded_peak_is_null_with_a_reason_not_a_sentinel():
    from polyfit.approximation import Stage

    a = pf.fit("relu", degree=2, domain=5).replace(stages=(Stage("monomial", (0.0, 0.0, 1e306)),))
    p = precision_report(a, frac_bits=16)
    assert p["peak_bits"] is None and "float64" in p["unbounded"] and not p["fits"]


def test_single_rescale_beyond_float_range_is_unbounded_not_an_error():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pf.fit("tanh", degree=64, domain=5)
    p = precision_report(a, frac_bits=16)
    single = p["single_rescale"]
    assert single["peak_bits"] is None and "float64" in single["unbounded"] and not single["fits"]
    assert not p["fits"]
