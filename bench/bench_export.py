"""Deploy bench: per artifact kind, the levels claimed vs what the exported programs consume.

For each kind (single fits: quantized monomial, monomial, Chebyshev; composites: sign and
ReLU up to [15, 15, 27]) this writes the TenSEAL and the OpenFHE program with ``polyfit
export``, runs each as a user would (a fresh interpreter, polyfit not importable) and reads its
last JSON line: levels used against ``depth.backends``, max |engine − artifact|, seconds.
TenSEAL programs run under this Python; OpenFHE programs under a CPython 3.10/3.12 that has
openfhe (``--python310 PATH``, default ``$POLYFIT_PY310``; without one that column is skipped).

    python bench/bench_export.py [--quick] [--python310 PATH]
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import warnings

import polyfit as pf
from polyfit.export import program

BLOCK = ("import runpy, sys\nsys.modules['polyfit'] = None\nsys.argv = [sys.argv[1]]\n"
         "runpy.run_path(sys.argv[0], run_name='__main__')\n")

KINDS = {
    "quantized monomial relu d4 [-5,5] F=10": lambda: pf.fit("relu", degree=4, domain=5, bits=10),
    "monomial minimax gelu d15 [-8,8]": lambda: pf.fit("gelu", degree=15, domain=8, method="minimax"),
    "chebyshev minimax gelu d31 [-8,8]": lambda: pf.fit("gelu", degree=31, domain=8, method="minimax",
                                                        basis="chebyshev"),
    "composite sign f2g2 [5,5]": lambda: pf.composite(preset="f2g2", function="sign"),
    "composite relu lee-a7 [7,7]": lambda: pf.composite(preset="lee-a7", function="relu"),
    "composite relu alpha=10 [7,7,13]": lambda: pf.composite(alpha=10, function="relu"),
    "composite relu alpha=13 [15,15,27]": lambda: pf.composite(alpha=13, function="relu"),
}
QUICK = ("quantized monomial relu d4 [-5,5] F=10", "composite sign f2g2 [5,5]")


def run(python, path):
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.run([python, "-c", BLOCK, path], capture_output=True, text=True, env=env, timeout=1800)
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": (proc.stderr.strip().splitlines() or ["no output"])[-1]}


def cell(summary):
    if summary is None:
        return "not run"
    if "error" in summary:
        return f"failed: {summary['error'][:60]}"
    return f"{summary['levels_used']}, {summary['max_error_vs_artifact']:.1e}, {summary['seconds']:.1f} s"


def main(argv):
    python310 = argv[argv.index("--python310") + 1] if "--python310" in argv else os.environ.get("POLYFIT_PY310")
    names = QUICK if "--quick" in argv else tuple(KINDS)
    print(f"TenSEAL programs under {sys.executable}; OpenFHE programs under {python310 or '(none given)'}")
    print()
    print("| artifact | claimed Lattigo / TenSEAL / OpenFHE | TenSEAL program: levels, error, time "
          "| OpenFHE program: levels, error, time | max error of the artifact |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = KINDS[name]()
            b = a.depth["backends"]
            results = {}
            for engine, python in (("tenseal", sys.executable), ("openfhe", python310)):
                if python is None:
                    results[engine] = None
                    continue
                path = os.path.join(folder, f"{engine}.py")
                with open(path, "w") as fh:
                    fh.write(program(a, engine, samples=256).text)
                results[engine] = run(python, path)
            print(f"| {name} | {b['lattigo']} / {b['tenseal']} / {b['openfhe']} | {cell(results['tenseal'])} | "
                  f"{cell(results['openfhe'])} | {a.metrics['max_abs_error']:.2e} |", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
