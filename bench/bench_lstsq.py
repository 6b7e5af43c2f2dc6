"""Least squares: accuracy and time of polyfit's Chebyshev-basis solve vs numpy.polyfit (monomial).

Prints, for tanh on [-8, 8] at degrees 8…64, the max error of each method on a dense grid and
the ratios (numpy error / polyfit error, numpy time / polyfit time), and the continuous L2
projection's agreement with a scipy.integrate.quad reference.

    python bench/bench_lstsq.py
"""
from __future__ import annotations

import warnings

import numpy as np

import polyfit as pf
from timing import timed


def main():
    x = np.linspace(-8, 8, 1000)
    dense = np.linspace(-8, 8, 20001)
    print("discrete L2, tanh on [-8, 8], 1000 uniform points")
    print("(polyfit's time includes its reports: metrics on 10001 points, plan, precision)")
    print(f"{'degree':>6} {'polyfit err':>12} {'numpy err':>12} {'err ratio':>10} {'time ratio':>10}")
    for degree in (8, 16, 32, 48, 64):
        approx, t_ours = timed(lambda: pf.fit("tanh", degree, 8, basis="chebyshev"), repeats=5, statistic=min)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef, t_numpy = timed(lambda: np.polyfit(x, np.tanh(x), degree), repeats=5, statistic=min)
        ours = np.max(np.abs(approx(dense) - np.tanh(dense)))
        theirs = np.max(np.abs(np.polyval(coef, dense) - np.tanh(dense)))
        print(f"{degree:>6} {ours:>12.3e} {theirs:>12.3e} {theirs / ours:>10.1f} {t_numpy / t_ours:>10.2f}")

    from scipy.integrate import quad

    print("\ncontinuous L2 projection vs scipy.integrate.quad (Legendre coefficients), gelu on [-6, 6]")
    degree = 12
    approx, t_ours = timed(lambda: pf.fit("gelu", degree, 6, grid="continuous", basis="chebyshev"), repeats=3, statistic=min)
    leg_ours = np.polynomial.Chebyshev(approx.stages[0].coefficients).convert(kind=np.polynomial.Legendre).coef
    gelu = pf.get_target("gelu")

    def reference():
        return np.array([(2 * k + 1) / 2 * quad(lambda u: float(gelu(np.array([6 * u]))[0])
                                                * np.polynomial.legendre.legval(u, [0] * k + [1]), -1, 1,
                                                epsabs=1e-14, epsrel=1e-14, limit=200)[0]
                         for k in range(degree + 1)])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # quad warns about round-off at this tolerance
        leg_ref, t_ref = timed(reference)
    rel = np.max(np.abs(leg_ours - leg_ref)) / np.max(np.abs(leg_ref))
    print(f"max relative coefficient difference {rel:.2e}; time ratio quad / polyfit {t_ref / t_ours:.1f}")


if __name__ == "__main__":
    main()
