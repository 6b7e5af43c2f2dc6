"""First-call cost of the default PolyActivation training path (compilation included).

Runs each measurement in a fresh Python process: the first forward + backward of the default
``PolyActivation`` (degree 4, 4 Mi float32 elements, training) against the second one, with
TorchInductor's on-disk caches cold (an empty ``TORCHINDUCTOR_CACHE_DIR``) and then warm
(the same folder again, as every later process on the machine sees it). Also a second
site of the same degree in the same process (it must reuse the compiled kernels).

    python bench/bench_torch_compile.py [--elements 4194304]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, time, sys
t0 = time.perf_counter()
import torch
from polyfit.approximation import Stage
from polyfit.reports import assemble
from polyfit.torch import PolyActivation
imported = time.perf_counter() - t0
approx = assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                  objective={"norm": "l2"}, provenance={"solver": "bench"})
x = torch.randn(int(sys.argv[1])) * 3.0
g = torch.ones_like(x)

def step(module):
    xr = x.detach().requires_grad_()
    start = time.perf_counter()
    module(xr).backward(g)
    return time.perf_counter() - start

first_site, second_site = PolyActivation(approx).train(), PolyActivation(approx).train()
first = step(first_site)
second = min(step(first_site) for _ in range(10))
other_site = step(second_site)
from polyfit.torch import fused
print(json.dumps({"import_s": imported, "first_s": first, "steady_s": second, "second_site_first_s": other_site,
                  "variants": len(fused._KERNELS.wrappers), "failed": sorted(fused._KERNELS.failed)}))
"""


def measure(elements: int, cache_dir: str) -> dict:
    env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache_dir)
    env.pop("POLYFIT_TORCH_FUSED", None)  # the default (auto) engine
    proc = subprocess.run([sys.executable, "-c", CHILD, str(elements)], env=env, capture_output=True, text=True,
                          check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=4 * 2**20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as cache:
        cold = measure(args.elements, cache)
        warm = measure(args.elements, cache)
    print(f"\nfirst forward+backward of the default PolyActivation, {args.elements} float32 elements, fresh process each")
    print(f"{'caches':<8}{'first call s':>14}{'steady call ms':>16}{'2nd site first call ms':>24}{'variants':>10}")
    for label, r in (("cold", cold), ("warm", warm)):
        print(f"{label:<8}{r['first_s']:>14.2f}{r['steady_s'] * 1e3:>16.2f}{r['second_site_first_s'] * 1e3:>24.2f}"
              f"{r['variants']:>10}{'  compile FAILED: ' + ', '.join(r['failed']) if r['failed'] else ''}")
    print("(cold: an empty TORCHINDUCTOR_CACHE_DIR; warm: the same folder in a new process; "
          "the second site has the same degree and dtype and must not compile)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
