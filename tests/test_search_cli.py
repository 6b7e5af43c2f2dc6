"""``polyfit search`` through the CLI entry point, and the Sisyphus example in --quick mode."""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

import polyfit as pf
from polyfit.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_cli_search_writes_best_artifact_history_and_plot(tmp_path, capsys):
    rc = main(["search", "--degrees", "2-4", "--range-bounds", "1", "20", "--objective", "gaussian:sigma=2",
               "--budget", "5", "--initial", "4", "--seed", "0", "--quiet", "--out", str(tmp_path / "best.json"),
               "--history", str(tmp_path / "h.json"), "--plot", str(tmp_path / "p.png")])
    out = capsys.readouterr().out
    assert rc == 0
    best = pf.load(tmp_path / "best.json")
    history = json.loads((tmp_path / "h.json").read_text())
    e = history["evaluations"][history["best_index"]]
    assert best.degrees == [e["degree"]] and best.domain[1] == pytest.approx(e["range"])
    assert "best     score" in out and "CKKS levels" in out and "artifact" in out
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_cli_json_prints_the_artifact_and_writes_no_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc = main(["search", "--degrees", "3", "--range-bounds", "1", "8", "--objective", "uniform:a=4", "--budget", "4",
               "--strategy", "random", "--json", "--quiet"])
    captured = capsys.readouterr()
    assert rc == 0 and json.loads(captured.out)["schema"] == "polyfit/approximation"
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("argv, match", [
    (["--range-bounds", "50", "0.5"], "range bounds"),
    (["--range-bounds", "0", "5"], "range bounds"),
    (["--budget", "3", "--initial", "5"], "budget 3 is less than the 5 initial points"),
    (["--objective", "laplace:b=1"], "unknown kind"),
    (["--objective", "gaussian:sigma"], "not key=value"),
    (["--degrees", "9-2"], "inverted"),
    (["--bits", "8,x"], "--bits"),
    (["--methods", "lstsq,remez"], "methods"),
])
def test_cli_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, argv, match):
    rc = main(["search", "--quiet", "--out", str(tmp_path / "b.json"), "--history", str(tmp_path / "h.json"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_all_nan_objective_reports_and_stops(tmp_path, capsys):
    # degree 9 fitted on [-0.5, 0.5] and scored under N(0, (1e30)²): p(x)² overflows float64.
    rc = main(["search", "--degrees", "9", "--range-bounds", "0.5", "0.6", "--objective", "gaussian:sigma=1e30",
               "--budget", "10", "--initial", "4", "--quiet", "--out", str(tmp_path / "b.json")])
    err = capsys.readouterr().err
    assert rc == 2 and "failed for all 4 initial points" in err and "stopping" in err
    assert not (tmp_path / "b.json").exists()


def test_sisyphus_example_quick_mode_runs_end_to_end(tmp_path):
    spec = importlib.util.spec_from_file_location("sisyphus_digits", ROOT / "examples" / "sisyphus_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    import torch

    threads = torch.get_num_threads()
    try:
        results = module.main(["--quick", "--quiet", "--out", str(tmp_path / "r.json")])
    finally:
        torch.set_num_threads(threads)
    assert set(results) == {"mlp", "cnn4"}
    for r in results.values():
        assert 0.0 <= r["poly_test_accuracy"] <= 1.0 and 0.0 <= r["poly_test_nan_rate"] <= 1.0
        assert r["evaluations"] == 6 and len(r["escaping"]["poly_max_abs_input"]) == len(r["escaping"]["relu_max_abs_input"])
    assert json.loads((tmp_path / "r.json").read_text())["mlp"]["best"]["degree"] in (2, 3, 4)


def test_cli_workers_evaluate_batches_in_processes(tmp_path, capsys):
    # Named and --expr targets hold lambdas; the search sends picklable stand-ins instead.
    for target in (["--function", "relu"], ["--expr", "x*tanh(x)"]):
        rc = main(["search", *target, "--degrees", "2-3", "--range-bounds", "1", "8", "--objective", "uniform:a=4",
                   "--strategy", "random", "--budget", "4", "--batch", "2", "--workers", "2", "--quiet",
                   "--history", str(tmp_path / "h.json"), "--out", str(tmp_path / "b.json")])
        assert rc == 0, capsys.readouterr().err
        history = json.loads((tmp_path / "h.json").read_text())
        assert len(history["evaluations"]) == 4 and all(e["score"] is not None for e in history["evaluations"])


def test_cli_bad_history_folder_names_the_history_flag(tmp_path, capsys):
    code = main(["search", "--degrees", "2-3", "--range-bounds", "1", "2", "--objective", "gaussian:sigma=2",
                 "--budget", "5", "--history", str(tmp_path / "missing" / "h.json"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("polyfit search: error: --history ") and err.count("\n") == 1


@pytest.mark.parametrize("argv, match", [
    (["--workers", "0"], "workers 0 must be an integer from 1 to 256"),
    (["--workers", "-2"], "workers -2 must be an integer from 1 to 256"),
    (["--seed", "-1"], "seed -1 must be an integer from 0 to 4294967295"),
    (["--seed", str(2 ** 32)], "seed 4294967296 must be an integer from 0 to 4294967295"),
    (["--refine", "-1"], "refine -1 must be an integer"),
])
def test_cli_worker_seed_and_refine_bounds_exit_2_naming_what_is_allowed(tmp_path, capsys, argv, match):
    rc = main(["search", "--quiet", "--budget", "6", "--out", str(tmp_path / "b.json"), *argv])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_cli_summary_is_readable_and_numbers_the_best_as_the_history_does(tmp_path, capsys):
    rc = main(["search", "--degrees", "2-5", "--range-bounds", "1", "20", "--objective", "gaussian:sigma=2",
               "--budget", "8", "--initial", "4", "--seed", "0", "--quiet", "--out", str(tmp_path / "best.json"),
               "--history", str(tmp_path / "h.json")])
    out = capsys.readouterr().out
    history = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    assert rc == 0 and "\\u" not in out and "objective mse under gaussian sigma 2" in out
    assert f"evaluation index {history['best_index']} of 0..7" in out
    assert "twins    not evaluated: 3 (same fit as 2), 5 (same fit as 4)" in out
    assert "time     " in out and "GP fit" in out
    assert [e["phase"] for e in history["evaluations"]].count("refine") == 2


def test_cli_refine_0_and_keep_twins(tmp_path, capsys):
    rc = main(["search", "--degrees", "2-3", "--range-bounds", "1", "8", "--objective", "uniform:a=4",
               "--budget", "6", "--initial", "4", "--refine", "0", "--keep-twins", "--quiet",
               "--history", str(tmp_path / "h.json"), "--out", str(tmp_path / "b.json")])
    history = json.loads((tmp_path / "h.json").read_text(encoding="utf-8"))
    assert rc == 0 and history["space"]["degrees"] == [2, 3] and history["space"]["twins"] == []
    assert {e["phase"] for e in history["evaluations"]} == {"initial", "bo"}


@pytest.mark.parametrize("flag", ["--out", "--history", "--plot"])
def test_cli_refuses_to_write_over_the_objectives_samples_file(tmp_path, capsys, flag):
    samples = tmp_path / "s.txt"
    samples.write_text("0.1\n-0.5\n1.2\n0.3\n")
    code = main(["search", "--degrees", "2-3", "--range-bounds", "1", "2", "--objective", f"samples:path={samples}",
                 "--budget", "5", flag, str(samples), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "is the objective's samples file" in err and err.count("\n") == 1
    assert samples.read_text() == "0.1\n-0.5\n1.2\n0.3\n"  # the artifact JSON was written over it
