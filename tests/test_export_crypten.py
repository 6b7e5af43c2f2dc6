"""The CrypTen programs `polyfit export --to crypten` writes, run without polyfit (two parties).

Needs CrypTen 0.4.1 (.ci/run installs it in the 3.11 venv: there a skip would hide a broken
install, so under CI it is a failure). The test process never imports crypten itself.
"""
import os

import pytest

import polyfit as pf
from export_support import run_program
from polyfit.backends.crypten import check_installed
from polyfit.errors import MissingExtraError
from polyfit.export import program

try:
    check_installed()
except MissingExtraError as exc:
    if os.environ.get("CI"):
        pytest.fail(f"CrypTen is required under CI: {exc}", pytrace=False)
    pytest.skip(f"CrypTen not installed: {exc}", allow_module_level=True)


@pytest.mark.parametrize("make", [lambda: pf.fit("relu", degree=4, domain=5, bits=10),
                                  lambda: pf.composite(preset="lee-a7", function="relu")],
                         ids=["quantized monomial", "composite relu"])
def test_crypten_program_runs_without_polyfit_within_its_tolerance_and_rounds(make, tmp_path):
    a = make()
    path = tmp_path / "prog.py"
    path.write_text(program(a, "crypten", samples=64).text)
    code, summary, out, err = run_program(path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert code == 0, out + err
    assert summary["engine"] == "crypten" and summary["ok"] is True and summary["levels_used"] is None
    assert summary["max_error_vs_artifact"] <= summary["tolerance"]
    assert summary["rounds"] == summary["rounds_claimed"] > 0
