"""`polyfit export`: standalone programs (no polyfit import) for TenSEAL, OpenFHE, CrypTen.

The TenSEAL programs run here; OpenFHE's in the CPython 3.10 venv (test_export_openfhe.py),
CrypTen's where CrypTen installs (test_export_crypten.py). Generating any of them needs
numpy only.
"""
import ast
import importlib.util
import io
import json
import os
import tokenize

import numpy as np
import pytest

import polyfit as pf
from export_support import run_program
from polyfit.export import ENGINES, program

# Printable (the artifact reader refuses control characters in names); each piece closes a
# different kind of string or comment it might have been pasted into.
HOSTILE = ('x""" + __import__("os").system("touch PWNED") + """ \' + open("PWNED", "w") + \''
           ' {0} %s \\')
# Through the Python API a name can even hold line breaks.
HOSTILE_MULTILINE = HOSTILE + '\n__import__("os").system("touch PWNED")\n# \r'


@pytest.fixture(scope="module")
def headline(tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "relu-d4-r5-b10.json"
    pf.fit("relu", degree=4, domain=5, bits=10).save(path)
    return str(path)


def _write(tmp_path, approx, engine):
    path = tmp_path / f"prog_{engine}.py"
    path.write_text(program(approx, engine, samples=64).text)
    return path


KINDS = {
    "quantized monomial": lambda: pf.fit("relu", degree=4, domain=5, bits=10),
    "chebyshev": lambda: pf.fit("gelu", degree=15, domain=8, basis="chebyshev"),
    "composite relu": lambda: pf.composite(preset="lee-a7", function="relu"),
    # u = x/9 left [-1, 1/9] uncovered, where the series is huge: 8e4 at degree 40 before u was affine
    "chebyshev on [1, 9]": lambda: pf.fit("sigmoid", degree=16, domain=(1, 9), basis="chebyshev"),
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_tenseal_program_runs_without_polyfit_at_the_claimed_levels(kind, tmp_path):
    pytest.importorskip("tenseal")
    a = KINDS[kind]()
    code, summary, out, err = run_program(_write(tmp_path, a, "tenseal"))
    assert code == 0, out + err
    assert summary["engine"] == "tenseal" and summary["ok"] is True
    assert summary["levels_used"] == a.depth["backends"]["tenseal"]
    assert summary["max_error_vs_artifact"] < 1e-6


def test_tenseal_program_evaluate_is_callable_from_a_pipeline(tmp_path):
    pytest.importorskip("tenseal")
    import tenseal as ts

    a = pf.fit("silu", degree=7, domain=6, method="minimax")
    spec = importlib.util.spec_from_file_location("silu_tenseal", _write(tmp_path, a, "tenseal"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    x = np.linspace(-6, 6, 16)
    context = module.make_context(slots=len(x))
    y = np.array(module.evaluate(ts.ckks_vector(context, list(module.encode(x)))).decrypt())
    assert np.max(np.abs(y - a(x))) < 1e-6


@pytest.mark.parametrize("engine", ENGINES)
def test_programs_import_only_numpy_the_engine_and_the_standard_library(engine):
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    tree = ast.parse(program(a, engine).text)
    names = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    allowed = {"json", "sys", "time", "numpy", engine} | ({"torch", "importlib"} if engine == "crypten" else set())
    assert names <= allowed


def _code_shape(text):
    """The program's AST with the data literals blanked: what it *does*."""
    tree = ast.parse(text)
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id in ("ARTIFACT", "SCHEDULE"):
            node.value = ast.Constant(None)
    return ast.dump(tree)


def _artifact_literal(text):
    tree = ast.parse(text)
    return ast.literal_eval(next(n.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "ARTIFACT"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_hostile_target_name_in_an_artifact_file_stays_data(engine, tmp_path):
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    data = json.loads(a.to_json())
    data["target"] = {"name": HOSTILE, "expr": None}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    hostile = program(str(path), engine).text
    assert _code_shape(hostile) == _code_shape(program(a, engine).text)  # only the data differ
    assert _artifact_literal(hostile)["target"]["name"] == HOSTILE
    comments = [t.string for t in tokenize.generate_tokens(io.StringIO(hostile).readline) if t.type == tokenize.COMMENT]
    assert not [c for c in comments if "PWNED" in c]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_multiline_hostile_name_through_the_api_stays_data(engine):
    from polyfit.targets import Target

    a = pf.fit("relu", degree=4, domain=5, bits=10)
    evil = a.replace(target=Target(HOSTILE_MULTILINE, None, a.target.func))
    text = program(evil, engine).text
    assert _code_shape(text) == _code_shape(program(a, engine).text)
    assert _artifact_literal(text)["target"]["name"] == HOSTILE_MULTILINE


def test_hostile_tenseal_program_runs_and_writes_nothing(tmp_path):
    pytest.importorskip("tenseal")
    data = json.loads(pf.fit("relu", degree=4, domain=5, bits=10).to_json())
    data["target"] = {"name": HOSTILE, "expr": None}
    (tmp_path / "hostile.json").write_text(json.dumps(data))
    prog = tmp_path / "prog.py"
    prog.write_text(program(str(tmp_path / "hostile.json"), "tenseal", samples=16).text)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        code, summary, out, err = run_program(prog)
    finally:
        os.chdir(cwd)
    assert code == 0, out + err
    assert not (tmp_path / "PWNED").exists()


def test_cli_writes_the_default_name_and_says_the_levels(cli, in_tmp, headline):
    code, out, err = cli("export", headline, "--to", "tenseal")
    assert code == 0, err
    assert (in_tmp / "relu-d4-r5-b10_tenseal.py").exists()
    assert "relu-d4-r5-b10_tenseal.py (TenSEAL, 3 levels" in out


def test_cli_out_flag_writes_there(cli, in_tmp, headline):
    code, out, err = cli("export", headline, "--to", "openfhe", "--out", "deploy.py")
    assert code == 0, err
    assert ast.parse((in_tmp / "deploy.py").read_text())
    assert "(OpenFHE, 3 levels" in out


@pytest.mark.parametrize("argv, message", [
    (["--to", "lattigo"], "invalid choice: 'lattigo'"),
    (["--to", "tenseal", "--samples", "1"], "samples"),
    (["--to", "tenseal", "--out", "missing/prog.py"], "does not exist"),
])
def test_cli_bad_input_is_one_line_exit_2_and_writes_nothing(cli, in_tmp, headline, argv, message):
    code, out, err = cli("export", headline, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not [p for p in os.listdir(in_tmp) if p.endswith(".py")]


def test_cli_missing_artifact_is_exit_2(cli, in_tmp):
    code, out, err = cli("export", "nope.json", "--to", "tenseal")
    assert code == 2 and "not found" in err


def test_crypten_export_says_when_its_own_simulation_predicts_the_self_check_fails(headline):
    # gelu d6 on [0, 8] at F = 16: simulated 6.4e-4 against the program's tolerance 1.1e-4
    # (tanh d48 Chebyshev: 4.6e7); the program was written without a word
    miss = program(pf.fit("gelu", degree=6, domain=(0, 8)), "crypten", samples=64).notes
    assert len(miss) == 1 and "expected to fail" in miss[0]
    assert program(headline, "crypten", samples=64).notes == ()
