"""The Remez exchange (second algorithm) on a set of intervals, in a Chebyshev basis.

Problem: given g on a compact set S = ∪ [a_j, b_j] ⊂ [-1, 1] (the window variable u) and a
set K of Chebyshev degrees, find

    p*(u) = Σ_{k∈K} c_k T_k(u)   minimising   E(p) = max_{u∈S} |p(u) − g(u)|.

When span{T_k : k ∈ K} is a Haar space on S (all degrees 0..d on any S; the even degrees on
S ⊂ [0, 1]; the odd degrees on S ⊂ (0, 1] where an odd g vanishes at 0), p* is unique and
its error e = p* − g equioscillates: there are n + 1 points (n = |K|) with alternating signs
and |e| = E(p*) (Chebyshev's alternation theorem).

Each iteration
  1. solves the levelled system  Σ_k c_k T_k(u_i) + (−1)^i h = g(u_i),  i = 0..n,
     on the current reference u_0 < … < u_n;
  2. locates the local extrema of e = p − g: e on a dense Chebyshev-spaced grid of each
     interval (plus the target's breakpoints, where kinks put the extrema, and the
     reference), the largest |e| of every sign run, each refined by golden-section search on
     its grid bracket (vectorised over all brackets);
  3. keeps the extrema with |e| ≥ |h| (re-merging neighbours of equal sign), and takes as
     the new reference n + 1 consecutive alternating ones that contain the global maximum (of
     those windows, the one with the largest min |e|). Every new point has |e| ≥ |h|, so |h|
     grows monotonically to the minimax error.

Certificate (de la Vallée Poussin): if e alternates in sign on n + 1 points, then
    min_i |e(u_i)|  ≤  E(p*)  ≤  E(p) = max_S |e|,
so ``lower_bound`` and ``upper_bound`` bracket the true minimax error, and the iteration
stops when their relative gap falls below ``tol`` (or the gap is at float64 rounding level).
The upper bound is the maximum over the refined extrema of the dense grid.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from numpy.polynomial import chebyshev as C

from ..errors import ComputationError
from ..problem import chebyshev_extrema

INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0
EPS = float(np.finfo(float).eps)
ROUNDING_FACTOR = 32.0  # errors below ROUNDING_FACTOR·eps·max(1, max|g|) are rounding noise


@dataclass(frozen=True)
class RemezResult:
    """Outcome of :func:`remez` (all points in the window variable u).

    Attributes:
        coefficients: c_k for k in ``degrees`` (same order).
        degrees: the Chebyshev degrees K.
        reference: n + 1 points where the returned polynomial's error alternates in sign.
        reference_errors: e(u_i) = p(u_i) − g(u_i) at the reference (alternating signs).
        levelled_error: |h| of the last levelled system.
        lower_bound: min_i |e(u_i)| (de la Vallée Poussin: ≤ the true minimax error).
        upper_bound: max |e| over the set (refined dense grid): the error of p.
        argmax: where |e| is largest.
        iterations: levelled systems solved.
        converged: the relative gap met ``tol`` (or the rounding floor).
        rounding_limited: the gap could not reach ``tol`` because the error is near float64
            rounding (ROUNDING_FACTOR·eps·max(1, max|g|)); the bounds still hold up to rounding.
        gap_history: relative gap (upper − lower)/upper after each iteration.
        rounding_floor: ROUNDING_FACTOR·eps·max(1, max|g|), the absolute gap that counts as 0.
    """

    coefficients: np.ndarray
    degrees: tuple[int, ...]
    reference: np.ndarray
    reference_errors: np.ndarray
    levelled_error: float
    lower_bound: float
    upper_bound: float
    argmax: float
    iterations: int
    converged: bool
    rounding_limited: bool
    gap_history: tuple[float, ...]
    rounding_floor: float = 0.0

    @property
    def relative_gap(self) -> float:
        """(upper − lower)/upper; 0 when the error is exactly zero."""
        return 0.0 if self.upper_bound == 0.0 else (self.upper_bound - self.lower_bound) / self.upper_bound


def chebyshev_values(coefficients, degrees: Sequence[int], u) -> np.ndarray:
    """p(u) = Σ_j coefficients[j] · T_{degrees[j]}(u)."""
    full = np.zeros(max(degrees) + 1)
    full[list(degrees)] = coefficients
    return C.chebval(np.asarray(u, dtype=float), full)


def dense_grid(pieces, points_per_piece: int, breakpoints=()) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev–Lobatto points of each piece (ends included) plus interior breakpoints.

    Returns (u, piece_index), sorted by u.
    """
    us, ids = [], []
    for index, (a, b) in enumerate(pieces):
        u = chebyshev_extrema((a, b), points_per_piece)
        inner = [float(p) for p in breakpoints if a < p < b]
        u = np.unique(np.concatenate([u, inner, [a, b]]))
        us.append(u)
        ids.append(np.full(u.size, index))
    u = np.concatenate(us)
    order = np.argsort(u, kind="stable")
    return u[order], np.concatenate(ids)[order]


def levelled_solution(func_values, reference, degrees):
    """Solve Σ_k c_k T_k(u_i) + (−1)^i h = g(u_i) for (c, h)."""
    n = len(degrees)
    matrix = np.empty((n + 1, n + 1))
    matrix[:, :n] = C.chebvander(reference, max(degrees))[:, list(degrees)]
    matrix[:, n] = (-1.0) ** np.arange(n + 1)
    try:
        solution = np.linalg.solve(matrix, func_values)
    except np.linalg.LinAlgError:
        raise ComputationError("the Remez levelled system is singular (reference points coincide)") from None
    if not np.all(np.isfinite(solution)):
        raise ComputationError("the Remez levelled system has a non-finite solution")
    return solution[:n], float(solution[n])


def _golden_maximise(objective, lo, hi, tolerance: float):
    """Vectorised golden-section search: argmax of ``objective`` on each [lo_i, hi_i].

    ``objective`` maps an array of points (one per bracket) to values. Each bracket is
    assumed unimodal; the caller keeps the better of the result and its starting point.
    """
    lo = lo.astype(float).copy()
    hi = hi.astype(float).copy()
    width = float(np.max(hi - lo)) if lo.size else 0.0
    if width <= tolerance:
        mid = 0.5 * (lo + hi)
        return mid, objective(mid)
    steps = int(math.ceil(math.log(width / tolerance) / math.log(1.0 / INV_PHI)))
    c = hi - INV_PHI * (hi - lo)
    d = lo + INV_PHI * (hi - lo)
    fc, fd = objective(c), objective(d)
    for _ in range(steps):
        left = fc > fd  # the maximum is in [lo, d]
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        new = np.where(left, hi - INV_PHI * (hi - lo), lo + INV_PHI * (hi - lo))
        f_new = objective(new)
        # left: [lo, d] keeps c as its upper probe; else [c, hi] keeps d as its lower probe.
        c, d, fc, fd = (np.where(left, new, d), np.where(left, c, new),
                        np.where(left, f_new, fd), np.where(left, fc, f_new))
    best_c = fc >= fd
    return np.where(best_c, c, d), np.where(best_c, fc, fd)


def alternating_extrema(u, error, piece_index, error_at, refine_tolerance: float):
    """Largest |e| of each sign run of ``error`` on the grid ``u``, refined; alternating.

    Zeros are dropped (they belong to no run). Each run's best grid point is refined by
    golden-section search of σ·e (σ the run's sign) on its grid neighbours within the same
    piece; the refined point replaces it only if |e| grows. Returns (points, errors).
    """
    sign = np.sign(error)
    nonzero = np.flatnonzero(sign != 0)
    if nonzero.size == 0:
        return np.empty(0), np.empty(0)
    s = sign[nonzero]
    breaks = np.flatnonzero(s[1:] != s[:-1]) + 1
    starts = np.concatenate([[0], breaks])
    ends = np.concatenate([breaks, [s.size]])
    abs_err = np.abs(error[nonzero])
    best = np.array([nonzero[a + int(np.argmax(abs_err[a:b]))] for a, b in zip(starts, ends)])
    run_sign = sign[best]
    left = np.maximum(best - 1, 0)
    right = np.minimum(best + 1, u.size - 1)
    left = np.where(piece_index[left] == piece_index[best], left, best)
    right = np.where(piece_index[right] == piece_index[best], right, best)
    points = u[best].copy()
    values = error[best].copy()
    if refine_tolerance > 0:
        lo, hi = u[left], u[right]
        refined, gain = _golden_maximise(lambda v: run_sign * error_at(v), lo, hi, refine_tolerance)
        better = gain > run_sign * values
        points = np.where(better, refined, points)
        values = np.where(better, run_sign * gain, values)
    return points, values


def _at_least(points, errors, level):
    keep = np.abs(errors) >= level
    return points[keep], errors[keep]


def merge_same_sign(points, errors):
    """Merge neighbours of equal sign (sorted input), keeping the larger |e|: alternating output."""
    out_p, out_e = [], []
    for p, e in zip(points, errors):
        if out_e and np.sign(e) == np.sign(out_e[-1]):
            if abs(e) > abs(out_e[-1]):
                out_p[-1], out_e[-1] = p, e
            continue
        out_p.append(p)
        out_e.append(e)
    return np.array(out_p), np.array(out_e)


def choose_reference(points, errors, size: int):
    """``size`` consecutive alternating extrema containing the global max of |e|.

    Of the windows that contain it, the one whose smallest |e| is largest (the best
    de la Vallée Poussin bound).
    """
    count = points.size
    top = int(np.argmax(np.abs(errors)))
    best_start, best_low = None, -1.0
    for start in range(max(0, top - size + 1), min(top, count - size) + 1):
        low = float(np.min(np.abs(errors[start:start + size])))
        if low > best_low:
            best_start, best_low = start, low
    return points[best_start:best_start + size], errors[best_start:best_start + size]


def least_squares(matrix, values) -> np.ndarray:
    """argmin_c ||matrix·c − values||₂ by the normal equations.

    The callers' matrices are Chebyshev–Vandermonde matrices on Chebyshev-spaced points,
    whose columns are nearly orthogonal (condition number ≈ 2–3), so the normal equations
    lose nothing and avoid LAPACK's SVD (whose thread start-up dominated the run time).
    """
    gram = matrix.T @ matrix
    try:
        return np.linalg.solve(gram, matrix.T @ values)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(matrix, values, rcond=None)[0]


def initial_reference(func, grid, piece_index, degrees):
    """Start of the exchange: alternating extrema of the discrete L2 fit on the grid.

    Returns (reference or None, L2 coefficients, max |L2 error| on the grid).

    Uniform weights on Chebyshev-spaced points approximate the Chebyshev-weighted L2
    projection, a near-best start; its error changes sign at least n times (it is orthogonal
    to the n-dimensional space), so n + 1 alternating runs exist.
    """
    n = len(degrees)
    values = func(grid)
    vander = C.chebvander(grid, max(degrees))[:, list(degrees)]
    coef = least_squares(vander, values)
    error = vander @ coef - values
    points, errors = alternating_extrema(grid, error, piece_index, None, 0.0)
    reference = choose_reference(points, errors, n + 1)[0] if points.size >= n + 1 else None
    return reference, coef, float(np.max(np.abs(error)))


def remez(func: Callable, pieces, degrees: Sequence[int], *, breakpoints=(), tol: float = 1e-9,
          max_iterations: int = 60, points_per_piece: int | None = None, label: str = "target") -> RemezResult:
    """Best uniform approximation of ``func`` on ∪ ``pieces`` by Σ_{k∈degrees} c_k T_k(u).

    Args:
        func: vectorised g(u), float array in, float array out.
        pieces: sorted, disjoint intervals (a, b) within [-1, 1].
        degrees: Chebyshev degrees spanning a Haar space on the set (see module docstring).
        breakpoints: points where g or a derivative jumps (always sampled).
        tol: stop when (upper − lower)/upper ≤ tol.
        max_iterations: levelled systems before giving up (ComputationError).
        points_per_piece: dense-grid size per piece (default max(1024, 48·n)).
        label: how errors name the problem.

    Returns:
        :class:`RemezResult`.
    """
    degrees = tuple(int(k) for k in degrees)
    n = len(degrees)
    if n == 0:
        raise ComputationError(f"Remez for {label} needs at least one basis function")
    pieces = [(float(a), float(b)) for a, b in pieces]
    size = points_per_piece or max(1024, 48 * n)
    base_u, base_piece = dense_grid(pieces, size, breakpoints)
    with np.errstate(all="ignore"):
        base_g = np.asarray(func(base_u), dtype=float)
    if not np.all(np.isfinite(base_g)):
        raise ComputationError(f"{label} is not finite on the approximation interval")
    scale = max(1.0, float(np.max(np.abs(base_g))))
    floor = ROUNDING_FACTOR * EPS * scale
    span = max(b - a for a, b in pieces)
    refine_tolerance = max(1e-15, 1e-13 * span)

    reference, start_coef, start_error = initial_reference(func, base_u, base_piece, degrees)
    if start_error <= floor:  # g is in the space up to rounding: no alternation to find
        argmax = float(base_u[int(np.argmax(np.abs(chebyshev_values(start_coef, degrees, base_u) - base_g)))])
        return RemezResult(start_coef, degrees, np.empty(0), np.empty(0), 0.0, 0.0, start_error, argmax, 0, True,
                           True, (), floor)
    if reference is None:  # fewer sign changes than expected: fall back to Chebyshev extrema
        reference = _chebyshev_extrema_reference(pieces, n + 1)
    history: list[float] = []
    for iteration in range(1, max_iterations + 1):
        coef, h = levelled_solution(np.asarray(func(reference), dtype=float), reference, degrees)

        def error_at(v, _coef=coef):
            return chebyshev_values(_coef, degrees, v) - np.asarray(func(v), dtype=float)

        grid_u = np.concatenate([base_u, reference])
        grid_piece = np.concatenate([base_piece, _piece_of(reference, pieces)])
        grid_g = np.concatenate([base_g, np.asarray(func(reference), dtype=float)])
        # Sorted and without duplicates: a repeated point would make a golden-section bracket empty.
        grid_u, first = np.unique(grid_u, return_index=True)
        grid_piece, grid_g = grid_piece[first], grid_g[first]
        error = chebyshev_values(coef, degrees, grid_u) - grid_g
        points, errors = alternating_extrema(grid_u, error, grid_piece, error_at, refine_tolerance)
        upper = float(np.max(np.abs(errors))) if errors.size else 0.0
        argmax = float(points[int(np.argmax(np.abs(errors)))]) if errors.size else float(base_u[0])
        if points.size < n + 1:
            if upper <= floor:  # g is (numerically) in the space: the error is rounding noise
                return RemezResult(coef, degrees, reference, error_at(reference), abs(h), 0.0, upper, argmax,
                                   iteration, True, True, tuple(history + [1.0]), floor)
            raise ComputationError(f"Remez for {label}: the error has only {points.size} alternating extrema, "
                                   f"fewer than the {n + 1} needed")
        # Exchange rule of the second algorithm: only extrema with |e| ≥ |h| may enter, so the
        # levelled error grows monotonically (extrema of small side lobes would make it cycle).
        strong_points, strong_errors = merge_same_sign(*_at_least(points, errors, abs(h) - floor))
        if strong_points.size >= n + 1:
            points, errors = strong_points, strong_errors
        new_reference, new_errors = choose_reference(points, errors, n + 1)
        lower = float(np.min(np.abs(new_errors)))
        gap = (upper - lower) / upper if upper > 0 else 0.0
        history.append(gap)
        if upper - lower <= max(tol * upper, floor):
            # Stopped by the rounding floor rather than by tol: the gap is float64 noise.
            return RemezResult(coef, degrees, new_reference, new_errors, abs(h), lower, upper, argmax, iteration,
                               True, upper - lower > tol * upper, tuple(history), floor)
        reference = new_reference
    raise ComputationError(f"Remez for {label} did not converge in {max_iterations} iterations "
                           f"(relative gap {history[-1]:.1e} > tol {tol:.0e})")


def _piece_of(points, pieces) -> np.ndarray:
    out = np.zeros(np.size(points), dtype=int)
    for index, (a, b) in enumerate(pieces):
        out[(points >= a) & (points <= b)] = index
    return out


def _chebyshev_extrema_reference(pieces, count: int) -> np.ndarray:
    """``count`` Chebyshev extrema spread over the pieces in proportion to their lengths."""
    total = sum(b - a for a, b in pieces)
    s = chebyshev_extrema((0.0, total), count)
    out = []
    offset = 0.0
    for a, b in pieces:
        length = b - a
        inside = s[(s >= offset) & (s <= offset + length)]
        out.extend(a + inside - offset)
        offset += length
    return np.unique(np.asarray(out[:count]))
