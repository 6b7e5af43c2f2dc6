"""Numbers true just beside the tested paths (probe of the core commands, issue 9 follow-up)."""
import json
import math

import numpy as np
import pytest

import polyfit as pf


def test_tiny_input_scale_keeps_chebyshev_and_reports_precision_unbounded():
    # t = 1e-300·x: the monomial coefficients in t overflow float64 (was: ValueError NaN traceback)
    a = pf.fit("relu", 4, 5, input_scale=1e-300)
    assert a.stages[0].basis == "chebyshev" and "not finite" in a.provenance["basis_choice"]["reason"]
    assert a.precision["peak_bits"] is None and a.precision["fits"] is False
    assert math.isclose(a.metrics["max_abs_error"], pf.fit("relu", 4, 5).metrics["max_abs_error"], rel_tol=1e-9)


def test_tiny_input_scale_with_basis_monomial_is_a_computation_error():
    with pytest.raises(pf.ComputationError, match="monomial coefficients in t = 1e-300"):
        pf.fit("relu", 4, 5, input_scale=1e-300, basis="monomial")


def test_artifact_whose_mpc_schedule_does_not_fit_reads_back(tmp_path):
    # exp on [-50, 50]: every MPC schedule needs an integer beyond int64; files written with
    # "name": null (before the record dropped the key) were refused on read
    a = pf.fit("exp", 8, 50)
    assert a.precision["mpc_schedule"].get("name") is None
    a.save(tmp_path / "e.json")
    data = json.loads((tmp_path / "e.json").read_text())
    data["precision"]["mpc_schedule"]["name"] = None
    (tmp_path / "e.json").write_text(json.dumps(data))
    assert pf.load(tmp_path / "e.json").precision["mpc_schedule"]["fits"] is False


def test_taylor_far_from_zero_keeps_the_taylor_polynomial_in_chebyshev():
    # exp about 50 on [40, 60]: rounded monomials in x read 1.07e27; the Taylor polynomial's
    # true error is e^60 − Σ_k e^50·10^k/k! (k ≤ 20) ≈ 1.81e23, at x = 60
    a = pf.taylor("exp", 20, center=50, domain=(40, 60))
    true = math.exp(60) - sum(math.exp(50) * 10.0 ** k / math.factorial(k) for k in range(21))
    assert a.stages[0].basis == "chebyshev" and a.provenance["basis_choice"]["chosen"] == "chebyshev"
    assert math.isclose(a.metrics["max_abs_error"], true, rel_tol=1e-6)


def test_report_recheck_refuses_a_depth_note_on_a_fit_without_trailing_zeros():
    # the report prints depth.note; one added by hand to a fit with no trailing zeros passed
    from polyfit.recheck import recheck

    a = pf.fit("relu", 4, 5)
    edited = a.replace(depth={**a.depth, "note": "free: costs no levels"})
    result = recheck(edited)
    assert not result["ok"] and any("depth.note" in line for line in result["lines"])


def test_plot_refuses_an_artifact_whose_stored_error_is_false(cli, in_tmp):
    # the title prints the stored max |error|: a hand-edited 0.1 (true 0.3145) was drawn as is
    pf.fit("relu", 4, 5, bits=10, input_scale=1.0).save(in_tmp / "a.json")
    data = json.loads((in_tmp / "a.json").read_text())
    data["metrics"]["max_abs_error"] = 0.1
    (in_tmp / "a.json").write_text(json.dumps(data))
    code, out, err = cli("plot", "a.json", "--out", "a.png")
    assert code == 1 and "stored 0.1, re-evaluated 0.314453125" in err and not (in_tmp / "a.png").exists()


def test_plot_title_of_a_value_without_metrics_says_not_stated():
    from polyfit.plot import plot_title

    assert "max |error| not stated" in plot_title(pf.fit("relu", 4, 5).replace(metrics={}))


def test_continuous_l2_at_degree_1000_converges_in_seconds():
    # was: numpy's O(n³) leggauss and a 1e-11 test below rounding noise doubled the rule past
    # 32k nodes (28 min, 16 GB, then killed)
    a = pf.fit("relu", 1000, 1, grid="continuous")
    assert a.provenance["quadrature_nodes_per_piece"] <= 4004
    assert a.stages[0].basis == "chebyshev" and 3.1e-4 < a.metrics["max_abs_error"] < 3.3e-4


def test_legendre_to_chebyshev_stays_finite_at_degree_1000():
    from numpy.polynomial import legendre as L
    from polyfit.solvers.lstsq import _legendre_to_chebyshev

    leg = np.random.default_rng(0).normal(size=1001)
    u = np.linspace(-1, 1, 101)
    with np.errstate(all="raise"):
        cheb = _legendre_to_chebyshev(leg)
    assert np.allclose(np.polynomial.chebyshev.chebval(u, cheb), L.legval(u, leg), atol=1e-9)


def test_continuous_l2_that_does_not_converge_is_one_error(monkeypatch):
    from polyfit.solvers import lstsq

    monkeypatch.setattr(lstsq, "MAX_QUADRATURE_NODES", 100)
    with pytest.raises(pf.ComputationError, match="did not converge .* the most is 100"):
        pf.fit("tanh", 40, 3, grid="continuous")


@pytest.mark.parametrize("value", ["2", None, 1j, ["1", "2"]])
def test_evaluating_an_approximation_refuses_what_is_not_a_real_number(value):
    # a("2") returned p(2) and a(None) NaN, silently
    with pytest.raises(pf.InputError, match="inputs must be real numbers"):
        pf.fit("relu", 4, 5)(value)


def test_an_exclude_covering_the_whole_domain_is_one_input_error():
    # was: ValueError "zero-size array to reduction operation minimum" from the metrics
    with pytest.raises(pf.InputError, match=r"covers the whole domain \[-5, 5\]"):
        pf.fit("relu", 4, 5, exclude=(-6, 7))


def test_cli_reads_negative_numbers_with_an_exponent(cli, in_tmp):
    # argparse took "-1e-3" for an option: "argument --domain: expected 2 arguments"
    code, out, err = cli("fit", "--degree", "2", "--domain", "-1e-3", "5", "--json")
    assert code == 0 and json.loads(out)["domain"] == [-0.001, 5.0]


def test_an_input_scale_mapping_the_domain_beyond_float64_is_one_input_error():
    # 1e308 on [-5, 5]: t reaches inf and numpy's SVD failed with a LinAlgError traceback
    with pytest.raises(pf.InputError, match=r"input_scale 1e\+308 maps the domain \[-5, 5\]"):
        pf.fit("relu", 4, 5, input_scale=1e308)


def test_lstsq_of_an_odd_target_on_a_symmetric_domain_has_exactly_zero_even_coefficients():
    # tanh d6 on [-4, 4] kept 1e-16 noise at x^6: effective degree 6, Horner 5 rounds, instead of 5
    a = pf.fit("tanh", 6, 4)
    assert a.stages[0].coefficients[0::2] == (0.0,) * 4
    assert a.depth["degrees"] == [5] and a.depth["mpc_rounds"]["horner"] == 4


def test_lstsq_parity_is_not_imposed_on_an_asymmetric_domain():
    a = pf.fit("tanh", 6, (-4, 3))
    assert a.depth["degrees"] == [6] and "parity" not in a.provenance


@pytest.mark.parametrize("reference", [5, lambda x: x[:3]])
def test_plot_refuses_a_reference_that_is_not_a_curve_of_x(reference):
    # was: TypeError 'int' object is not callable / matplotlib's shape ValueError
    from polyfit.plot import plot_approximation

    with pytest.raises(pf.InputError, match="reference must"):
        plot_approximation(pf.fit("relu", 4, 5), points=11, reference=reference)


def test_plot_refuses_fewer_than_two_points():
    from polyfit.plot import plot_approximation

    with pytest.raises(pf.InputError, match="points"):
        plot_approximation(pf.fit("relu", 4, 5), points=1)


def test_a_domain_whose_squared_target_overflows_is_a_computation_error():
    # relu on [-1e200, 1e200]: Σ (p − f)² is inf (was: ValueError from the certificate)
    with pytest.raises(pf.ComputationError, match="objective overflows float64"):
        pf.fit("relu", 3, 1e200)


def test_quantized_powers_beyond_float64_are_a_computation_error():
    # t = 1e-300·x on [-5, 5]: t^4 underflows, the lattice is singular (was: LinAlgError)
    with pytest.raises(pf.ComputationError, match="leave float64"):
        pf.fit("relu", 4, 5, bits=10, input_scale=1e-300)


@pytest.mark.parametrize("text", ["7,,7", "7,", ",7", ""])
def test_degree_lists_with_an_empty_item_are_refused(text):
    with pytest.raises(pf.InputError, match="degrees"):
        pf.composite(degrees=text, function="relu")


def test_a_function_name_passed_as_alpha_says_so():
    with pytest.raises(pf.InputError, match="function='relu'"):
        pf.composite("relu", degrees=[3, 3])


@pytest.mark.parametrize("path", [("precision", "mpc_schedule", "candidates"),
                                  ("precision", "mpc_schedule", "params", "prescale")])
def test_report_on_a_number_where_a_list_belongs_is_a_mismatch_not_a_traceback(path, tmp_path, cli):
    data = pf.fit("relu", 4, 5, bits=10).to_dict()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = 1.5
    (tmp_path / "a.json").write_text(json.dumps(data))
    code, out, err = cli("report", str(tmp_path / "a.json"))
    assert code == 1 and "Traceback" not in err
    line = next(l for l in out.splitlines() if "MISMATCH " + ".".join(path) in l)
    assert len(line) < 400
