"""`polyfit verify --backend crypten`: real 2-party CrypTen processes (lean: one run per artifact)."""
import json
import sys

import pytest

import polyfit as pf

crypten_backend = pytest.importorskip("polyfit.backends.crypten")
try:
    crypten_backend.require_crypten()
except ImportError as exc:  # MissingExtraError
    pytest.skip(f"CrypTen not installed: {exc}", allow_module_level=True)


def test_torch_213_onnx_registration_is_aliased_for_crypten():
    import importlib

    moved = sys.modules[crypten_backend.MOVED_MODULE]
    assert moved is importlib.import_module(crypten_backend.NEW_HOME) or hasattr(moved, "registry")


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
