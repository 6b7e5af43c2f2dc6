"""`polyfit verify --backend openfhe` and `polyfit.backends.openfhe.evaluate` on real OpenFHE CKKS.

OpenFHE's wheels exist for CPython 3.10 and 3.12 only: these tests skip elsewhere (with that
reason) and .ci/run runs them in its 3.10 venv with POLYFIT_REQUIRE_ENGINES=openfhe, where a
skip would be a failure. Contexts are 128-bit secure; N is the smallest OpenFHE allows for the
depth (16384 up to 5-6 levels, 32768 up to 11-14).
"""
import json
import warnings

import numpy as np
import pytest

from engines import engine

engine("openfhe")

import polyfit as pf  # noqa: E402
from polyfit.backends import openfhe as backend  # noqa: E402
from polyfit.verification import verify  # noqa: E402


def _quiet(make):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make()


def _claim(result, prefix):
    return next(c for c in result.claims if c.name.startswith(prefix))


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    path = tmp_path_factory.mktemp("openfhe") / "relu-d4-r5-b10.json"
    pf.fit("relu", degree=4, domain=5, bits=10).save(path)
    return str(path)


def test_quantized_headline_consumes_its_claimed_levels_and_not_one_fewer(headline):
    r = verify(headline, backend="openfhe", samples=64)
    assert r.ok, r.failed
    assert r.levels_used == pf.load(headline).depth["backends"]["openfhe"] == 3
    assert _claim(r, "fails at 2").ok and _claim(r, "fails at 2").measured == "failed"
    assert r.max_error_vs_artifact < 1e-8
    assert r.details["parameters"]["ring_dimension"] == 16384
    assert r.details["parameters"]["security"] == "HEStd_128_classic"


@pytest.mark.parametrize("basis", ["monomial", "chebyshev"])
def test_gelu_degree_15_takes_five_levels_in_either_basis(basis):
    a = _quiet(lambda: pf.fit("gelu", degree=15, domain=8, method="minimax", basis=basis))
    r = verify(a, backend="openfhe", samples=32, check_tight=basis == "monomial")
    assert r.ok, r.failed
    assert r.levels_used == a.depth["backends"]["openfhe"] == 5
    assert r.max_error_vs_artifact < 1e-8


@pytest.mark.parametrize("preset, function, levels", [("f2g2", "sign", 6), ("lee-a7", "relu", 9),
                                                      ("f1g2", "abs", 7), ("f1g2", "step", 6)])
def test_composites_consume_their_claimed_levels(preset, function, levels):
    a = pf.composite(preset=preset, function=function)
    r = verify(a, backend="openfhe", samples=32, check_tight=False)
    assert r.ok, r.failed
    assert r.levels_used == a.depth["backends"]["openfhe"] == levels
    assert r.max_error_vs_artifact < 1e-6


def test_a_false_depth_claim_is_caught(headline):
    a = pf.load(headline)
    wrong = a.replace(depth={**a.depth, "backends": {**a.depth["backends"], "openfhe": 4}})
    r = verify(wrong, backend="openfhe", samples=16, check_tight=False)
    assert not r.ok
    assert _claim(r, "depth.backends.openfhe").measured == 3 and not _claim(r, "depth.backends.openfhe").ok


def test_too_short_chain_is_a_failed_claim_not_a_traceback(headline):
    r = verify(headline, backend="openfhe", levels=2, samples=16)
    assert not r.ok
    assert _claim(r, "runs at 2 levels").ok is False


def test_a_forced_chain_below_the_claim_does_not_falsify_the_depth_claim(headline):
    # --levels 2 on a 3-level artifact: the run there fails, which is what the claim says;
    # verify used to list depth.backends.openfhe among the false claims
    r = verify(headline, backend="openfhe", levels=2, samples=16)
    assert [c.name for c in r.failed] == ["runs at 2 levels"]


def test_more_samples_than_the_security_ring_holds_get_a_larger_ring(headline):
    # 10001 samples (--samples 16384) at depth 3: OpenFHE picks N = 16384 (8192 slots) and
    # raised "batch size cannot be larger than ring dimension / 2" as a traceback
    r = verify(headline, backend="openfhe", samples=16384, check_tight=False)
    assert r.ok, r.failed
    assert r.details["parameters"]["ring_dimension"] == 32768


def test_evaluate_runs_a_users_own_program_on_the_encoded_input():
    a = _quiet(lambda: pf.fit("silu", degree=7, domain=6, method="minimax"))
    x = np.linspace(-6, 6, 16)
    cc, keys, _ = backend.make_context(a.depth["backends"]["openfhe"], slots=len(x))
    ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(backend.encode_input(a, x))))
    plain = cc.Decrypt(backend.evaluate(cc, ct, a), keys.secretKey)
    plain.SetLength(len(x))
    assert np.max(np.abs(np.array(plain.GetRealPackedValue()) - a(x))) < 1e-8


def test_evaluate_on_raw_x_spends_one_more_level():
    a = _quiet(lambda: pf.fit("silu", degree=7, domain=6, method="minimax"))
    x = np.linspace(-6, 6, 16)
    levels = a.depth["backends"]["openfhe"]
    cc, keys, _ = backend.make_context(levels + 1, slots=len(x))
    ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(x)))
    out = backend.evaluate(cc, ct, a, encoded=False)
    assert backend.height(out) - backend.height(ct) == levels + 1
    plain = cc.Decrypt(out, keys.secretKey)
    plain.SetLength(len(x))
    assert np.max(np.abs(np.array(plain.GetRealPackedValue()) - a(x))) < 1e-8


def test_cli_json_reports_levels_used(cli, headline):
    code, out, err = cli("verify", headline, "--backend", "openfhe", "--samples", "16", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["backend"] == "openfhe" and data["ok"] is True and data["levels_used"] == 3
    assert {c["name"] for c in data["claims"]} >= {"depth.backends.openfhe", "runs at 3 levels", "accuracy vs artifact"}
