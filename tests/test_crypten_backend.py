"""`polyfit verify --backend crypten`: real 2-party CrypTen processes (lean: one run per artifact)."""
import json
import os
import subprocess
import sys

import pytest

import polyfit as pf

from polyfit.backends import crypten as crypten_backend

try:
    crypten_backend.check_installed()
except ImportError as exc:  # MissingExtraError
    if os.environ.get("CI"):  # .ci/run installs CrypTen: a skip there would hide a broken install
        pytest.fail(f"crypten is required here: {exc}", pytrace=False)
    pytest.skip(f"CrypTen not installed: {exc}", allow_module_level=True)


def test_torch_213_onnx_registration_is_aliased_so_crypten_imports():
    # in a fresh interpreter: the alias must not leak into this test process's sys.modules
    code = ("import sys; from polyfit.backends.crypten import require_crypten, MOVED_MODULE, NEW_HOME; "
            "c = require_crypten(); import torch; print(c.__version__, sys.modules[MOVED_MODULE].__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0.4.1", crypten_backend.NEW_HOME]


@pytest.mark.parametrize("name, fit", [
    ("headline", lambda: pf.fit("relu", degree=4, domain=5, bits=10)),
    ("d8", lambda: pf.fit("relu", degree=8, domain=5, bits=12)),
    ("pillar", lambda: pf.fit("relu", degree=4, domain=5, bits=10, compat="pillar")),
])
def test_crypten_run_holds_every_claim_and_the_simulation_predicts_it(tmp_path, cli, name, fit):
    path = tmp_path / f"{name}.json"
    fit().save(path)
    code, out, err = cli("verify", str(path), "--backend", "crypten", "--samples", "128", "--json")
    d = json.loads(out)
    assert code == 0, err
    assert d["ok"] and d["backend"] == "crypten" and d["levels_used"] is None
    names = {c["name"] for c in d["claims"]}
    assert {"mpc_schedule.rounds_2party", "mpc_schedule.bytes_per_party", "accuracy vs artifact"} <= names
    simulated, measured = d["details"]["simulated_max_error_vs_artifact"], d["max_error_vs_artifact"]
    assert measured / 2 <= simulated <= 2 * measured
    assert d["details"]["failed_elements"] == {"domain": 0, "stress": 0}


def test_three_party_rounds_of_a_prescaled_schedule_match_crypten(tmp_path, cli):
    path = tmp_path / "f2g2.json"
    pf.composite(preset="f2g2").save(path)
    code, out, err = cli("verify", str(path), "--backend", "crypten", "--parties", "3", "--samples", "8", "--json")
    rounds = {c["name"]: c for c in json.loads(out)["claims"]}["mpc_schedule.rounds_3party"]
    assert code == 0 and rounds["ok"] and rounds["measured"] == 26, err
