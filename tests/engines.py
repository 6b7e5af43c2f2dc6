"""Optional engines (openfhe, tenseal, crypten) in tests: skipped with a reason where missing,
a failure where the run requires them.

``POLYFIT_REQUIRE_ENGINES`` is a comma-separated list of modules that must import: .ci/run sets
it (``openfhe`` in its CPython 3.10 venv, where OpenFHE's wheel installs), so a broken install
fails CI instead of silently skipping every OpenFHE test.
"""
from __future__ import annotations

import importlib
import os
import sys

import pytest

REQUIRE_ENV = "POLYFIT_REQUIRE_ENGINES"
WHY_MISSING = {
    "openfhe": "OpenFHE's wheels are for CPython 3.10 and 3.12 (CI runs these tests in its 3.10 venv)",
    "tenseal": "install the 'he' extra",
    "crypten": "CrypTen is not installed",
}


def required_engines() -> set[str]:
    return {name.strip() for name in os.environ.get(REQUIRE_ENV, "").split(",") if name.strip()}


def engine(module: str):
    """Import ``module``; skip the calling test module when it is missing (fail when required)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        here = f"CPython {sys.version_info.major}.{sys.version_info.minor}"
        if module in required_engines():
            pytest.fail(f"{module} is required here ({REQUIRE_ENV}={os.environ[REQUIRE_ENV]}) but does not "
                        f"import on {here}: {exc}", pytrace=False)
        pytest.skip(f"{module} is not installed on {here}: {WHY_MISSING.get(module, '')}", allow_module_level=True)
