"""Issue 9 §3: defaults that cannot produce garbage (basis auto, raw-variable warning, input-scale auto)."""
import json
import re
import warnings

import numpy as np
import pytest

import polyfit as pf


def test_default_basis_keeps_a_high_degree_fit_accurate(cli, in_tmp):
    # was: a monomial artifact with max error 103 (conversion of the degree-64 Chebyshev solution)
    code, out, err = cli("fit", "--function", "tanh", "--degree", "64", "--range", "8", "--out", "t.json")
    assert code == 0 and err == ""
    data = json.loads((in_tmp / "t.json").read_text())
    assert data["stages"][0]["basis"] == "chebyshev" and data["metrics"]["max_abs_error"] < 1e-5
    assert "basis    chebyshev (auto: monomial coefficients would change values by" in out


def test_api_default_basis_follows_the_same_rule():
    a = pf.fit("tanh", 64, 8)
    choice = a.provenance["basis_choice"]
    assert a.stages[0].basis == "chebyshev" and choice["chosen"] == "chebyshev" and choice["requested"] == "auto"
    assert choice["conversion_change"] > choice["tolerance"] == pytest.approx(0.01 * a.metrics["max_abs_error"])


def test_auto_basis_stores_monomial_where_the_conversion_keeps_the_error():
    a = pf.fit("relu", 4, 5)
    choice = a.provenance["basis_choice"]
    assert a.stages[0].basis == "monomial" and choice["conversion_change"] <= choice["tolerance"]
    cheb = pf.fit("relu", 4, 5, basis="chebyshev")
    assert a.metrics["max_abs_error"] == pytest.approx(cheb.metrics["max_abs_error"], rel=1e-9)


def test_explicit_monomial_stays_available_and_warns_with_the_measured_alternative(cli, in_tmp):
    code, out, err = cli("fit", "--function", "tanh", "--degree", "64", "--range", "8", "--basis", "monomial")
    assert code == 0
    measured = re.search(r"warning: basis monomial loses the fit's accuracy: max error (\S+) instead of 4\.3", err)
    assert measured and float(measured.group(1)) > 1.0   # the stored monomials' exact error: 19.9
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert pf.load(in_tmp / "tanh-d64-r8-monomial.json").stages[0].basis == "monomial"


def test_the_headline_does_not_warn_and_keeps_its_integers(cli, in_tmp):
    code, out, err = cli("fit", "--degree", "4", "--range", "5", "--bits", "10")
    assert code == 0 and err == ""
    assert "warning" not in out
    assert pf.load(in_tmp / "relu-d4-r5-b10.json").stages[0].quantized.integers == (322, 512, 160, 0, -3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = pf.fit("relu", degree=4, domain=5, bits=10)
    assert a.stages[0].quantized.integers == (322, 512, 160, 0, -3)


def test_raw_variable_warns_when_normalising_cuts_the_error(cli, in_tmp):
    # sigmoid d15 on [-8, 8] with 8 bits collapses to 0.5 + 0.09x in the raw variable
    code, out, err = cli("fit", "--function", "sigmoid", "--degree", "15", "--range", "8", "--bits", "8")
    assert code == 0
    assert "--input-scale auto, t = x/8" in err and "3.571e-03 instead of 2.191e-01" in err
    assert "warning  the integers are in the raw variable x" in out
    a = pf.load(in_tmp / "sigmoid-d15-r8-b8.json")
    assert a.input_scale == 1.0 and a.provenance["input_scale_check"]["auto_max_error"] < 4e-3


def test_input_scale_auto_fits_in_x_over_the_domain_bound(cli, in_tmp):
    code, out, err = cli("fit", "--function", "sigmoid", "--degree", "15", "--range", "8", "--bits", "8",
                         "--input-scale", "auto", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["input_scale"] == 0.125 and data["metrics"]["max_abs_error"] < 4e-3
    a = pf.fit("sigmoid", 15, (-2, 8), bits=8, input_scale="auto")
    assert a.input_scale == 0.125


def test_an_explicit_input_scale_is_not_second_guessed():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = pf.fit("sigmoid", 15, 8, bits=8, input_scale=1.0)
    assert "input_scale_check" not in a.provenance


def test_input_scale_must_be_a_number_or_auto():
    with pytest.raises(pf.InputError, match="input_scale 'big' is not allowed; allowed: a finite non-zero number or 'auto'"):
        pf.fit("relu", 4, 5, input_scale="big")
