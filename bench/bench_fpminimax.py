"""Quantized L∞ (``method="minimax"``, ``bits=F``) against Sollya's fpminimax, run in this process.

For each case f(s·x) on [-1, 1] in t (sigmoid, tanh, gelu, silu on their usual ranges, relu on
[-1, 1]), degree d and F fractional bits:

- polyfit: ``pf.fit(f, d, A, bits=F, method="minimax", input_scale=1/A)`` with its defaults
  (10001-point grid, time limit 10 s), timed in-process after a warm-up;
- Sollya: ``fpminimax(f, d, [|F...|], [-1;1], fixed, absolute)`` (every coefficient a multiple
  of 2^-F, any size), timed by Sollya's own ``time()`` (its start-up excluded).

Both polynomials' errors are measured by the same evaluator: Sollya's ``dirtyinfnorm`` (sup
norm on [-1, 1] in multiple precision). Printed per case: both errors, their ratio
(polyfit / fpminimax, ≤ 1 is the goal), the time ratio (≤ 10 the goal), polyfit's
certificate (certified, or the gap to its proven lower bound), and the largest integer of each
(polyfit keeps |a_k| ≤ 2^53 so that every coefficient is exact in float64; fpminimax does not).

    python bench/bench_fpminimax.py [--quick | --full | --cases NAME:D:F,...] [--time-limit S]

Skips with a message (exit 0) when the ``sollya`` program is not installed
(Debian/Ubuntu: ``apt-get install sollya``).
"""
from __future__ import annotations

import argparse
import itertools
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polyfit as pf

# name: (polyfit target, range A, Sollya expression of f(A·x))
TARGETS = {
    "sigmoid": ("sigmoid", 8.0, "1/(1+exp(-8*x))"),
    "tanh": ("tanh", 4.0, "tanh(4*x)"),
    "gelu": ("gelu", 8.0, "4*x*(1+erf(8*x/sqrt(2)))"),
    "silu": ("silu", 8.0, "8*x/(1+exp(-8*x))"),
    "relu": ("relu", 1.0, "(x+abs(x))/2"),
}
CASES = [
    ("sigmoid", 7, 8), ("sigmoid", 15, 12), ("sigmoid", 31, 16), ("sigmoid", 47, 20), ("sigmoid", 63, 24),
    ("tanh", 7, 12), ("tanh", 15, 16), ("tanh", 25, 14), ("tanh", 31, 20), ("tanh", 63, 16),
    ("gelu", 7, 16), ("gelu", 15, 8), ("gelu", 31, 16), ("gelu", 47, 12), ("gelu", 63, 20),
    ("silu", 7, 20), ("silu", 15, 24), ("silu", 23, 16), ("silu", 31, 12), ("silu", 63, 8),
    ("relu", 7, 8), ("relu", 15, 16), ("relu", 31, 24), ("relu", 47, 12), ("relu", 63, 20),
]
QUICK = [("sigmoid", 15, 12), ("tanh", 25, 14), ("gelu", 15, 8), ("silu", 23, 16), ("relu", 15, 16)]
FULL = list(itertools.product(TARGETS, (7, 15, 23, 31, 47, 63), (8, 12, 16, 20, 24)))


def sollya_run(script: str, timeout: float = 600.0) -> dict:
    """Run a Sollya script from a file; returns the ``KEY value`` lines it printed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "case.sollya"
        path.write_text(script)
        out = subprocess.run(["sollya", str(path)], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    values = {}
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0].isupper():
            values[parts[0]] = parts[1]
    if "ERR" not in values:
        raise RuntimeError(f"sollya printed no result: {(out.stdout + out.stderr).strip()[-200:]}")
    return values


def fpminimax(expr: str, degree: int, bits: int) -> dict:
    script = f"""verbosity = 0; display = decimal; prec = 200;
f = {expr};
t = time(p = fpminimax(f, {degree}, [|{bits}...|], [-1;1], fixed, absolute));
print("ERR", dirtyinfnorm(p - f, [-1;1]));
print("TIME", t);
m = 0; for i from 0 to degree(p) do {{ c = abs(coeff(p, i)); if c > m then m = c; }};
print("MAXINT", m * 2^{bits});
quit;
"""
    v = sollya_run(script)
    return {"error": float(v["ERR"]), "time": float(v["TIME"]), "max_int": float(v["MAXINT"])}


def sollya_error(expr: str, integers, bits: int) -> float:
    """dirtyinfnorm on [-1, 1] of Σ a_k 2^-F x^k − f, in Sollya's multiple precision."""
    poly = " + ".join(f"({int(a)})*x^{k}" for k, a in enumerate(integers) if a) or "0"
    script = f"""verbosity = 0; display = decimal; prec = 200;
f = {expr};
p = ({poly}) * 2^(-{bits});
print("ERR", dirtyinfnorm(p - f, [-1;1]));
quit;
"""
    return float(sollya_run(script)["ERR"])


def run_case(name: str, degree: int, bits: int, time_limit: float | None) -> dict:
    target, A, expr = TARGETS[name]
    options = {} if time_limit is None else {"time_limit": time_limit}
    start = time.perf_counter()
    a = pf.fit(target, degree=degree, domain=A, bits=bits, method="minimax", input_scale=1.0 / A, **options)
    ours_time = time.perf_counter() - start
    integers = a.stages[0].quantized.integers
    theirs = fpminimax(expr, degree, bits)
    cert = a.provenance["certificate"]
    return {"ours": sollya_error(expr, integers, bits), "ours_grid": a.metrics["max_abs_error"], "ours_time": ours_time,
            "cert": cert, "ours_bits": max(abs(i) for i in integers).bit_length(), **{f"theirs_{k}": v for k, v in theirs.items()}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="five cases")
    size.add_argument("--full", action="store_true", help="every target × degree 7..63 × F 8..24 (150 cases)")
    size.add_argument("--cases", metavar="NAME:D:F,...", help="only these cases, e.g. tanh:63:16,gelu:31:16")
    parser.add_argument("--time-limit", type=float, help="polyfit's time_limit option (default: its own, 10 s)")
    args = parser.parse_args(argv)
    if shutil.which("sollya") is None:
        print("bench_fpminimax: skipped — the 'sollya' program is not installed (apt-get install sollya)")
        return 0
    cases = QUICK if args.quick else FULL if args.full else CASES
    if args.cases:
        try:
            cases = [(n, int(d), int(b)) for n, d, b in (c.split(":") for c in args.cases.split(","))]
        except ValueError:
            parser.error(f"--cases {args.cases!r}: give NAME:DEGREE:BITS,... (names: {', '.join(TARGETS)})")
        unknown = [n for n, _, _ in cases if n not in TARGETS]
        if unknown:
            parser.error(f"--cases: unknown target {unknown[0]!r}; allowed: {', '.join(TARGETS)}")
    pf.fit("tanh", degree=5, domain=2.0, bits=8, method="minimax")  # warm-up: imports scipy/HiGHS
    print("polyfit quantized L∞ vs Sollya fpminimax; errors: Sollya dirtyinfnorm on [-1, 1] of both polynomials")
    print(f"{'case':<14}{'F':>3}{'polyfit':>12}{'fpminimax':>12}{'err ×':>10}{'polyfit s':>10}{'fpmx s':>8}"
          f"{'time ×':>8}  {'certificate':<22}{'max|a| bits':>12}")
    err_ratios, time_ratios, failures = [], [], []
    for name, degree, bits in cases:
        label = f"{name} d{degree}"
        try:
            r = run_case(name, degree, bits, args.time_limit)
        except Exception as exc:  # a failure is a result of the battery, not the end of it
            failures.append(label)
            print(f"{label:<14}{bits:>3}  FAILED: {type(exc).__name__}: {' '.join(str(exc).split())[:90]}")
            continue
        ratio = r["ours"] / r["theirs_error"] if r["theirs_error"] > 0 else math.inf
        tratio = r["ours_time"] / max(r["theirs_time"], 1e-3)
        err_ratios.append(ratio)
        time_ratios.append(tratio)
        cert = r["cert"]
        state = "certified" if cert["certified"] else f"gap {cert['gap']:.1e}"
        print(f"{label:<14}{bits:>3}{r['ours']:>12.4e}{r['theirs_error']:>12.4e}{ratio:>10.4f}{r['ours_time']:>10.2f}"
              f"{r['theirs_time']:>8.2f}{tratio:>8.1f}  {state:<22}{r['ours_bits']:>5} / {int(r['theirs_max_int']).bit_length():<5}")
        sys.stdout.flush()
    if err_ratios:
        worse = sum(r > 1.0 for r in err_ratios)
        print(f"\n{len(err_ratios)} cases, {len(failures)} failures; error ratio median {statistics.median(err_ratios):.4f}, "
              f"max {max(err_ratios):.4f} ({worse} cases worse than fpminimax); time ratio median "
              f"{statistics.median(time_ratios):.1f}, max {max(time_ratios):.1f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
