"""`pf.verify` / `polyfit verify`: CKKS under TenSEAL and fixed point, claims and exit codes."""
import json
import sys
import warnings

import numpy as np
import pytest

import polyfit as pf
from polyfit.errors import InputError, MissingExtraError
from polyfit.verification import sample_inputs, verify



@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    path = tmp_path_factory.mktemp("verify") / "relu-d4-r5-b10.json"
    pf.fit("relu", degree=4, domain=5, bits=10).save(path)
    return str(path)


def _claim(result, prefix):
    return next(c for c in result.claims if c.name.startswith(prefix))


def test_headline_artifact_passes_ckks(headline):
    r = verify(headline, backend="ckks", samples=128)
    assert r.ok, r.failed
    assert r.levels_used == 3
    assert _claim(r, "fails at 2").ok
    assert r.max_error_vs_artifact < 1e-4
    assert r.details["parameters"]["coeff_mod_bit_sizes"] == [60, 40, 40, 40, 60]
    assert "128-bit" in r.details["parameters"]["security"]


@pytest.mark.parametrize("degree", [1, 2, 3, 4, 7, 8, 15])
def test_runs_at_reported_depth_and_fails_one_below(degree):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pf.fit("gelu", degree=degree, domain=8)
    r = verify(a, samples=32)
    assert r.levels_used == a.depth["ckks_levels"]
    assert _claim(r, "runs at").ok
    assert _claim(r, "fails at").ok and _claim(r, "fails at").measured == "failed"
    assert r.max_error_vs_artifact < 1e-4  # scale 2^40, |x| ≤ 8
    assert r.ok


def test_degree_31_stays_within_1e4_of_the_artifact():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = pf.fit("relu", degree=31, domain=8)
    r = verify(a, samples=32, check_tight=False)
    assert r.ok, r.failed
    assert r.details["plan_basis"] == "chebyshev" and r.levels_used == 5
    assert r.max_error_vs_artifact < 1e-4


@pytest.mark.parametrize("preset, function", [("f2g2", "sign"), ("lee-a7", "relu"), ("lee-a10", "relu")])
def test_composite_presets_run_at_reported_depth(preset, function):
    a = pf.composite(preset=preset, function=function)
    r = verify(a, samples=32)
    assert r.ok, r.failed
    assert r.levels_used == a.depth["ckks_levels"]
    assert r.max_error_vs_artifact < 1e-4


def test_too_short_chain_is_a_failed_claim_not_a_traceback(headline):
    r = verify(headline, levels=2, samples=16)
    assert not r.ok
    failed = r.failed[0]
    assert failed.name == "runs at 2 levels"
    assert "scale out of bounds" in failed.message or "levels" in failed.message


def test_a_false_depth_report_is_caught(headline):
    a = pf.load(headline)
    wrong = a.replace(depth={**a.depth, "ckks_levels": 4})
    r = verify(wrong, samples=16)
    assert not r.ok
    assert not _claim(r, "depth.ckks_levels").ok


def test_fixed_point_backend_checks_precision(headline):
    r = verify(headline, backend="fixed-point")
    assert r.ok, r.failed
    assert _claim(r, "precision.peak_bits").measured == pf.load(headline).precision["peak_bits"]
    small_ring = verify(headline, backend="fixed-point", ring_bits=24)
    # the recomputed report says it does not fit, and the ring overflows: that claim holds,
    # but the wrapped outputs are wrong, so the accuracy claim fails and verify says so
    assert _claim(small_ring, "precision.fits").claimed is False and _claim(small_ring, "precision.fits").ok
    assert not small_ring.ok and [c.name for c in small_ring.failed][0] == "accuracy vs artifact"


def test_fixed_point_catches_a_false_fits_claim(headline):
    a = pf.load(headline)
    wrong = a.replace(precision={**a.precision, "peak_bits": 20, "fits": True, "ring_bits": 24})
    r = verify(wrong, backend="fixed-point", ring_bits=24)
    assert not r.ok
    assert {c.name for c in r.failed} >= {"precision.peak_bits", "precision.fits"}


def test_samples_include_sign_gap_edges():
    a = pf.composite(preset="f2g2", function="sign")
    x = sample_inputs(a, 16)
    lo, hi = a.metrics["exclude"]
    assert np.any(np.isclose(x, x[x <= lo].max())) and x[x >= hi].min() - hi < 1e-3
    assert not np.any((x > lo) & (x < hi))


def test_result_to_dict_has_the_contract_keys(headline):
    d = verify(headline, backend="fixed-point").to_dict()
    assert {"backend", "ok", "levels_used", "max_error_vs_artifact", "max_error_vs_target", "claims"} <= set(d)
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"levels": 0}, "levels"), ({"ring_bits": 8}, "ring bits"), ({"ring_bits": 200}, "ring bits"),
    ({"ring_bits": 32, "frac_bits": 32}, "frac bits"), ({"backend": "bfv"}, "backend"), ({"samples": 1}, "samples"),
])
def test_bad_options_raise_input_error(headline, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        verify(headline, **kwargs)


def test_missing_tenseal_names_the_extra(headline, monkeypatch):
    monkeypatch.setitem(sys.modules, "tenseal", None)
    with pytest.raises(MissingExtraError, match=r"polyfit-ppml\[he\]"):
        verify(headline)


def test_cli_exit_codes(headline, cli, tmp_path, monkeypatch):
    code, out, _ = cli("verify", headline, "--samples", "16")
    assert code == 0 and "all claims hold" in out
    code, out, _ = cli("verify", headline, "--backend", "fixed-point", "--json")
    assert code == 0 and json.loads(out)["ok"] is True
    code, _, err = cli("verify", headline, "--levels", "2", "--samples", "16")
    assert code == 1 and "runs at 2 levels" in err
    for argv, fragment in [((str(tmp_path / "missing.json"),), "not found"),
                           ((headline, "--levels", "0"), "levels"),
                           ((headline, "--ring-bits", "8"), "ring bits"),
                           ((headline, "--ring-bits", "64", "--frac-bits", "64"), "frac bits")]:
        code, out, err = cli("verify", *argv)
        assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1 and out == ""
    corrupt = tmp_path / "corrupt.json"
    corrupt.write_text("{not json")
    code, _, err = cli("verify", str(corrupt))
    assert code == 2 and "corrupt" in err
    monkeypatch.setitem(sys.modules, "tenseal", None)
    code, _, err = cli("verify", headline)
    assert code == 2 and "polyfit-ppml[he]" in err


@pytest.mark.parametrize("options,fragment", [({"levels": 2.7}, "levels 2.7"), ({"samples": "many"}, "samples 'many'"),
                                              ({"ring_bits": 200}, "ring bits 200"), ({"frac_bits": 64}, "frac bits 64")])
def test_api_options_must_be_integers_in_range(options, fragment):
    approx = pf.fit("relu", 4, 5, bits=10)
    with pytest.raises(pf.InputError, match=fragment):
        pf.verify(approx, backend="fixed-point", **options)


def test_composite_stage_inputs_are_normalised_for_the_chebyshev_plan():
    from polyfit.backends import ckks
    from polyfit.plan import approximation_plan

    composite = pf.composite(degrees=[7, 31], function="sign")  # stage 2 reads values up to ≈ 1.8
    multiplier = ckks.input_multiplier(composite.domain)
    plan = approximation_plan(composite, multiplier, "chebyshev")
    x = np.linspace(-1, 1, 1001)
    np.testing.assert_allclose(plan.execute(x * multiplier), composite(x), atol=1e-6)
    assert max(abs(op.const) for op in plan.ops if op.const is not None) < 10
    result = verify(composite, backend="ckks", samples=16)
    assert result.ok and result.details["plan_basis"] == "chebyshev"
    assert result.max_error_vs_artifact < 1e-4


def test_fixed_point_accuracy_claim_fails_when_rounding_ruins_the_fit(tmp_path, cli):
    """Issue 9 §4: relu d8 (float coefficients) at 8 fractional bits used to print 'all claims hold'
    at error 3.85. That was the CKKS plan in fixed point; verify now runs the MPC schedule
    (error < 0.05, claim holds) and still fails when the stated tolerance is not met."""
    path = tmp_path / "d8.json"
    pf.fit("relu", degree=8, domain=5).save(path)
    r = verify(path, backend="fixed-point", frac_bits=8)
    assert r.ok and r.max_error_vs_artifact < 0.05
    assert r.details["models"]["truncate-after-each-product"]["max_error_vs_artifact"] > 1.0
    code, out, err = cli("verify", str(path), "--backend", "fixed-point", "--frac-bits", "8", "--tolerance", "1e-3")
    assert code == 1 and "accuracy vs artifact" in err
    assert "claim    on " in out and "the artifact's max error" in out


def test_accuracy_claim_states_both_bounds_and_holds_for_the_headline(headline):
    for backend in ("fixed-point", "ckks"):
        r = verify(headline, backend=backend, samples=64)
        stored = pf.load(headline).metrics["max_abs_error"]
        assert r.ok, r.failed
        assert _claim(r, "accuracy vs artifact").claimed == r.tolerance
        assert _claim(r, "accuracy vs target").claimed == pytest.approx(stored + r.tolerance)
        assert r.max_error_vs_target <= stored + r.tolerance
        assert f"{r.tolerance:.3g}" in r.statement and r.to_dict()["accuracy_claim"] == r.statement


def test_accuracy_vs_target_uses_the_artifacts_own_error():
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    boasting = a.replace(metrics={**a.metrics, "max_abs_error": 1e-3})
    r = verify(boasting, backend="fixed-point")
    assert not _claim(r, "accuracy vs target").ok and not _claim(r, "metrics.max_abs_error").ok
    assert _claim(r, "accuracy vs artifact").ok


def test_fixed_point_accuracy_ignores_the_sign_gap():
    r = verify(pf.composite(preset="f2g2", function="sign"), backend="fixed-point", samples=64)
    assert r.ok, r.failed
    assert r.max_error_vs_target < 0.05  # the gap (−ε, ε) holds errors near 1; it is not claimed


def test_samples_are_bounded():
    with pytest.raises(InputError, match="samples 100000 must be an integer from 2 to 16384"):
        verify(pf.fit("relu", 4, 5, bits=10), backend="fixed-point", samples=100000)


def test_crypten_timing_line_speaks_of_secret_shares_not_ciphertexts():
    from polyfit.verification import VerifyResult, format_result

    r = VerifyResult("crypten", True, (), 0.0, 0.0, None, 1.0, {"seconds_per_evaluation": 0.03, "samples": 256,
                                                                  "parties": 3})
    line = format_result(r).splitlines()[-1]
    assert "ciphertext" not in line and "256 secret-shared samples, 3 parties" in line


def test_ckks_maps_a_domain_without_zero_onto_the_whole_chebyshev_interval():
    # sigmoid d16 Chebyshev on [1, 9]: with u = x / 9 the series ran on [-1, 1] and erred 0.07
    pytest.importorskip("tenseal")
    a = pf.fit("sigmoid", degree=16, domain=(1, 9), basis="chebyshev")
    r = verify(a, backend="ckks", samples=64, check_tight=False)
    assert r.ok, r.failed
    assert r.details["input_offset"] == -1.25 and r.max_error_vs_artifact < 1e-5


def test_ckks_checks_the_tenseal_depth_the_export_program_is_held_to(headline, tmp_path):
    # depth.backends.tenseal hand-edited to 2: verify said "all claims hold", the exported
    # program consumed 3 levels and reported ok: false
    pytest.importorskip("tenseal")
    data = json.loads(open(headline).read())
    data["depth"]["backends"]["tenseal"] = 2
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data))
    r = verify(str(path), backend="ckks", samples=16, check_tight=False)
    assert [c.name for c in r.failed] == ["depth.backends.tenseal"] and _claim(r, "depth.backends.tenseal").measured == 3


def test_verify_and_export_of_a_max_approximation_say_what_to_pass():
    from polyfit.export import program
    from polyfit.solvers.composite import max_approximation

    m = max_approximation(pf.composite(degrees=[3, 3], function="relu"))
    for call in (lambda: verify(m, backend="fixed-point"), lambda: program(m, "tenseal")):
        with pytest.raises(InputError, match="MaxApproximation: max.a, b. runs in Python only; pass its sign"):
            call()


def test_parties_other_than_two_are_refused_outside_crypten(headline):
    # --parties 3 --backend fixed-point printed 2-party failure probabilities as if for 3 parties
    with pytest.raises(InputError, match="parties 3 applies to --backend crypten only; fixed-point runs the 2-party"):
        verify(headline, backend="fixed-point", parties=3)


def test_an_exclusion_covering_the_domain_is_bad_input_not_a_traceback(headline, tmp_path):
    data = json.loads(open(headline).read())
    data["metrics"]["exclude"] = [-6, 6]  # hand-edited: the domain is [-5, 5]
    path = tmp_path / "excluded.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"metrics.exclude \[-6(.0)?, 6(.0)?\] covers the whole domain"):
        sample_inputs(pf.load(path), 16)
