"""The digits network-plan example runs end to end in --quick mode and prints its comparison."""
import importlib.util
import json
import os

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("botorch")

EXAMPLE = os.path.join(os.path.dirname(__file__), os.pardir, "examples", "torch_network_plan.py")


@pytest.fixture
def torch_threads():
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_quick_run_prints_the_comparison_and_writes_plan_plot_and_results(tmp_path, capsys, torch_threads):
    spec = importlib.util.spec_from_file_location("example_torch_network_plan", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--quick", "--threads", "1", "--quiet", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for row in ("relu", "uniform best", "plan @ uniform depth", "plan @ uniform accuracy", "global BO", "plan @ 14 levels",
                "+ PA (SmartPAF)"):
        assert row in out
    assert "goal >= 1" in out and "goal <= 0.75" in out and "load average" in out
    results = json.loads((tmp_path / "torch_network_plan.json").read_text())
    assert results["goals"]["sites"] == 7
    at_depth = results["plans"]["at_depth"]
    assert at_depth["total_depth"] <= results["best_uniform"]["total_depth"]
    import polyfit.torch as pft

    plan = pft.load_plan(tmp_path / "torch_network_plan.plan.json")
    assert plan.total_depth == at_depth["total_depth"]
    assert (tmp_path / "torch_network_plan.png").stat().st_size > 1000
