"""The CrypTen programs `polyfit export --to crypten` writes, run without polyfit (two parties).

Needs CrypTen: skipped where it is not installed, required where .ci/run says so.
"""
import pytest

from engines import engine

engine("crypten")

import polyfit as pf  # noqa: E402
from export_support import run_program  # noqa: E402
from polyfit.export import program  # noqa: E402


@pytest.mark.parametrize("make", [lambda: pf.fit("relu", degree=4, domain=5, bits=10),
                                  lambda: pf.composite(preset="lee-a7", function="relu")],
                         ids=["quantized monomial", "composite relu"])
def test_crypten_program_runs_without_polyfit_within_its_tolerance(make, tmp_path):
    a = make()
    path = tmp_path / "prog.py"
    path.write_text(program(a, "crypten", samples=64).text)
    code, summary, out, err = run_program(path)
    assert code == 0, out + err
    assert summary["engine"] == "crypten" and summary["ok"] is True and summary["levels_used"] is None
    assert summary["max_error_vs_artifact"] <= summary["tolerance"]
    assert summary["rounds"] > 0
