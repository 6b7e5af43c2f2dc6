"""Extrema search of an exchange step: the alternating local extrema of e on the set.

e is sampled on a grid of each piece (plus breakpoints and the current reference). Each run
of one sign contributes its largest |e|; that grid point is refined inside its bracket (the
neighbouring grid points of the same piece), vectorised over all brackets:

- by **Illinois steps on e′ = 0** when the problem gives derivatives (superlinear, so a few
  steps reach the arithmetic's precision, also in mpmath), or
- by **golden-section search** on σ·e (σ the run's sign) otherwise; it needs no derivative and
  is exact at kinks as well as at smooth maxima.

The refined point replaces the grid point only where |e| grows, so a refinement can never lose
an extremum. Neighbours of equal sign are merged (keeping the larger |e|): the output
alternates in sign.
"""
from __future__ import annotations

import math

import numpy as np

from .arithmetic import magnitudes, positive, signs

INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
FLOAT_ILLINOIS_STEPS = 40


def golden_maximise(objective, lo, hi, tolerance: float):
    """Vectorised golden-section search: argmax of ``objective`` on each [lo_i, hi_i].

    ``objective`` maps an array of points (one per bracket) to values. Each bracket is
    assumed unimodal; the caller keeps the better of the result and its starting point.
    """
    lo = lo.copy()
    hi = hi.copy()
    width = float(np.max(magnitudes(hi - lo))) if lo.size else 0.0
    if width <= tolerance:
        mid = (lo + hi) / 2
        return mid, objective(mid)
    steps = int(math.ceil(math.log(width / tolerance) / math.log(1.0 / INV_PHI)))
    c = hi - INV_PHI * (hi - lo)
    d = lo + INV_PHI * (hi - lo)
    fc, fd = objective(c), objective(d)
    for _ in range(steps):
        left = positive(fc - fd)  # the maximum is in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        new = np.where(left, hi - INV_PHI * (hi - lo), lo + INV_PHI * (hi - lo))
        f_new = objective(new)
        # left: [lo, d] keeps c as its upper probe; else [c, hi] keeps d as its lower probe.
        c, d, fc, fd = (np.where(left, new, d), np.where(left, c, new),
                        np.where(left, f_new, fd), np.where(left, fc, f_new))
    best_c = ~positive(fd - fc)
    return np.where(best_c, c, d), np.where(best_c, fc, fd)


def slope_zeros(slope, left, right, f_left, f_right, tolerance: float, steps: int):
    """Zeros of a function in the brackets [left, right] where it changes sign (Illinois).

    Illinois (regula falsi halving the stale end's value) converges superlinearly; the loop
    stops when every bracket is narrower than ``tolerance`` or after ``steps`` steps.
    """
    if len(left) == 0:
        return left
    a, b, fa, fb = left.copy(), right.copy(), f_left.copy(), f_right.copy()
    side = np.zeros(len(a), dtype=int)
    for _ in range(steps):
        denominator = fb - fa
        ok = positive(abs(denominator))
        c = np.where(ok, (a * fb - b * fa) / np.where(ok, denominator, 1), (a + b) / 2)
        c = np.where(positive(c - a) & positive(b - c), c, (a + b) / 2)
        fc = slope(c)
        with_a = positive(fc) == positive(fa)
        a, fa = np.where(with_a, c, a), np.where(with_a, fc, fa)
        b, fb = np.where(with_a, b, c), np.where(with_a, fb, fc)
        fb = np.where(with_a & (side == 1), fb / 2, fb)
        fa = np.where(~with_a & (side == -1), fa / 2, fa)
        side = np.where(with_a, 1, -1)
        if np.all(magnitudes(b - a) <= tolerance):
            break
    return (a + b) / 2


def alternating_extrema(problem, coefficients, u, error, piece_index, refine_tolerance: float, arith):
    """Largest |e| of each sign run of ``error`` on the sorted grid ``u``, refined, alternating.

    Zeros are dropped (they belong to no run). Returns (points, errors) in u's arithmetic.
    ``refine_tolerance`` 0 skips the refinement (the discrete L2 start).
    """
    sign = signs(error)
    nonzero = np.flatnonzero(sign != 0)
    if nonzero.size == 0:
        return u[:0], error[:0]
    s = sign[nonzero]
    breaks = np.flatnonzero(s[1:] != s[:-1]) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [s.size]])
    abs_err = magnitudes(error[nonzero])
    best = np.array([nonzero[a + int(np.argmax(abs_err[a:b]))] for a, b in zip(starts, ends)])
    run_sign = sign[best]
    left = np.maximum(best - 1, 0)
    right = np.minimum(best + 1, u.size - 1)
    left = np.where(piece_index[left] == piece_index[best], left, best)
    right = np.where(piece_index[right] == piece_index[best], right, best)
    points = u[best].copy()
    values = error[best].copy()
    if refine_tolerance > 0:
        if problem.smooth:
            refined = _refine_on_slope(problem, coefficients, u, best, left, right, run_sign, refine_tolerance, arith)
            gain = run_sign * problem.error(coefficients, refined)
        else:
            refined, gain = golden_maximise(lambda v: run_sign * problem.error(coefficients, v), u[left], u[right],
                                            refine_tolerance)
        better = positive(gain - run_sign * values)
        points = np.where(better, refined, points)
        values = np.where(better, run_sign * gain, values)
    return points, values


def _refine_on_slope(problem, coefficients, u, best, left, right, run_sign, tolerance, arith):
    """Zero of e′ next to each run's best grid point (the point itself where there is none).

    σe′ > 0 at the best point (σ the run's sign) puts the maximum towards the right
    neighbour, σe′ < 0 towards the left one; a bracket is searched only where e′ changes
    sign across it.
    """
    slope = problem.slope_of(coefficients)
    d_best = slope(u[best])
    towards_right = positive(d_best * run_sign)
    other = np.where(towards_right, right, left)
    d_other = slope(u[other])
    changes = (other != best) & (positive(d_best) != positive(d_other)) & positive(abs(d_best))
    out = u[best].copy()
    idx = np.flatnonzero(changes)
    if idx.size:
        right_side = towards_right[idx]
        lo = np.where(right_side, best[idx], other[idx])
        hi = np.where(right_side, other[idx], best[idx])
        f_lo = np.where(right_side, d_best[idx], d_other[idx])
        f_hi = np.where(right_side, d_other[idx], d_best[idx])
        steps = FLOAT_ILLINOIS_STEPS if arith.is_float else 12 + arith.dps
        out[idx] = slope_zeros(slope, u[lo], u[hi], f_lo, f_hi, tolerance, steps)
    return out


def merge_same_sign(points, errors):
    """Merge neighbours of equal sign (sorted input), keeping the larger |e|: alternating output."""
    keep: list[int] = []
    sign = signs(errors)
    size = magnitudes(errors)
    for i in range(len(points)):
        if keep and sign[i] == sign[keep[-1]]:
            if size[i] > size[keep[-1]]:
                keep[-1] = i
            continue
        keep.append(i)
    keep_arr = np.array(keep, dtype=int)
    return np.asarray(points)[keep_arr], np.asarray(errors)[keep_arr]


def refine_tolerance(span: float, arith) -> float:
    """Bracket width at which refinement stops: 1e-13 of the widest piece in float64,
    the arithmetic's resolution (relative to the piece) in mpmath."""
    if arith.is_float:
        return max(1e-15, 1e-13 * span)
    return max(10.0 ** -(arith.dps + 2), arith.resolution * span)
