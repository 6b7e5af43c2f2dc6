import json
import subprocess
import sys

import pytest

HEAVY = ("torch", "sympy", "scipy.optimize", "matplotlib", "botorch", "tenseal", "gekko")


def test_headline_fit_imports_no_heavy_package():
    code = (
        "import sys, io, contextlib\n"
        "from polyfit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    rc = main(['fit', '--degree', '4', '--range', '5', '--bits', '10', '--json'])\n"
        "print(rc)\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rc, loaded = proc.stdout.strip().splitlines()[-2:]
    assert rc == "0"
    assert json.loads(loaded.replace("'", '"')) == []


def test_import_polyfit_is_light():
    proc = subprocess.run([sys.executable, "-c", f"import sys, polyfit; print([m for m in {HEAVY!r} + ('scipy',) if m in sys.modules])"],
                          capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stdout + proc.stderr


@pytest.mark.parametrize("flags", [[], ["--bits", "10"], ["--method", "minimax"]])
def test_fit_command_loads_no_third_party_package_but_numpy(flags):
    code = (
        "import sys, io, contextlib\n"
        "before = {m.split('.')[0] for m in sys.modules}\n"
        "from polyfit.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    rc = main(['fit', '--degree', '4', '--range', '5', '--json'] + {flags!r})\n"
        "new = {m.split('.')[0] for m in sys.modules} - before\n"
        "print(rc, sorted(m for m in new if m not in sys.stdlib_module_names and not m.startswith('_')\n"
        "                 and m not in ('numpy', 'polyfit')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "0 []", proc.stdout + proc.stderr


def test_search_objectives_load_without_torch():
    code = ("import sys\nfrom polyfit.search_objectives import parse_objective\n"
            "parse_objective('gaussian:sigma=2')\nprint('torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stdout + proc.stderr
