"""Headline speed: whole-process wall time of `polyfit fit --degree 4 --range 5 --bits 10`
against a plain script doing PILLAR's GEKKO fit, both measured in this run.

Each command runs as a fresh Python process (imports included), interleaved so machine
noise hits both alike; we print the medians and their ratio. Goal: polyfit ≤ 0.5 s.

    python bench/bench_headline.py [--runs 7]
"""
from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

# PILLAR's quantization-aware fit as a plain GEKKO script (their formulation: 1000 grid
# points on [-5, 5], targets trunc(relu(x)·2^10), integers in [-2^9, 2^9], APOPT).
GEKKO_SCRIPT = r"""
import numpy as np
from gekko import GEKKO
F, A, d = 10, 5.0, 4
x = np.linspace(-A, A, int(2 * A / 0.01))
y = np.trunc(np.maximum(x, 0.0) * 2**F)
m = GEKKO(remote=False)
m.options.SOLVER = 1
a = [m.Var(value=0, lb=-2**(F - 1), ub=2**(F - 1), integer=True) for _ in range(d + 1)]
for xi, yi in zip(x, y):
    m.Minimize((sum(a[j] * float(xi) ** j for j in range(d + 1)) - float(yi)) ** 2)
m.solve(disp=False)
print([int(round(v.value[0])) for v in a])
m.cleanup()
"""


def polyfit_command() -> list[str]:
    exe = shutil.which("polyfit")
    head = [exe] if exe else [sys.executable, "-m", "polyfit"]
    return head + ["fit", "--degree", "4", "--range", "5", "--bits", "10"]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wall_time(cmd: list[str], cwd: str) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the process and its children, stdout)."""
    cpu0 = children_cpu()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed ({done.returncode}): {done.stderr.strip()[:300]}")
    return elapsed, children_cpu() - cpu0, done.stdout


def summary(label: str, walls: list[float], cpus: list[float]) -> str:
    return (f"{label:<44}: median wall {statistics.median(walls):.3f} s (min {min(walls):.3f}, max {max(walls):.3f}), "
            f"median CPU {statistics.median(cpus):.3f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    runs = {"numpy": ([], []), "polyfit": ([], []), "gekko": ([], [])}
    commands = {"numpy": [sys.executable, "-c", "import numpy"], "polyfit": polyfit_command(),
                "gekko": [sys.executable, "-c", GEKKO_SCRIPT]}
    outputs = {}
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.runs):  # interleaved, so load changes hit all three alike
            for name, cmd in commands.items():
                wall, cpu, outputs[name] = wall_time(cmd, folder)
                runs[name][0].append(wall)
                runs[name][1].append(cpu)
    ints = [line.split()[-1] for line in outputs["polyfit"].splitlines() if line.strip().startswith("x^")]
    print(f"{args.runs} runs each, fresh processes; the machine's load average now: {open('/proc/loadavg').read().split()[0]}")
    print(summary("python -c 'import numpy' (floor)", *runs["numpy"]))
    print(summary("polyfit fit --degree 4 --range 5 --bits 10", *runs["polyfit"]) + f"  -> [{', '.join(ints)}]")
    print(summary("PILLAR's GEKKO script", *runs["gekko"]) + f"  -> {outputs['gekko'].strip()}")
    a, b = statistics.median(runs["polyfit"][0]), statistics.median(runs["gekko"][0])
    ca, cb = statistics.median(runs["polyfit"][1]), statistics.median(runs["gekko"][1])
    print(f"ratio GEKKO / polyfit: wall {b / a:.1f}x, CPU {cb / ca:.1f}x;  polyfit goal ≤ 0.5 s wall: "
          f"{'met' if a <= 0.5 else 'NOT met (see the numpy floor: the machine is loaded)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
