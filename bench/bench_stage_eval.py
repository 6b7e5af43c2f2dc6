"""Monomial stage evaluation: the artifact's accurate evaluation against plain float64 Horner.

For each artifact, on its own 10001-point metric grid (t = input_scale·x, stage by stage):
- time of plain Horner (numpy.polynomial.polynomial.polyval) and of ``Stage.__call__``
  (``polyfit.basis.monomial_eval_accurate``), median of ``REPEATS`` runs, and their ratio;
- the largest difference of each from the exact value of the stored polynomial at the same
  float64 inputs (rational arithmetic, correctly rounded), relative to max(1, |p|);
- the artifact's max error measured with plain Horner and with the accurate evaluation.

The machine is shared: read the ratios, measured in the same run.

    python bench/bench_stage_eval.py
"""
from __future__ import annotations

import os
import warnings

import numpy as np

import polyfit as pf
from polyfit.basis import _dyadic_integers, _exact_horner, monomial_eval
from polyfit.metrics import metric_grid
from timing import timed

REPEATS = 15


def cases():
    """(label, artifact) pairs: the headline, float fits stored in monomials, quantized L2 and L∞."""
    yield "relu d4 r5 F10 (headline)", pf.fit("relu", degree=4, domain=5, bits=10)
    yield "tanh d8 r4 lstsq", pf.fit("tanh", degree=8, domain=4, basis="monomial")
    yield "gelu d16 r8 minimax", pf.fit("gelu", degree=16, domain=8, method="minimax", basis="auto")
    yield "sigmoid d31 r8 F16 L2", pf.fit("sigmoid", degree=31, domain=8, bits=16, input_scale=0.125)
    yield "relu composite alpha 10", pf.composite(alpha=10, function="relu")
    yield "sigmoid d47 r8 F20 L∞", pf.fit("sigmoid", degree=47, domain=8, bits=20, method="minimax",
                                        input_scale=0.125)
    yield "sigmoid d63 r8 F16 L∞", pf.fit("sigmoid", degree=63, domain=8, bits=16, method="minimax",
                                        input_scale=0.125)


def stage_inputs(approx):
    """[(stage, its float64 inputs on the metric grid)] as the artifact computes them."""
    m = approx.metrics
    x = metric_grid(approx.domain, m["grid_points"], m.get("exclude"))
    s, out = x * approx.input_scale, []
    for stage in approx.stages:
        out.append((stage, s))
        s = stage(s)
    return x, out


def main():
    print(f"load average {os.getloadavg()[0]:.1f} (1 min); median of {REPEATS} runs; metric grids of 10001 points")
    print("| artifact | basis | degrees | plain ms | accurate ms | ratio | plain dev | accurate dev "
          "| error (plain) | error (accurate = metrics) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, approx in cases():
        x, inputs = stage_inputs(approx)
        if any(st.basis != "monomial" for st, _ in inputs):
            print(f"| {label} | chebyshev stages: not a monomial evaluation |")
            continue
        _, plain_s = timed(lambda: [monomial_eval(st.coefficients, t) for st, t in inputs], REPEATS)
        _, accurate_s = timed(lambda: [st(t) for st, t in inputs], REPEATS)
        plain_dev = accurate_dev = 0.0
        for st, t in inputs:
            numerators, shift = _dyadic_integers(np.asarray(st.coefficients))
            exact = np.array([_exact_horner(numerators, shift, float(v)) for v in t])
            scale = np.maximum(1.0, np.abs(exact))
            plain_dev = max(plain_dev, float(np.max(np.abs(monomial_eval(st.coefficients, t) - exact) / scale)))
            accurate_dev = max(accurate_dev, float(np.max(np.abs(st(t) - exact) / scale)))
        s = x * approx.input_scale
        for st in approx.stages:
            s = monomial_eval(st.coefficients, s)
        from polyfit.approximation import apply_combine

        plain_error = float(np.max(np.abs(apply_combine(approx.combine, x, s) - approx.target(x))))
        print(f"| {label} | monomial | {approx.degrees} | {plain_s * 1e3:.3f} | {accurate_s * 1e3:.3f} | "
              f"{accurate_s / plain_s:.2f} | {plain_dev:.1e} | {accurate_dev:.1e} | {plain_error:.6e} | "
              f"{approx.metrics['max_abs_error']:.6e} |", flush=True)


if __name__ == "__main__":
    warnings.simplefilter("ignore")
    main()
