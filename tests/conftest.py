import os

import matplotlib
import pytest

matplotlib.use("Agg")
# polyfit.torch's default engine compiles its kernels on large training tensors; the suite runs
# eagerly (no compile cost per test) except the tests of the compiled path, which ask for it.
os.environ.setdefault("POLYFIT_TORCH_FUSED", "0")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty temporary folder (for CLI default artifact names)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def cli(capsys):
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from polyfit.cli import main

    def run(*argv):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse usage errors and --help/--version
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def files_in(folder):
    return sorted(p for p in os.listdir(folder))
