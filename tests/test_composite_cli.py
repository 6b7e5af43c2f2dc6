"""polyfit composite: report, artifact, exit codes."""
import json

import pytest

import polyfit as pf
from conftest import files_in


def test_composite_degrees_relu_report_and_artifact(cli, in_tmp):
    code, out, err = cli("composite", "--degrees", "7,7", "--function", "relu", "--epsilon", "0.084")
    assert code == 0, err
    assert files_in(in_tmp) == ["relu-composite-d7-7-eps0.084.json"]
    for word in ("stages   #  degree", "CKKS levels 7 = stages 6 + 1 (relu)", "Lattigo", "OpenFHE", "TenSEAL",
                 "relu     max error", "artifact relu-composite-d7-7-eps0.084.json"):
        assert word in out
    a = pf.load(in_tmp / "relu-composite-d7-7-eps0.084.json")
    assert a.combine == "relu" and a.degrees == [7, 7]


def test_composite_preset_json_writes_nothing(cli, in_tmp):
    code, out, _ = cli("composite", "--preset", "2f12g1-smartpaf", "--json", "--range", "8")
    assert code == 0
    data = json.loads(out)
    assert data["input_scale"] == 0.125 and data["objective"]["stage_names"] == ["f1", "f1", "g1", "g1"]
    assert files_in(in_tmp) == []


def test_composite_alpha_sign(cli, in_tmp):
    code, out, err = cli("composite", "--alpha", "5", "--out", "s.json")
    assert code == 0, err
    assert files_in(in_tmp) == ["s.json"] and "sign error on |x| ≥ εB" in out


@pytest.mark.parametrize("argv", [
    ("--alpha", "0.5"), ("--alpha", "41"), ("--alpha", "8", "--epsilon", "0"), ("--alpha", "8", "--epsilon", "1"),
    ("--preset", "nope"), ("--degrees", "7,8"), ("--degrees", "7,-1"), ("--degrees", "a"),
    ("--alpha", "6", "--function", "relu", "--max-depth", "3"), ("--alpha", "5", "--degrees", "7"), (),
    ("--alpha", "10", "--epsilon", "1e-300"), ("--alpha", "5", "--max-depth", "65"),
])
def test_bad_input_exits_2_with_one_line_and_no_file(cli, in_tmp, argv):
    code, out, err = cli("composite", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert files_in(in_tmp) == []


def test_remez_failure_exits_1(cli, in_tmp):
    code, _, err = cli("composite", "--degrees", "63", "--epsilon", "0.999")
    assert code == 1 and "degree 63" in err and len(err.strip().splitlines()) == 1
    assert files_in(in_tmp) == []


def test_table_example_runs_on_a_small_alpha(capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "examples" / "composite_tables.py"
    spec = importlib.util.spec_from_file_location("composite_tables", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--alphas", "4"]) == 0
    out = capsys.readouterr().out
    assert "| 4 | [" in out and "ReLU, error" in out and "sign, error" in out


def test_composite_help(cli):
    code, out, _ = cli("composite", "--help")
    assert code == 0 and "usage: polyfit composite" in out and "--preset" in out
