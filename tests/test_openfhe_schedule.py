"""The OpenFHE schedule as data (numpy only, runs without OpenFHE): folding, convention, depth."""
import sys
import warnings

import numpy as np
import pytest

import polyfit as pf
from polyfit.approximation import Approximation, Stage
from polyfit.backends.openfhe import chebyshev_schedule, stage_intervals
from polyfit.depth import openfhe_levels
from polyfit.targets import get_target


def _quiet(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make()


KINDS = {
    "quantized monomial": lambda: pf.fit("relu", degree=4, domain=5, bits=10),
    "monomial minimax": lambda: pf.fit("gelu", degree=15, domain=8, method="minimax"),
    "chebyshev": lambda: pf.fit("gelu", degree=15, domain=8, basis="chebyshev"),
    "asymmetric domain": lambda: pf.fit("sigmoid", degree=9, domain=(-2.0, 6.0)),
    "composite sign": lambda: pf.composite(preset="f2g2", function="sign"),
    "composite relu": lambda: pf.composite(preset="lee-a7", function="relu"),
    "composite abs": lambda: pf.composite(preset="f1g2", function="abs"),
    "composite step": lambda: pf.composite(preset="f1g2", function="step"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schedule_in_float64_is_the_artifact(kind):
    a = _quiet(KINDS[kind])
    x = np.linspace(*a.domain, 513)
    y = a(x)
    assert np.max(np.abs(chebyshev_schedule(a).evaluate_plain(x) - y)) <= 1e-9 * max(1.0, np.max(np.abs(y)))


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_schedule_levels_are_the_reported_openfhe_depth(kind):
    a = _quiet(KINDS[kind])
    assert chebyshev_schedule(a).levels == a.depth["backends"]["openfhe"]


def test_encoding_maps_the_domain_onto_minus_one_one():
    s = chebyshev_schedule(pf.fit("sigmoid", degree=5, domain=(-2.0, 6.0)))
    assert s.encode(np.array([-2.0, 6.0])) == pytest.approx([-1.0, 1.0])


def test_constant_term_is_doubled_for_openfhe():
    # p(x) = 0.25 + 0.5·x on [-1, 1]: Chebyshev a0 = 0.25, a1 = 0.5; OpenFHE wants c0 = 2·a0
    a = Approximation(get_target("relu"), (-1.0, 1.0), (Stage("monomial", (0.25, 0.5)),))
    assert chebyshev_schedule(a).stages == ((0.5, 0.5),)


def test_trailing_zero_coefficients_are_dropped_and_not_counted():
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    padded = a.replace(stages=(Stage("monomial", a.stages[0].coefficients + (0.0, 0.0, 0.0)),))
    padded = pf.reports.with_reports(padded)
    assert len(chebyshev_schedule(padded).stages[0]) == 5
    assert padded.depth["backends"]["openfhe"] == a.depth["backends"]["openfhe"] == 3


def test_later_monomial_stage_reads_its_input_scaled_into_the_unit_interval():
    a = pf.composite(preset="lee-a7", function="relu")
    (lo1, hi1), (lo2, hi2) = stage_intervals(a)
    assert (lo1, hi1) == (-1.0, 1.0)
    stage2_inputs = a.stage_outputs(np.linspace(-1, 1, 2001))[1]
    assert lo2 == -hi2 and hi2 == pytest.approx(1.02 * np.max(np.abs(stage2_inputs)))


def test_relu_composite_costs_one_level_for_the_product_by_x():
    a = pf.composite(preset="lee-a7", function="relu")
    s = chebyshev_schedule(a)
    assert s.multiply_by_input
    assert s.levels == openfhe_levels(7, unit_interval=True) * 2 + 1 == 9


def test_missing_openfhe_is_a_one_line_error_naming_the_pythons_it_has_wheels_for(cli, in_tmp, monkeypatch):
    monkeypatch.setitem(sys.modules, "openfhe", None)  # as on CPython 3.11, where no wheel exists
    pf.fit("relu", degree=4, domain=5, bits=10).save("a.json")
    code, out, err = cli("verify", "a.json", "--backend", "openfhe")
    assert code == 2
    assert "3.10 and 3.12" in err and "pip install" in err and len(err.strip().splitlines()) == 1
