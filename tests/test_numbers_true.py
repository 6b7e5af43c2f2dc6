"""Issue 9 §4: every number in a report and an artifact is true (or refused)."""
import json

import numpy as np
import pytest

import polyfit as pf
from conftest import files_in


def test_target_infinite_on_the_metric_grid_is_refused(cli, in_tmp):
    # 1/x on [-2, 2]: the fitting grid (1000 points) misses 0, the metric grid (10001) holds it
    code, out, err = cli("fit", "--expr", "1/x", "--range", "2", "--degree", "4")
    assert code == 1 and "is inf at x = 0 on the metric grid" in err
    assert len(err.strip().splitlines()) == 1 and files_in(in_tmp) == []


def test_target_infinite_on_the_metric_grid_raises_in_the_api():
    with pytest.raises(pf.ComputationError, match="metric grid"):
        pf.fit(pf.expr("1/x"), 4, 2)


def test_a_fit_without_finite_error_exits_1_and_writes_nothing(cli, in_tmp):
    # degree 500 on [-5, 5] in monomial coefficients overflows float64 (5^500)
    code, out, err = cli("fit", "--degree", "500", "--range", "5", "--method", "minimax", "--basis", "monomial")
    assert code == 1 and "max error" in err and "nothing written" in err
    assert files_in(in_tmp) == []


def _collapsed_sigmoid():
    # issue 9: sigmoid d15 on [-8, 8] with 8 bits in the raw variable collapses to 0.5 + 0.09x
    return pf.fit("sigmoid", 15, 8, bits=8, input_scale=1.0)


def test_depth_rounds_and_precision_use_the_effective_degree():
    a = _collapsed_sigmoid()
    assert a.stages[0].degree == 15 and a.stages[0].quantized.integers[2:] == (0,) * 14
    assert a.depth["degrees"] == [1] and a.depth["stored_degrees"] == [15]
    assert a.depth["ckks_levels"] == 1
    assert a.depth["backends"] == {"lattigo": 1, "openfhe": 1, "tenseal": 1}  # was 4, 6, 4
    rounds = a.depth["mpc_rounds"]
    assert {k: rounds[k] for k in ("horner", "power_tree", "single_round")} == {
        "horner": 0, "power_tree": 0, "single_round": 0}  # Horner was 14
    assert rounds["three_party"]["horner"] == 2  # 3 parties: the truncation after c1·x communicates
    assert a.precision["single_rescale"]["peak_bits"] < 30  # was 167: x^15 at scale 2^(16·8)


def test_report_says_the_effective_degree_once_and_consistently():
    from polyfit.reports import format_report

    text = format_report(_collapsed_sigmoid())
    assert "degree 15 (effective degree 1: the coefficients of x^2 … x^15 are zero" in text
    assert "effective degrees [1] of the stored [15]" in text
    assert "Lattigo 1, OpenFHE 1, TenSEAL 1" in text and "Horner 0" in text


@pytest.mark.parametrize("section, key, value", [
    ("precision", "fits", False),                       # the report then prints "OVERFLOWS"
    ("precision", "peak_bits", 12),
    ("depth", "ct_ct_multiplications", 1),
    ("depth", "backends", {"lattigo": 3, "openfhe": 2, "tenseal": 3}),
    ("depth", "mpc_rounds", {"horner": 1, "power_tree": 2, "single_round": 1}),
])
def test_report_rechecks_every_printed_claim(cli, in_tmp, section, key, value):
    pf.fit("relu", 4, 5, bits=10).save("h.json")
    data = json.loads((in_tmp / "h.json").read_text())
    data[section][key] = value
    (in_tmp / "h.json").write_text(json.dumps(data))
    code, out, _ = cli("report", "h.json")
    assert code == 1 and f"MISMATCH {section}.{key}" in out


def test_report_of_an_untouched_artifact_rechecks_precision_too(cli, in_tmp):
    pf.fit("relu", 4, 5, bits=10).save("h.json")
    code, out, _ = cli("report", "h.json")
    assert code == 0 and "precision (peak bits, fits, single rescale) match a fresh evaluation" in out
