"""The gap ε: sign error outside it, the ReLU-weighted error, and the ε searches.

relu(x) ≈ x(1 + s(x))/2 has error |x|·|s(x) − sign(x)|/2 on all of [−1, 1], so for relu/abs
the gap is a design parameter, chosen to minimise the measured error (coarse scan then Brent
in log2 ε); for sign/step with given degrees the balanced ε (sign error ≤ ε on |x| ≥ ε).
"""
from __future__ import annotations

import math

import numpy as np

from ...basis import exact_chebyshev_coefficients
from ...errors import ComputationError
from .sign import BelowResolution, SignStageFit, sign_stage


def sign_stages(degrees, epsilon: float) -> list[SignStageFit]:
    """Remez stage by stage: stage 0 on [ε, 1], each next one on the previous image.

    Raises:
        BelowResolution: a stage's error is below its arithmetic's resolution, or its input
            interval (the previous image [1 − τ, 1 + τ]) is one float64 value because τ is
            below float64's resolution of 1: ε is wider than these degrees need.
        ComputationError: a stage's exchange did not converge.
    """
    lo, hi = float(epsilon), 1.0
    fits = []
    for i, degree in enumerate(degrees):
        if i and not lo < hi:
            raise BelowResolution(
                f"stage {i} (degree {degree}) has nothing to fit: stage {i - 1} maps [ε, 1] onto [{lo!r}, {hi!r}], "
                f"a single float64 value (its sign error {fits[-1].error:.1e} is below float64's resolution of 1); "
                f"ε = {float(epsilon):.6g} is wider than degrees {list(degrees)} need: give a smaller epsilon or fewer stages")
        try:
            fit = sign_stage(degree, lo, hi)
        except BelowResolution as exc:
            raise BelowResolution(f"stage {i} (degree {degree}) cannot be certified: {exc}") from None
        except ComputationError as exc:
            raise ComputationError(f"stage {i} (degree {degree}) did not converge: {exc}") from None
        fits.append(fit)
        lo, hi = fit.image
    return fits


def weighted_sign_error(stage_functions, epsilon: float) -> float:
    """max over x ∈ (0, 1] of x·|s(x) − 1| (= 2·ReLU error = |x| error of the composite)."""
    x = np.unique(np.concatenate([np.linspace(0.0, 1.0, 20001),
                                  np.geomspace(max(epsilon, 1e-300) * 2.0 ** -8, min(1.0, 16 * epsilon), 4001)]))
    s = x
    for f in stage_functions:
        s = f(s)
    return float(np.max(x * np.abs(s - 1.0)))


def sign_error_outside_gap(stage_functions, epsilon: float) -> float:
    """max over x ∈ [ε, 1] of |s(x) − 1| (dense grid, log-spaced near ε)."""
    x = np.unique(np.concatenate([np.linspace(epsilon, 1.0, 20001), np.geomspace(epsilon, 1.0, 4001)]))
    s = x
    for f in stage_functions:
        s = f(s)
    return float(np.max(np.abs(s - 1.0)))


def fit_functions(fits):
    """Each stage as a float64 function of its input, in the basis the artifact would store it
    (:func:`polyfit.solvers.composite.assembly.stage_from_fit`'s rule): Horner on the monomial
    coefficients when their rounding, ≈ max|c_k|·(d + 1)·16·2^−53, is below 1 % of the smallest
    stage error; else Clenshaw on the exact Chebyshev series over [−U, U], U the upper end of the
    stage's interval (degree 63 on [2^−12, 1] has monomials near 1e23: Horner gives noise there,
    and the next stage overflows on it)."""
    tolerance = min(f.error for f in fits)
    out = []
    for f in fits:
        c = np.asarray(f.coefficients, dtype=float)
        if float(np.max(np.abs(c))) * (f.degree + 1) * 16 * np.finfo(float).eps <= 0.01 * tolerance:
            out.append(lambda t, c=c: np.polynomial.polynomial.polyval(t, c))
            continue
        half_width = float(f.interval[1])
        cheb = np.array([float(v) for v in exact_chebyshev_coefficients(f.exact, half_width)])
        out.append(lambda t, b=cheb, u=half_width: np.polynomial.chebyshev.chebval(np.asarray(t, dtype=float) / u, b))
    return out


def best_relu_epsilon(degrees, *, center: float | None = None,
                      give_up_above: float | None = None) -> tuple[float, list[SignStageFit], float]:
    """ε minimising max x|s(x) − 1| over (0, 1]: coarse scan in log2 ε, then bounded Brent.

    Returns (ε, stage fits, weighted error). With ``give_up_above``, a coarse minimum above
    it returns at once (refinement gains a few per cent, not more).
    """
    from scipy.optimize import minimize_scalar

    cache: dict[float, tuple[float, list]] = {}

    def objective(log2_eps: float) -> float:
        key = round(float(log2_eps), 6)
        if key not in cache:
            try:
                fits = sign_stages(degrees, 2.0 ** key)
                cache[key] = (weighted_sign_error(fit_functions(fits), 2.0 ** key), fits)
            except ComputationError:
                cache[key] = (math.inf, [])
        return cache[key][0]

    lo, hi = (center - 3.0, min(-0.25, center + 2.0)) if center is not None else (-30.0, -0.25)
    coarse = np.arange(lo, hi + 1e-9, 0.5)
    values = [objective(v) for v in coarse]
    i = int(np.argmin(values))
    a, b = coarse[max(i - 1, 0)], coarse[min(i + 1, len(coarse) - 1)]
    if b > a and (give_up_above is None or values[i] <= give_up_above):
        minimize_scalar(objective, bounds=(a, b), method="bounded", options={"xatol": 2e-3})
    key = min(cache, key=lambda k: cache[k][0])
    value, fits = cache[key]
    if not math.isfinite(value):
        raise ComputationError(f"no gap width ε gave a converging composite of degrees {list(degrees)}")
    return 2.0 ** key, fits, value


def balanced_epsilon(degrees) -> tuple[float, list[SignStageFit]]:
    """The smallest ε with sign error ≤ ε on |x| ≥ ε (the degrees' own precision), by bisection."""
    lo, hi = -40.0, -0.05
    best = None
    for _ in range(40):
        mid = (lo + hi) / 2
        try:
            fits = sign_stages(degrees, 2.0 ** mid)
            ok = fits[-1].error <= 2.0 ** mid
        except BelowResolution:      # more accurate than float64/mpmath resolve: error ≤ ε
            fits, ok = None, True
        except ComputationError:
            fits, ok = None, False
        if ok:
            hi, best = mid, fits
        else:
            lo = mid
        if hi - lo < 1e-3:
            break
    if best is None:
        best = sign_stages(degrees, 2.0 ** hi)
    return 2.0 ** hi, best
