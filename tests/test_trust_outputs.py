"""Issue 9 §2 and §3 (names): output files behave like a careful Unix tool's, and default
names never collide between fits that differ."""
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

import polyfit as pf

HEADLINE = ["fit", "--degree", "4", "--range", "5", "--bits", "10"]


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    def set_mask(mask):
        os.umask(mask)
    old = os.umask(0o022)
    yield set_mask
    os.umask(old)


@pytest.fixture
def no_compute(monkeypatch):
    """Any solver call fails the test: errors must come before computing."""
    def boom(*args, **kwargs):
        raise AssertionError("computed before checking the output paths")
    for name in ("polyfit.fitting.fit", "polyfit.solvers.taylor.taylor", "polyfit.solvers.composite.composite"):
        monkeypatch.setattr(name, boom)


@pytest.mark.parametrize("mask,expected", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_get_the_mode_open_would_give(mask, expected, umask, cli, in_tmp):
    umask(mask)
    code, _, err = cli(*HEADLINE, "--plot", "p.png")
    assert code == 0, err
    assert _mode("relu-d4-r5-b10.json") == expected and _mode("p.png") == expected
    assert _mode(pf.fit("relu", 2, 1).save(in_tmp / "api.json")) == expected


def test_replaced_file_keeps_its_mode(cli, in_tmp, umask):
    path = in_tmp / "a.json"
    path.write_text("{}")
    os.chmod(path, 0o640)
    code, _, _ = cli(*HEADLINE, "--out", str(path))
    assert code == 0 and _mode(path) == 0o640 and json.loads(path.read_text())["schema"] == "polyfit/approximation"


def test_search_history_and_plot_get_the_umask_mode(cli, in_tmp, umask):
    pytest.importorskip("botorch")
    code, _, err = cli("search", "--budget", "2", "--strategy", "random", "--quiet", "--degrees", "2-3",
                       "--history", "h.json", "--plot", "h.png", "--out", "best.json")
    assert code == 0, err
    assert [_mode(p) for p in ("h.json", "h.png", "best.json")] == [0o644] * 3


def _special_paths(tmp):
    os.mkfifo(tmp / "fifo")
    (tmp / "folder").mkdir()
    return {
        "device node": ("/dev/null", "is a character device, not a regular file"),
        "fifo": (str(tmp / "fifo"), "is a FIFO"),
        "folder": (str(tmp / "folder"), "is a folder"),
        "trailing slash": (str(tmp / "new") + "/", "ends with '/', so it names a folder"),
        "missing folder": (str(tmp / "missing" / "a.json"), "does not exist"),
        "symlink loop": (str(tmp / "loop"), "symbolic links"),
    }


@pytest.mark.parametrize("case", ["device node", "fifo", "folder", "trailing slash", "missing folder", "symlink loop"])
@pytest.mark.parametrize("flag", ["--out", "--plot"])
def test_special_output_paths_exit_2_before_computing(case, flag, tmp_path, cli, in_tmp, no_compute):
    """in_tmp: the default artifact name would land in tmp_path too, and be seen."""
    paths = _special_paths(tmp_path)
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    path, message = paths[case]
    before = sorted(os.listdir(tmp_path))
    argv = [*HEADLINE, flag, path] + (["--out", str(tmp_path / "a.json")] if flag == "--plot" else [])
    code, out, err = cli(*argv)
    assert code == 2 and out == "" and message in err and err.count("\n") == 1, err
    assert sorted(os.listdir(tmp_path)) == before
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_read_only_folder_exits_2_before_computing(tmp_path, cli, no_compute):
    if os.geteuid() == 0:  # root writes through permission bits: use a folder nobody can create files in
        folder = "/proc"
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    code, _, err = cli(*HEADLINE, "--out", os.path.join(folder, "a.json"))
    assert code == 2 and "cannot create files in folder" in err


@pytest.mark.parametrize("command", [
    ["taylor", "--function", "gelu", "--degree", "4"],
    ["composite", "--degrees", "3,3"],
])
def test_every_command_checks_its_outputs_first(command, tmp_path, cli, no_compute):
    (tmp_path / "folder").mkdir()
    for flag in ("--out", "--plot"):
        code, _, err = cli(*command, flag, str(tmp_path / "folder"))
        assert code == 2 and f"{flag} " in err and "is a folder" in err


def test_search_checks_history_and_plot_before_searching(tmp_path, cli, in_tmp, monkeypatch):
    pytest.importorskip("botorch")
    import polyfit.solvers.search as search

    monkeypatch.setattr(search, "search", lambda *a, **k: (_ for _ in ()).throw(AssertionError("searched")))
    (tmp_path / "folder").mkdir()
    for flag in ("--history", "--plot", "--out"):
        code, _, err = cli("search", "--budget", "2", "--quiet", flag, str(tmp_path / "folder"))
        assert code == 2 and f"{flag} " in err and "is a folder" in err


def test_plot_into_a_folder_leaves_no_artifact(tmp_path, cli, in_tmp):
    (tmp_path / "folder").mkdir()
    code, _, err = cli(*HEADLINE, "--plot", str(tmp_path / "folder"))
    assert code == 2 and "Traceback" not in err
    assert os.listdir(in_tmp) == ["folder"]


def test_a_failing_plot_leaves_no_artifact(cli, in_tmp, monkeypatch):
    import polyfit.plot

    def broken(*args, **kwargs):
        raise pf.InputError("plot failed on purpose")
    monkeypatch.setattr(polyfit.plot, "plot_approximation", broken)
    code, _, err = cli(*HEADLINE, "--plot", "p.png")
    assert code == 2 and "plot failed on purpose" in err
    assert os.listdir(in_tmp) == []


def test_two_flags_naming_one_file_are_refused(cli, in_tmp, no_compute):
    code, _, err = cli(*HEADLINE, "--out", "x", "--plot", "./x")
    assert code == 2 and "--out and --plot name the same file" in err


def test_plot_refuses_to_overwrite_the_artifact_it_reads(cli, in_tmp):
    path = pf.fit("relu", 2, 1).save(in_tmp / "a.json")
    code, _, err = cli("plot", str(path), "--out", str(path))
    assert code == 2 and "is the artifact being plotted" in err
    assert pf.load(path).degree == 2


def test_symlink_is_written_through_and_kept(tmp_path, cli, in_tmp):
    real = tmp_path / "real.json"
    real.write_text("old")
    os.chmod(real, 0o640)
    os.symlink(real, in_tmp / "link.json")
    code, _, _ = cli(*HEADLINE, "--out", "link.json")
    assert code == 0 and os.path.islink(in_tmp / "link.json")
    assert json.loads(real.read_text())["stages"][0]["degree"] == 4 and _mode(real) == 0o640


def test_dangling_symlink_creates_its_target(tmp_path, cli, in_tmp):
    os.symlink(tmp_path / "target.json", in_tmp / "link.json")
    code, _, _ = cli(*HEADLINE, "--out", "link.json")
    assert code == 0 and os.path.islink(in_tmp / "link.json") and (tmp_path / "target.json").is_file()


_SLOW_WRITE = """
import os, sys, time
real_fsync = os.fsync
def slow_fsync(fd):
    open(sys.argv[2], "w").close()  # tell the test a temp file now exists
    time.sleep(60)
os.fsync = slow_fsync
"""


def _run_and_signal(code, sig, tmp_path):
    ready = tmp_path / "ready"
    # A background job (CI's runner, `cmd &`) starts with SIGINT ignored, and a child inherits
    # that; the child must see SIGINT as a terminal user's program does.
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_SLOW_WRITE + code), str(tmp_path), str(ready)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the write never started"
        time.sleep(0.05)
    temps = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert temps, "a temp file should exist while writing"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err, sorted(p for p in os.listdir(tmp_path) if p != "ready")


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_cli_signalled_while_writing_removes_its_temp_files(sig, code, tmp_path):
    returncode, err, left = _run_and_signal(
        "from polyfit.cli import main\n"
        "sys.exit(main(['fit', '--degree', '4', '--range', '5', '--out', os.path.join(sys.argv[1], 'a.json')]))\n",
        sig, tmp_path)
    assert returncode == code and left == [], (err, left)


@pytest.mark.parametrize("sig,returncode", [(signal.SIGTERM, -signal.SIGTERM), (signal.SIGINT, -signal.SIGINT)])
def test_library_write_signalled_removes_its_temp_file(sig, returncode, tmp_path):
    got, err, left = _run_and_signal(
        "import polyfit as pf\n"
        "pf.fit('relu', 4, 5).save(os.path.join(sys.argv[1], 'a.json'))\n", sig, tmp_path)
    assert got == returncode and left == [], (err, left)


# -- default names ----------------------------------------------------------------------
VARIANTS = [
    HEADLINE,
    HEADLINE + ["--method", "minimax"],
    HEADLINE + ["--grid", "chebyshev"],
    HEADLINE + ["--points", "500"],
    HEADLINE + ["--input-scale", "0.2"],
    HEADLINE + ["--compat", "pillar"],
    ["fit", "--degree", "4", "--range", "5.000001", "--bits", "10"],
    ["fit", "--degree", "4", "--range", "5"],
    ["fit", "--degree", "4", "--range", "5", "--basis", "chebyshev"],
    ["fit", "--degree", "4", "--range", "5", "--method", "minimax"],
]


def test_default_names_differ_for_fits_that_differ(cli, in_tmp):
    names = []
    for argv in VARIANTS:
        code, out, err = cli(*argv)
        assert code == 0, (argv, err)
        names.append(out.rsplit("artifact ", 1)[1].split()[0])
    assert names[0] == "relu-d4-r5-b10.json"
    assert len(set(names)) == len(VARIANTS), names
    assert sorted(os.listdir(in_tmp)) == sorted(names)


def test_expressions_get_different_default_names(cli, in_tmp):
    names = set()
    for text in ("x*tanh(x)", "tanh(x)", "x/(1 + exp(-x))"):
        for command in (["fit", "--degree", "4", "--range", "2"], ["taylor", "--degree", "4"]):
            code, out, err = cli(command[0], "--expr", text, *command[1:])
            assert code == 0, err
            names.add(out.rsplit("artifact ", 1)[1].split()[0])
    assert len(names) == 6 and all(n.startswith("expr-") for n in names)
    assert len(os.listdir(in_tmp)) == 6


def test_minimax_and_lstsq_no_longer_overwrite_each_other(cli, in_tmp):
    cli("fit", "--degree", "5", "--range", "2")
    cli("fit", "--degree", "5", "--range", "2", "--method", "minimax")
    solvers = sorted(pf.load(in_tmp / p).provenance["solver"] for p in os.listdir(in_tmp))
    assert len(solvers) == 2 and solvers[0] != solvers[1]


def test_composite_options_change_the_name(cli, in_tmp):
    names = set()
    for extra in ([], ["--epsilon", "0.1"], ["--epsilon", "0.2"]):
        code, out, err = cli("composite", "--degrees", "3,3", *extra)
        assert code == 0, err
        names.add(out.split("artifact ", 1)[1].split()[0])
    assert len(names) == 3


def test_a_reader_that_closes_the_pipe_ends_quietly_with_sigpipe_status(tmp_path):
    """``polyfit report a.json | head -1``: no BrokenPipeError traceback, exit 128 + SIGPIPE."""
    artifact = tmp_path / "a.json"
    pf.fit("relu", degree=4, domain=5).save(artifact)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before polyfit writes its first line
    try:
        proc = subprocess.run([sys.executable, "-c", "import sys; from polyfit.cli import main; sys.exit(main())",
                               "report", str(artifact)], stdout=write_end, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""
