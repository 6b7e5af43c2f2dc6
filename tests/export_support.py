"""Run a generated program the way a user would, with polyfit made unimportable."""
import json
import subprocess
import sys

BLOCK_POLYFIT = ("import runpy, sys\n"
                 "sys.modules['polyfit'] = None  # the program must not need polyfit\n"
                 "sys.argv = [sys.argv[1]]\n"
                 "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def run_program(path, timeout=300, env=None):
    """(exit code, the last line's JSON or None, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-c", BLOCK_POLYFIT, str(path)], capture_output=True, text=True,
                          timeout=timeout, env=env)
    lines = proc.stdout.strip().splitlines()
    try:
        summary = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        summary = None
    return proc.returncode, summary, proc.stdout, proc.stderr
