"""OpenFHE bench: polyfit's schedule against OpenFHE's own EvalChebyshevFunction.

For gelu, silu and sigmoid on [−8, 8] and degrees d = 15, 27, 59, 119, every row measured in
this run on one context per depth (so times compare at the same ring dimension):

- ``openfhe``: ``cc.EvalChebyshevFunction(f, Enc(x), −8, 8, d)`` — OpenFHE interpolates f at
  Chebyshev nodes and spends a level mapping [−8, 8] onto [−1, 1];
- ``polyfit d``: the degree-d minimax fit (basis chebyshev), run as polyfit's schedule
  (:mod:`polyfit.backends.openfhe`: the map folded into the encoding, EvalChebyshevSeries on
  (−1, 1)): one level fewer; time ratio polyfit / openfhe;
- ``polyfit d`` again in a context one level shorter (what the saved level buys: a smaller N
  from depth 6 → 5, fewer RNS limbs otherwise);
- ``polyfit @depth``: at OpenFHE's depth for d, the highest degree polyfit's schedule fits in
  the same levels (the next bracket of OpenFHE's table) and its error: the error at the same
  depth.

Levels are measured on the ciphertexts (level + noise-scale degree, FLEXIBLEAUTO); errors are
max |decrypted − f| over the samples. Needs openfhe (CPython 3.10/3.12):

    OMP_NUM_THREADS=1 python bench/bench_openfhe.py [--quick] [--samples N]
"""
from __future__ import annotations

import math
import os
import sys
import warnings

import numpy as np

import polyfit as pf
from polyfit.backends import openfhe as backend
from polyfit.depth import OPENFHE_CHEBYSHEV_TABLE, openfhe_levels
from timing import timed

FUNCTIONS = {
    "gelu": lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))),
    "silu": lambda v: v / (1.0 + math.exp(-v)),
    "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
}
DEGREES = (15, 27, 59, 119)
DOMAIN = 8.0


def top_degree_at(levels: int) -> int:
    """Highest degree polyfit's schedule (OpenFHE's table on (−1, 1)) evaluates in ``levels``."""
    return max(top for top, depth in OPENFHE_CHEBYSHEV_TABLE if depth - 1 <= levels)


def fit(function: str, degree: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.fit(function, degree=degree, domain=DOMAIN, method="minimax", basis="chebyshev")


def decrypt(cc, keys, ct, n):
    plain = cc.Decrypt(ct, keys.secretKey)
    plain.SetLength(n)
    return np.asarray(plain.GetRealPackedValue(), dtype=float)[:n]


def rows(functions, degrees, samples, repeats):
    x = np.linspace(-DOMAIN, DOMAIN, samples)
    contexts = {}
    for name in functions:
        f = FUNCTIONS[name]
        exact = np.array([f(v) for v in x])
        for d in degrees:
            depth = openfhe_levels(d)  # OpenFHE's own table off (−1, 1)
            if depth not in contexts:
                contexts[depth] = backend.make_context(depth, slots=samples, output_bound=DOMAIN)
            cc, keys, params = contexts[depth]
            ct_x = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(x.tolist()))
            own, t_own = timed(lambda: cc.EvalChebyshevFunction(f, ct_x, -DOMAIN, DOMAIN, d), repeats, min)
            row = {"f": name, "d": d, "N": params.ring_dimension, "scale": params.scale_bits,
                   "own_levels": backend.height(own) - backend.height(ct_x),
                   "own_error": float(np.max(np.abs(decrypt(cc, keys, own, samples) - exact))), "own_s": t_own}
            for label, degree in (("same", d), ("depth", top_degree_at(depth))):
                schedule = backend.chebyshev_schedule(fit(name, degree))
                ct_e = cc.Encrypt(keys.publicKey, cc.MakeCKKSPackedPlaintext(schedule.encode(x).tolist()))
                out, t = timed(lambda: backend.evaluate_schedule(cc, ct_e, schedule), repeats, min)
                row.update({f"{label}_degree": degree, f"{label}_levels": backend.height(out) - backend.height(ct_e),
                            f"{label}_error": float(np.max(np.abs(decrypt(cc, keys, out, samples) - exact))),
                            f"{label}_s": t})
            # what the saved level buys: the same schedule in a context one level shorter
            own_depth = row["same_levels"]
            if own_depth not in contexts:
                contexts[own_depth] = backend.make_context(own_depth, slots=samples, output_bound=DOMAIN)
            cc2, keys2, params2 = contexts[own_depth]
            schedule = backend.chebyshev_schedule(fit(name, d))
            ct_e = cc2.Encrypt(keys2.publicKey, cc2.MakeCKKSPackedPlaintext(schedule.encode(x).tolist()))
            out, t = timed(lambda: backend.evaluate_schedule(cc2, ct_e, schedule), repeats, min)
            row.update({"short_N": params2.ring_dimension, "short_s": t,
                        "short_error": float(np.max(np.abs(decrypt(cc2, keys2, out, samples) - exact)))})
            yield row


def main(argv):
    quick = "--quick" in argv
    samples = int(argv[argv.index("--samples") + 1]) if "--samples" in argv else 1024
    functions = ("gelu",) if quick else tuple(FUNCTIONS)
    degrees = (15, 27) if quick else DEGREES
    repeats = 1 if quick else 2
    print(f"OpenFHE {getattr(backend.require_openfhe(), '__version__', '?')}, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}, {samples} samples of [-{DOMAIN:g}, {DOMAIN:g}], "
          f"min of {repeats} timing(s); errors are max |decrypted - f|")
    print()
    print("| f | d | N, scale | OpenFHE EvalChebyshevFunction: levels, error, s | polyfit d, same context: levels, "
          "error, s | time polyfit/OpenFHE | polyfit d, context one level shorter: N, s, time ratio "
          "| polyfit at OpenFHE's depth: degree, levels, error |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows(functions, degrees, samples, repeats):
        print(f"| {r['f']} | {r['d']} | {r['N']}, 2^{r['scale']} | {r['own_levels']}, {r['own_error']:.2e}, "
              f"{r['own_s']:.2f} | {r['same_levels']}, {r['same_error']:.2e}, {r['same_s']:.2f} | "
              f"{r['same_s'] / r['own_s']:.2f} | {r['short_N']}, {r['short_s']:.2f}, {r['short_s'] / r['own_s']:.2f} | "
              f"{r['depth_degree']}, {r['depth_levels']}, {r['depth_error']:.2e} |",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
