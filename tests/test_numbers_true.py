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
    # degree 500 on [-5, 5] in monomial coefficients overflows float64 (5^500 ≈ 1e349)
    code, out, err = cli("fit", "--degree", "500", "--range", "5", "--grid", "chebyshev", "--basis", "monomial")
    assert code == 1 and "rms error inf" in err and "nothing written" in err
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
    from polyfit.report_text import format_report

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


@pytest.mark.parametrize("target", ["tanh", "erf(x)", "x*tanh(x)"])
def test_high_degree_chebyshev_artifacts_run_under_ckks_at_their_claimed_levels(target):
    # issue 9: tanh d64 on [-8, 8] in the Chebyshev basis erred by 80 under CKKS (d48: 3.3e-4),
    # because the CKKS schedule went through monomial coefficients; now 1.1e-5
    from polyfit.verification import verify

    a = pf.fit(target if target == "tanh" else pf.expr(target), 64, 8, basis="chebyshev")
    r = verify(a, samples=16, check_tight=target == "tanh")
    assert r.ok, r.failed
    # tanh is odd: its even coefficients are exactly zero, effective degree 63 fits in 6 levels
    levels = 6 if target == "tanh" else 7
    assert r.levels_used == a.depth["ckks_levels"] == levels and r.details["plan_basis"] == "chebyshev"
    assert r.max_error_vs_artifact < 1e-4


def test_chebyshev_plan_coefficients_come_from_the_stage_not_from_monomials():
    from polyfit.plan import approximation_plan

    a = pf.fit("tanh", 64, 8, basis="chebyshev")
    plan = approximation_plan(a, 1 / 8, "chebyshev")
    x = np.linspace(-8, 8, 2001)
    assert np.max(np.abs(plan.execute(x / 8) - a(x))) < 1e-12
    assert max(abs(op.const) for op in plan.ops if op.const is not None) < 10


@pytest.mark.parametrize("argv, summary", [
    (["fit", "--degree", "6", "--range", "4"], "optimum  certified optimal (discrete-lstsq, gap 0)"),
    (["fit", "--degree", "6", "--range", "4", "--grid", "continuous"], "optimum  certified optimal (exact-projection, gap 0)"),
    (["taylor", "--function", "silu", "--degree", "6"], "optimum  not certified (heuristic)"),
])
def test_lstsq_and_taylor_certificates_are_printed(cli, in_tmp, argv, summary):
    code, out, err = cli(*argv, "--out", "a.json")
    assert code == 0 and summary in out and "stated by the solver" in out
    cert = pf.load(in_tmp / "a.json").provenance["certificate"]
    assert set(cert) == {"kind", "certified", "value", "bound", "gap", "message"}


def test_lstsq_certificate_value_is_the_objective_it_minimised():
    a = pf.fit("relu", 6, 4, grid="continuous", basis="chebyshev")
    x = np.linspace(-4, 4, 200001)
    integral = np.trapezoid((a(x) - np.maximum(x, 0)) ** 2, x)
    assert a.provenance["certificate"]["value"] == pytest.approx(integral, rel=1e-6)
    d = pf.fit("relu", 6, 4, basis="chebyshev")
    xs = np.linspace(-4, 4, 1000)
    assert d.provenance["certificate"]["value"] == pytest.approx(np.sum((d(xs) - np.maximum(xs, 0)) ** 2), rel=1e-9)
