"""The OpenFHE programs `polyfit export --to openfhe` writes, run without polyfit.

Needs the openfhe module (CPython 3.10/3.12): skipped elsewhere, required in CI's 3.10 venv.
"""
import importlib.util
import os

import numpy as np
import pytest

from engines import engine

engine("openfhe")

import polyfit as pf  # noqa: E402
from export_support import run_program  # noqa: E402
from polyfit.export import program  # noqa: E402

KINDS = {
    "quantized monomial": lambda: pf.fit("relu", degree=4, domain=5, bits=10),
    "chebyshev": lambda: pf.fit("gelu", degree=15, domain=8, basis="chebyshev"),
    "composite sign": lambda: pf.composite(preset="f2g2", function="sign"),
    "composite relu": lambda: pf.composite(preset="lee-a7", function="relu"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_openfhe_program_runs_without_polyfit_at_the_claimed_levels(kind, tmp_path):
    a = KINDS[kind]()
    path = tmp_path / "prog.py"
    path.write_text(program(a, "openfhe", samples=64).text)
    code, summary, out, err = run_program(path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert code == 0, out + err
    assert summary["engine"] == "openfhe" and summary["ok"] is True
    assert summary["levels_used"] == a.depth["backends"]["openfhe"]
    assert summary["max_error_vs_artifact"] < 1e-6


def test_openfhe_program_evaluate_is_callable_from_a_pipeline(tmp_path):
    a = pf.fit("silu", degree=7, domain=6, method="minimax")
    path = tmp_path / "silu_openfhe.py"
    path.write_text(program(a, "openfhe").text)
    spec = importlib.util.spec_from_file_location("silu_openfhe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = np.linspace(-6, 6, 16)
    cc, keys = module.make_context(slots=len(x))
    ct = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(list(module.encode(x))))
    plain = cc.Decrypt(module.evaluate(cc, ct), keys.secretKey)
    plain.SetLength(len(x))
    assert np.max(np.abs(np.array(plain.GetRealPackedValue()) - a(x))) < 1e-8


def test_openfhe_program_with_more_samples_than_the_security_ring_holds(tmp_path):
    # --samples 16384 on a depth-3 artifact: 10001 samples > 8192 slots of N = 16384; the program
    # died in GenCryptoContext ("batch size cannot be larger than ring dimension / 2")
    path = tmp_path / "prog.py"
    path.write_text(program(pf.fit("relu", degree=4, domain=5, bits=10), "openfhe", samples=16384).text)
    code, summary, out, err = run_program(path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert code == 0 and summary["ok"] is True and summary["ring_dimension"] == 32768, out + err
