"""Issue 9 §1: no user string is ever executed, and an expression's cost is bounded.

Every payload tries to create a file; none may appear, whichever entry point reads it
(pf.expr, --expr of fit/taylor/search, target.expr in an artifact read by pf.load, report,
verify and plot, and inside a torch bundle)."""
import ast
import json
import pathlib
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import polyfit as pf

PAYLOADS = [
    "__import__('os').system('touch {f}')",
    "open('{f}', 'w')",
    "eval(\"open('{f}', 'w')\")",
    "exec(\"open('{f}', 'w')\")",
    "getattr(__builtins__, 'open')('{f}', 'w')",
    "__builtins__['open']('{f}', 'w')",
    "(lambda: open('{f}', 'w'))()",
    "Lambda(x, open('{f}', 'w'))",
    "x.__class__.__mro__[-1].__subclasses__()",
    "Symbol('x').__class__.__init__.__globals__['__builtins__']['open']('{f}', 'w')",
    "S(\"open('{f}', 'w')\")",
    "sympify(\"open('{f}', 'w')\")",
    "parse_expr(\"open('{f}', 'w')\")",
    "exp(open('{f}', 'w'))",
    "Max(x, __import__('os').system('touch {f}'))",
    "Piecewise((open('{f}', 'w'), True))",
    "x if open('{f}', 'w') else x",
    "(y := open('{f}', 'w'))",
    "f\"{{open('{f}', 'w')}}\"",
    "[open('{f}', 'w') for _ in [1]]",
    "x + globals()['__builtins__']['open']('{f}', 'w')",
    "Function('open')('{f}')",
    "x.func.__module__",
    "Integer(1).__reduce_ex__(2)",
    "import os",
]


def _payload(template, tmp_path):
    target = tmp_path / "pwned"
    return template.format(f=target), target


@pytest.mark.parametrize("template", PAYLOADS)
def test_payload_is_refused_by_pf_expr_and_runs_nothing(template, tmp_path):
    text, target = _payload(template, tmp_path)
    with pytest.raises(pf.InputError):
        pf.expr(text)
    assert not target.exists()


@pytest.mark.parametrize("command", [
    ["fit", "--degree", "3", "--range", "1"],
    ["taylor", "--degree", "3"],
    ["search", "--budget", "2", "--quiet"],
])
@pytest.mark.parametrize("template", PAYLOADS)
def test_payload_in_expr_flag_exits_2_and_runs_nothing(template, command, tmp_path, cli, in_tmp):
    text, target = _payload(template, tmp_path)
    code, out, err = cli(command[0], "--expr", text, *command[1:])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert not target.exists() and not [p for p in in_tmp.iterdir() if p.suffix == ".json"]


def _artifact_with_expr(text, path):
    data = pf.fit("relu", 2, 1).to_dict()
    data["target"] = {"name": "expr", "expr": text}
    path.write_text(json.dumps(data))
    return data


@pytest.mark.parametrize("template", PAYLOADS)
def test_payload_in_artifact_target_runs_nothing(template, tmp_path, cli):
    text, target = _payload(template, tmp_path)
    path = tmp_path / "evil.json"
    _artifact_with_expr(text, path)
    with pytest.raises(pf.ArtifactError, match="invalid artifact"):
        pf.load(path)
    for argv in (["report", str(path)], ["verify", str(path), "--backend", "fixed-point"],
                 ["plot", str(path), "--out", str(tmp_path / "p.png")]):
        code, _, err = cli(*argv)
        assert code == 2 and "Traceback" not in err, argv
    assert not target.exists() and not (tmp_path / "p.png").exists()


def test_payloads_in_torch_bundle_run_nothing(tmp_path):
    pytest.importorskip("torch")
    from polyfit.torch import load_bundle

    for i, template in enumerate(PAYLOADS):
        text, target = _payload(template, tmp_path)
        artifact = _artifact_with_expr(text, tmp_path / "a.json")
        path = tmp_path / f"bundle{i}.json"
        path.write_text(json.dumps({"schema": "polyfit/torch-bundle", "schema_version": "1.0",
                                    "sites": [{"name": "act", "type": "PolyActivation", "artifacts": [artifact]}]}))
        with pytest.raises(pf.ArtifactError):
            load_bundle(path)
        assert not target.exists(), template


def test_target_built_by_hand_with_a_payload_never_runs_in_taylor(tmp_path):
    target = tmp_path / "pwned"
    evil = pf.Target("evil", f"__import__('os').system('touch {target}')", np.tanh)
    with pytest.raises(pf.InputError):
        pf.taylor(evil, 3)
    assert not target.exists()


COSTLY = [
    "factorial(10**8)", "10**10**10", "2**2**2**2**2**2", "x**(10**100)", "(x+1)**(10**6)",
    "exp(exp(exp(100)))", "Max(exp(exp(exp(100))), x)", "x*(2**4000)", "(2**1023+1)**(7/13)*x",
    "2**(1/10**9)*x", "sqrt(10**1000+1)*x", "1" * 5000, "x" + "+x" * 1500, "-" * 500 + "x",
    "exp(" * 150 + "x" + ")" * 150, "Max(" + ", ".join(["x"] * 500) + ")",
]


def test_costly_expressions_are_refused_quickly():
    """In a subprocess with a deadline, so that a regression fails in seconds, not hours."""
    code = textwrap.dedent(f"""
        import time, polyfit as pf
        pf.expr("x")  # import SymPy outside the timing
        slow = []
        for text in {COSTLY!r}:
            start = time.perf_counter()
            try:
                pf.expr(text)
                slow.append(("accepted", text[:40]))
            except pf.InputError:
                pass
            if time.perf_counter() - start > 1.0:
                slow.append(("slow", text[:40]))
        print(slow)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


ALLOWED = {
    "x*tanh(x)": lambda x: x * np.tanh(x),
    "1/(1 + exp(-x))": lambda x: 1 / (1 + np.exp(-x)),
    "Max(0, x) - 0.1*Min(0, x)": lambda x: np.maximum(0, x) - 0.1 * np.minimum(0, x),
    "Piecewise((0, x < -1), (x**2, x <= 1), (1, True))": lambda x: np.where(x < -1, 0, np.where(x <= 1, x**2, 1)),
    "x**(1/3) + sqrt(2)*x": lambda x: np.cbrt(x) * (x >= 0) + np.where(x < 0, np.nan, 0) + np.sqrt(2) * x,
    "erf(x/sqrt(2))*pi + E": lambda x: __import__("scipy.special").special.erf(x / np.sqrt(2)) * np.pi + np.e,
    "Abs(x - 1/3) + sign(x) + Heaviside(x, 1/2)": lambda x: np.abs(x - 1 / 3) + np.sign(x) + np.heaviside(x, 0.5),
    "log(1 + exp(x)) + atan(x) + cosh(x)/2": lambda x: np.logaddexp(0, x) + np.arctan(x) + np.cosh(x) / 2,
    "0.12345678901234568*x - 1e-300": lambda x: 0.12345678901234568 * x - 1e-300,
}


@pytest.mark.parametrize("text", sorted(ALLOWED))
def test_allowed_expressions_evaluate_and_read_back_identically(text):
    from polyfit import expression

    target = pf.expr(text)
    x = np.linspace(-2, 2, 41)
    np.testing.assert_allclose(target(x), ALLOWED[text](x), rtol=1e-13, atol=1e-15)
    assert pf.expr(target.expr).expr == target.expr
    assert expression.parse(target.expr) == expression.parse(text)


def test_float_constants_are_kept_exactly():
    target = pf.expr("0.12345678901234568*x")
    assert target.expr == "0.12345678901234568*x"
    assert target(np.array([1.0]))[0] == 0.12345678901234568


def test_expression_targets_pickle_as_their_text():
    target = pf.expr("x*tanh(x) + Abs(x)")
    back = pickle.loads(pickle.dumps(target.func))
    np.testing.assert_array_equal(back(np.array([-1.0, 2.0])), target(np.array([-1.0, 2.0])))


def test_refusal_names_the_offending_part():
    with pytest.raises(pf.InputError, match=r"attribute access 'x.__class__' is not allowed; allowed: numbers, x"):
        pf.expr("x.__class__")
    with pytest.raises(pf.InputError, match=r"exponent 10000000000 is too large"):
        pf.expr("10**10**10")
    with pytest.raises(pf.InputError, match=r"the function 'factorial' is not allowed"):
        pf.expr("factorial(10**8)")


EXECUTING_CALLS = {"eval", "exec", "compile", "__import__", "sympify", "lambdify", "parse_expr", "S"}


def test_no_code_executing_call_in_the_library():
    """A static scan: no eval/exec/compile, no SymPy sympify/lambdify/parse_expr, no pickle
    loads, torch.load only with weights_only=True, numpy.load only with allow_pickle=False."""
    root = pathlib.Path(pf.__file__).parent
    found = []
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sympy"):
                found += [f"{path.name}: from {node.module} import {a.name}" for a in node.names if a.name in EXECUTING_CALLS]
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else None
            keywords = {k.arg: getattr(k.value, "value", None) for k in node.keywords}
            if isinstance(func, ast.Name) and name in {"eval", "exec", "compile", "__import__"}:
                found.append(f"{path.name}:{node.lineno} {name}()")
            elif owner == "sympy" and name in EXECUTING_CALLS:
                found.append(f"{path.name}:{node.lineno} sympy.{name}()")
            elif owner == "pickle" and name in {"load", "loads"}:
                found.append(f"{path.name}:{node.lineno} pickle.{name}()")
            elif owner == "torch" and name == "load" and keywords.get("weights_only") is not True:
                found.append(f"{path.name}:{node.lineno} torch.load() without weights_only=True")
            elif owner in {"np", "numpy"} and name == "load" and keywords.get("allow_pickle") is not False:
                found.append(f"{path.name}:{node.lineno} numpy.load() without allow_pickle=False")
    assert found == []
