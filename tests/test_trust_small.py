"""Issue 9, smaller things a new user hit: search output, example help, plot titles, notebook."""
import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import polyfit as pf

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py") if p.stem != "torch_common")


def test_search_summary_is_readable_utf8_not_raw_json(cli, in_tmp):
    pytest.importorskip("botorch")
    code, out, err = cli("search", "--budget", "2", "--strategy", "random", "--quiet", "--degrees", "2-3")
    assert code == 0, err
    objective = next(line for line in out.splitlines() if line.startswith("objective"))
    assert "\\u00b1" not in out and "{" not in objective and '"' not in objective


@pytest.mark.parametrize("name", EXAMPLES)
def test_example_help_is_not_cut_mid_sentence(name, capsys):
    if name.startswith(("torch_", "sisyphus")):
        pytest.importorskip("torch")
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        spec = importlib.util.spec_from_file_location(f"example_help_{name}", ROOT / "examples" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with pytest.raises(SystemExit) as done:
            module.main(["--help"])
    finally:
        sys.path.remove(str(ROOT / "examples"))
    assert done.value.code == 0
    text = capsys.readouterr().out
    description = re.sub(r"-\s+", "-", " ".join(text.split("\n\n")[1].split()))  # argparse wraps at hyphens
    first_paragraph = " ".join(module.__doc__.split("\n\n")[0].split())
    assert description == first_paragraph and description.endswith((".", ")")), description


@pytest.mark.parametrize("kwargs,parts", [
    (dict(target="relu", degree=4, domain=5, bits=10), ["relu", "degree 4", "[-5, 5]", "quantized-l2", "2^-10", "max |error| 3.145e-01"]),
    (dict(target="tanh", degree=7, domain=(-3, 2), method="minimax"), ["tanh", "degree 7", "[-3, 2]", "minimax", "float64", "max |error|"]),
])
def test_plot_title_states_domain_method_bits_and_max_error(kwargs, parts):
    target = kwargs.pop("target")
    approx = pf.fit(target, **kwargs)
    fig = approx.plot()
    title = fig.axes[0].get_title()
    for part in parts:
        assert part in title, (part, title)
    assert f"{approx.metrics['max_abs_error']:.3e}" in title


def test_readme_says_how_to_run_the_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "jupyter execute examples/quickstart.ipynb" in readme and "jupyter lab examples/quickstart.ipynb" in readme
    assert re.search(r"pip install[^\n]*jupyterlab", readme)
    assert (ROOT / "examples" / "quickstart.ipynb").is_file() and os.path.isfile(ROOT / "README.md")


def test_plot_draws_what_it_is_given_and_never_fits(monkeypatch):
    import polyfit.fitting

    approx = pf.fit("relu", degree=4, domain=5, bits=10)
    monkeypatch.setattr(polyfit.fitting, "fit", lambda *a, **k: (_ for _ in ()).throw(AssertionError("fitted")))
    assert len(approx.plot().axes[0].get_lines()) == 2  # target and approximation
    assert len(approx.plot(reference=np.tanh).axes[0].get_lines()) == 3


def test_cli_plot_of_a_quantized_stage_compares_with_the_unquantized_fit(cli, in_tmp, monkeypatch):
    import polyfit.plot

    drawn = []
    real = polyfit.plot.plot_approximation
    monkeypatch.setattr(polyfit.plot, "plot_approximation", lambda approx, **kw: drawn.append(kw) or real(approx, **kw))
    path = pf.fit("relu", 4, 5, bits=10).save(in_tmp / "q.json")
    code, _, err = cli("plot", str(path), "--out", "q.png")
    reference = drawn[0]["reference"]
    assert code == 0, err
    assert reference.stages[0].quantized is None and reference.degree == 4 and reference.domain == (-5.0, 5.0)
