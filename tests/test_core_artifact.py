import json
import os

import numpy as np
import pytest

import polyfit as pf
from polyfit.artifact import from_dict, to_dict
from polyfit.metrics import metric_grid


@pytest.fixture
def approx():
    return pf.fit("gelu", 6, (-4, 3), grid="chebyshev", points=300)


def test_round_trip_preserves_everything(tmp_path, approx):
    path = approx.save(tmp_path / "a.json")
    back = pf.load(path)
    assert to_dict(back) == to_dict(approx)
    x = np.linspace(-4, 3, 101)
    np.testing.assert_array_equal(back(x), approx(x))


def test_artifact_has_the_spec_keys(approx):
    data = json.loads(approx.to_json())
    assert data["schema"] == "polyfit/approximation" and data["schema_version"] == "1.0"
    for key in ("polyfit_version", "target", "domain", "input_scale", "stages", "combine", "objective",
                "metrics", "depth", "precision", "provenance"):
        assert key in data
    assert set(data["depth"]) >= {"degrees", "ckks_levels", "ct_ct_multiplications", "backends", "mpc_rounds"}
    assert set(data["depth"]["backends"]) == {"lattigo", "openfhe", "tenseal"}
    assert set(data["depth"]["mpc_rounds"]) == {"parties", "horner", "power_tree", "single_round", "three_party"}
    assert set(data["precision"]) >= {"frac_bits", "ring_bits", "input_bound", "peak_bits", "fits"}
    assert set(data["provenance"]) >= {"solver", "backend", "options", "elapsed_s"}


def test_metrics_are_reproducible_from_the_json_alone(tmp_path, approx):
    data = json.loads(approx.to_json())
    coefs = data["stages"][0]["coefficients"]
    lo, hi = data["domain"]
    x = metric_grid((lo, hi), data["metrics"]["grid_points"], data["metrics"]["exclude"])
    gelu = pf.get_target("gelu")
    err = np.polynomial.polynomial.polyval(x, coefs) - gelu(x)
    assert np.max(np.abs(err)) == pytest.approx(data["metrics"]["max_abs_error"], rel=1e-12)
    assert np.sqrt(np.mean(err**2)) == pytest.approx(data["metrics"]["rms_error"], rel=1e-12)


def test_atomic_write_leaves_no_temp_files(tmp_path, approx):
    approx.save(tmp_path / "a.json")
    approx.save(tmp_path / "a.json")
    assert os.listdir(tmp_path) == ["a.json"]


def test_missing_file(tmp_path):
    with pytest.raises(pf.ArtifactError, match="not found"):
        pf.load(tmp_path / "nope.json")


def test_corrupt_file(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"schema": "polyfit/approximation", ')
    with pytest.raises(pf.ArtifactError, match="not valid JSON"):
        pf.load(path)


def test_future_major_version_is_refused(approx):
    data = to_dict(approx)
    data["schema_version"] = "2.0"
    with pytest.raises(pf.ArtifactError, match="schema_version 2.0 is not supported"):
        from_dict(data)


def test_minor_versions_and_extra_keys_are_accepted(approx):
    data = to_dict(approx)
    data["schema_version"] = "1.7"
    data["my_notes"] = {"anything": 1}
    assert from_dict(data).stages == approx.stages


@pytest.mark.parametrize("mutate,message", [
    (lambda d: d.pop("stages"), "missing key"),
    (lambda d: d.update(schema="other"), "schema is"),
    (lambda d: d.update(domain=[1, -1]), "lo < hi"),
    (lambda d: d["stages"][0].update(degree=99), "degree 99"),
    (lambda d: d["stages"][0].update(coefficients=["a"]), r"coefficients\[0\] must be a finite number"),
    (lambda d: d["stages"][0].update(basis="legendre"), "basis"),
    (lambda d: d.update(combine="max"), "combine"),
])
def test_malformed_artifacts_are_refused(approx, mutate, message):
    data = to_dict(approx)
    mutate(data)
    with pytest.raises(pf.ArtifactError, match=message):
        from_dict(data)


def test_quantized_integers_must_match_coefficients(approx):
    data = to_dict(approx)
    data["stages"][0]["quantized"] = {"frac_bits": 4, "integers": [1] * 7}
    with pytest.raises(pf.ArtifactError, match="integers"):
        from_dict(data)


def test_expression_target_round_trips(tmp_path):
    approx = pf.fit(pf.expr("x*tanh(x)"), 4, 2)
    back = pf.load(approx.save(tmp_path / "e.json"))
    np.testing.assert_allclose(back.target(np.array([1.5])), 1.5 * np.tanh(1.5))


def test_non_finite_metrics_are_written_as_null(tmp_path):
    approx = pf.fit("exp", 2, (0, 1)).replace(metrics={"max_abs_error": float("inf"), "rms_error": float("nan")})
    data = json.loads(approx.to_json())
    assert data["metrics"] == {"max_abs_error": None, "rms_error": None}


def test_callable_target_artifact_loads_and_reports_without_target(tmp_path, cli):
    path = pf.fit(np.cos, 4, 1).save(tmp_path / "cos.json")
    back = pf.load(path)
    with pytest.raises(pf.InputError, match="Python callable"):
        back.target(np.array([0.0]))
    code, out, _ = cli("report", str(path))
    assert code == 0 and "not re-evaluated" in out
    code, _, err = cli("plot", str(path), "--out", str(tmp_path / "cos.png"))
    assert code == 0, err
