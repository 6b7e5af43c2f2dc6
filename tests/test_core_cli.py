import json
import subprocess
import sys

import pytest

import polyfit as pf
from conftest import files_in


def test_version(cli):
    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"polyfit {pf.__version__}"


@pytest.mark.parametrize("command", ["fit", "taylor", "report", "plot"])
def test_help_everywhere(cli, command):
    code, out, _ = cli(command, "--help")
    assert code == 0 and "usage: polyfit " + command in out


def test_fit_writes_default_artifact_and_prints_report(cli, in_tmp):
    code, out, err = cli("fit", "--function", "tanh", "--degree", "5", "--range", "3")
    assert code == 0, err
    assert files_in(in_tmp) == ["tanh-d5-r3.json"]
    for word in ("x^5", "max |e|", "CKKS levels 3", "fixed", "artifact tanh-d5-r3.json"):
        assert word in out
    assert pf.load(in_tmp / "tanh-d5-r3.json").stages[0].degree == 5


def test_fit_json_prints_artifact_and_writes_nothing(cli, in_tmp):
    code, out, _ = cli("fit", "--expr", "x*tanh(x)", "--degree", "4", "--domain", "-2", "3", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["domain"] == [-2.0, 3.0] and data["target"]["expr"] == "x*tanh(x)"
    assert files_in(in_tmp) == []


def test_fit_out_and_plot(cli, in_tmp):
    code, out, err = cli("fit", "--degree", "6", "--range", "4", "--grid", "continuous", "--out", "r.json",
                         "--plot", "r.png")
    assert code == 0, err
    assert files_in(in_tmp) == ["r.json", "r.png"]
    assert (in_tmp / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_taylor_command(cli, in_tmp):
    code, out, err = cli("taylor", "--function", "silu", "--degree", "10", "--json")
    assert code == 0, err
    assert json.loads(out)["provenance"]["series_coefficients"][10] == "31/1451520"


def test_report_rechecks_and_plot_renders(cli, in_tmp):
    pf.fit("sigmoid", 7, 8).save("s.json")
    code, out, _ = cli("report", "s.json")
    assert code == 0 and "match a fresh evaluation" in out
    code, out, _ = cli("plot", "s.json", "--out", "s.png")
    assert code == 0 and (in_tmp / "s.png").stat().st_size > 1000


def test_report_flags_a_tampered_artifact(cli, in_tmp):
    pf.fit("sigmoid", 7, 8).save("s.json")
    data = json.loads((in_tmp / "s.json").read_text())
    data["metrics"]["max_abs_error"] = 1e-9
    (in_tmp / "s.json").write_text(json.dumps(data))
    code, out, _ = cli("report", "s.json")
    assert code == 1 and "MISMATCH max_abs_error" in out


BAD_INPUTS = [
    (["fit", "--degree", "-1", "--range", "5"], "degree -1"),
    (["fit", "--degree", "1001", "--range", "5"], "degree 1001"),
    (["fit", "--degree", "4", "--range", "0"], "range 0"),
    (["fit", "--degree", "4", "--range", "-3"], "range -3"),
    (["fit", "--degree", "4", "--range", "inf"], "range inf"),
    (["fit", "--degree", "4", "--range", "nan"], "range nan"),
    (["fit", "--degree", "4", "--domain", "2", "1"], "lo 2 must be < hi 1"),
    (["fit", "--degree", "4", "--domain", "1", "1"], "lo 1 must be < hi 1"),
    (["fit", "--degree", "4", "--range", "5", "--bits", "0"], "bits 0"),
    (["fit", "--degree", "4", "--range", "5", "--bits", "53"], "bits 53"),
    (["fit", "--degree", "4", "--range", "5", "--points", "4"], "points 4"),
    (["fit", "--function", "swish", "--degree", "4", "--range", "5"], "unknown function 'swish'"),
    (["fit", "--expr", "x +* 2", "--degree", "4", "--range", "5"], "unparsable expression"),
    (["fit", "--degree", "four", "--range", "5"], "invalid integer"),
    (["report", "missing.json"], "artifact not found"),
    (["plot", "missing.json", "--out", "m.png"], "artifact not found"),
    (["taylor", "--degree", "2000"], "degree 2000"),
]


@pytest.mark.parametrize("argv,message", BAD_INPUTS, ids=[" ".join(a) for a, _ in BAD_INPUTS])
def test_bad_input_exits_2_with_one_line_and_no_file(cli, in_tmp, argv, message):
    code, out, err = cli(*argv)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert files_in(in_tmp) == []


def test_corrupt_artifact_exits_2(cli, in_tmp):
    (in_tmp / "c.json").write_text("{not json")
    code, _, err = cli("report", "c.json")
    assert code == 2 and "corrupt artifact" in err and len(err.strip().splitlines()) == 1


def test_console_script_runs_as_a_process(in_tmp):
    proc = subprocess.run([sys.executable, "-m", "polyfit", "fit", "--degree", "-1", "--range", "5"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
