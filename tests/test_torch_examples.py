"""Each torch example runs end to end in --quick mode, prints its table and saves its plot."""
import importlib.util
import json
import os
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")


def load_example(name):
    if EXAMPLES not in sys.path:
        sys.path.insert(0, EXAMPLES)
    spec = importlib.util.spec_from_file_location(f"example_{name}", os.path.join(EXAMPLES, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CASES = {
    "torch_baseline": ["relu baseline"],
    "torch_pillar": ["relu baseline", "PILLAR deg-4 b10 (clip+penalty)"],
    "torch_naive_vs_penalty": ["naive deg-8 (no clip, no penalty)", "deg-8 + clip + penalty"],
    "torch_quadratic_transition_kd": ["relu baseline (teacher)", "quadratic, direct (no ST, no KD)", "quadratic + ST + KD"],
    "torch_smartpaf": ["relu baseline", "direct replacement", "CT", "CT + PA", "CT + PA + AT"],
    "torch_quail": ["relu baseline", "x² swapped in (no training)", "QuaIL imitation", "QuaIL + gradual unfreezing"],
}


@pytest.fixture
def torch_threads():
    """The examples' --threads sets torch's global thread count: restore it afterwards."""
    import torch

    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_quick_run_prints_table_and_saves_plot(name, tmp_path, capsys, torch_threads):
    module = load_example(name)
    assert module.main(["--quick", "--threads", "1", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "accuracy %" in out and "out-of-range" in out and "NaN" in out
    for method in CASES[name]:
        assert method in out
    assert (tmp_path / f"{name}.png").stat().st_size > 1000
    results = json.loads((tmp_path / f"{name}.json").read_text())
    assert sorted(results) == sorted(CASES[name])
    for method, payload in results.items():
        assert payload["runs"] and all("accuracy" in epoch for epoch in payload["runs"][0]), method


def test_pillar_example_uses_the_quantized_headline_artifact():
    load_example("torch_baseline")  # puts examples/ on sys.path
    import torch_common as tc

    approx = tc.pillar_approximation()
    assert approx.stages[0].quantized is not None
    assert approx.stages[0].quantized.integers == (322, 512, 160, 0, -3)  # PILLAR's published optimum


def test_smartpaf_example_falls_back_to_a_degree7_fit_without_composites(tmp_path, capsys, monkeypatch, torch_threads):
    import polyfit as pf

    def missing(**kwargs):
        raise ImportError("No module named 'polyfit.solvers.composite'")

    monkeypatch.setattr(pf, "composite", missing, raising=False)
    module = load_example("torch_smartpaf")
    base = module.base_approximation("f1g2")
    assert base.degrees == [7] and base.domain == (-1.0, 1.0)
    assert module.main(["--quick", "--threads", "1", "--seeds", "1", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "degree-7 least-squares ReLU fit" in out and "CT + PA + AT" in out


def test_pillar_example_reads_an_artifact_file(tmp_path, capsys, torch_threads):
    import polyfit as pf

    path = pf.fit("relu", degree=4, domain=5, bits=8).save(tmp_path / "relu-b8.json")
    module = load_example("torch_pillar")
    assert module.main(["--quick", "--threads", "1", "--epochs", "1", "--artifact", str(path),
                        "--out-dir", str(tmp_path)]) == 0
    assert "frac_bits=8" in capsys.readouterr().out
