"""The gap ε: sign error outside it, the ReLU-weighted error, and the ε searches.

relu(x) ≈ x(1 + s(x))/2 has error |x|·|s(x) − sign(x)|/2 on all of [−1, 1], so for relu/abs
the gap is a design parameter, chosen to minimise the measured error (coarse scan then Brent
in log2 ε); for sign/step with given degrees the balanced ε (sign error ≤ ε on |x| ≥ ε).
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import ComputationError
from .sign import SignStageFit, sign_stage


def sign_stages(degrees, epsilon: float) -> list[SignStageFit]:
    """Remez stage by stage: stage 0 on [ε, 1], each next one on the previous image."""
    lo, hi = float(epsilon), 1.0
    fits = []
    for i, degree in enumerate(degrees):
        try:
            fit = sign_stage(degree, lo, hi)
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
    return [lambda t, c=np.asarray(f.coefficients): np.polynomial.polynomial.polyval(t, c) for f in fits]


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
