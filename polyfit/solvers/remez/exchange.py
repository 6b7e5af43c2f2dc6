"""The exchange loop (Remez's second algorithm), its start, and its result.

Each iteration
  1. solves the levelled system  Σ_k c_k φ_k(u_i) + (−1)^i h = g(u_i),  i = 0..n,
     on the current reference u_0 < … < u_n (φ_k = w·T_k, or a matrix's columns);
  2. finds the alternating extrema of e = Σ c_k φ_k − g on the set (:mod:`.extrema`);
  3. keeps the extrema with |e| ≥ |h| (re-merging neighbours of equal sign), and takes as the
     new reference n + 1 consecutive alternating ones that contain the global maximum (of
     those windows, the one with the largest min |e|). Every new point has |e| ≥ |h|, so |h|
     grows monotonically to the minimax error; without the rule, low side lobes of
     oscillatory targets make the exchange cycle.

Certificate (de la Vallée Poussin): if e alternates in sign on n + 1 points, then
    lower = min_i |e(u_i)|  ≤  E*  ≤  E(p) = max |e| = upper,
and the loop stops when upper − lower ≤ max(tol·upper, floor), floor being the arithmetic's
rounding noise at the target's scale (``rounding_limited`` says the floor, not tol, stopped it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...certificate import Certificate
from ...errors import ComputationError, InputError
from .arithmetic import FLOAT64, Arithmetic, magnitudes
from .extrema import alternating_extrema, merge_same_sign, refine_tolerance
from .problem import RemezProblem, dense_grid, piece_of, spread_reference

class NotConverged(ComputationError):
    """The exchange used its iterations without meeting tol (a caller may accept a looser tol)."""


GOLDEN_POINTS = (1024, 48)   # grid per piece without derivatives: max(1024, 48·n) (kinks need it dense)
SMOOTH_POINTS = (64, 16)     # with derivatives: max(64, 16·(n + 1)) brackets every extremum


@dataclass(frozen=True)
class RemezResult:
    """Outcome of an exchange (points in the problem's variable; matrix rows for a discrete set).

    Attributes:
        coefficients: c_k for k in ``degrees`` (same order), in the run's arithmetic.
        degrees: the Chebyshev degrees K (column indices for a discrete set).
        reference: n + 1 points where the returned polynomial's error alternates in sign.
        reference_errors: e(u_i) there (alternating signs).
        levelled_error: |h| of the last levelled system.
        lower_bound: min_i |e(u_i)| (de la Vallée Poussin: ≤ the true minimax error).
        upper_bound: max |e| over the refined extrema: the error of p.
        argmax: where |e| is largest.
        iterations: levelled systems solved.
        converged: the stopping test held (by tol or by the rounding floor).
        rounding_limited: the floor, not tol, stopped it: the error is at the arithmetic's
            rounding level and the bounds hold up to rounding only.
        gap_history: relative gap (upper − lower)/upper after each iteration.
        rounding_floor: the absolute gap that counts as 0 (resolution·max(1, max|g|)).
        arithmetic: "float64" or "mpmath-<digits>".
    """

    coefficients: np.ndarray
    degrees: tuple
    reference: np.ndarray
    reference_errors: np.ndarray
    levelled_error: float
    lower_bound: float
    upper_bound: float
    argmax: float
    iterations: int
    converged: bool
    rounding_limited: bool
    gap_history: tuple
    rounding_floor: float = 0.0
    arithmetic: str = "float64"

    @property
    def max_error(self) -> float:
        """The error of the returned polynomial on the set (= ``upper_bound``)."""
        return self.upper_bound

    @property
    def relative_gap(self) -> float:
        """(upper − lower)/upper; 0 when the error is exactly zero."""
        return 0.0 if self.upper_bound == 0.0 else (self.upper_bound - self.lower_bound) / self.upper_bound

    def certificate(self, tol: float) -> Certificate:
        """The common certificate: kind remez, value = upper bound, bound = lower bound.

        Certified when the run stopped by ``tol`` (the relative gap it met); a run stopped by the
        rounding floor proves the bounds only up to rounding and says so.
        """
        if self.converged and not self.rounding_limited:
            message = f"de la Vallée Poussin: relative gap {self.relative_gap:.1e} ≤ tol {tol:.0e}"
        else:
            message = (f"relative gap {self.relative_gap:.1e} not below tol {tol:.0e}: the error is at {self.arithmetic} "
                       f"rounding of the target's scale (floor {self.rounding_floor:.1e}); the bounds hold up to rounding")
        return Certificate(kind="remez", certified=bool(self.converged and not self.rounding_limited),
                           value=float(self.upper_bound), bound=float(self.lower_bound), message=message)


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


def levelled_solution(rows, values, arith: Arithmetic = FLOAT64, label: str = "target"):
    """Solve Σ_k c_k φ_k(u_i) + (−1)^i h = g(u_i) for (c, |h|) given the rows φ_k(u_i)."""
    n = rows.shape[1]
    alternating = arith.array([(-1) ** i for i in range(n + 1)]).reshape(-1, 1)
    matrix = np.concatenate([rows, alternating], axis=1)
    try:
        solution = arith.solve(matrix, values)
    except (np.linalg.LinAlgError, ZeroDivisionError):
        raise ComputationError(f"Remez for {label}: the levelled system is singular (reference points coincide)") from None
    if not all(np.isfinite(float(v)) for v in solution):
        raise ComputationError(f"Remez for {label}: the levelled system has a non-finite solution")
    return solution[:n], abs(solution[n])


def choose_reference(points, errors, size: int):
    """``size`` consecutive alternating extrema containing the global max of |e|.

    Of the windows that contain it, the one whose smallest |e| is largest (the best
    de la Vallée Poussin bound).
    """
    mags = magnitudes(errors)
    count = len(points)
    top = int(np.argmax(mags))
    best_start, best_low = None, -1.0
    for start in range(max(0, top - size + 1), min(top, count - size) + 1):
        low = float(np.min(mags[start:start + size]))
        if low > best_low:
            best_start, best_low = start, low
    return points[best_start:best_start + size], errors[best_start:best_start + size]


class _ContinuousSet:
    """The set of a :class:`RemezProblem`: a fixed grid of its pieces, refined extrema."""

    def __init__(self, problem: RemezProblem, arith: Arithmetic, points_per_piece: int | None, label: str):
        n = problem.size
        default = SMOOTH_POINTS if problem.smooth else GOLDEN_POINTS
        size = points_per_piece or max(default[0], default[1] * (n + 1 if problem.smooth else n))
        self.problem, self.arith, self.label = problem, arith, label
        grid, self.base_piece = dense_grid(problem.pieces, size, problem.breakpoints)
        self.base_u = arith.array(grid)
        with np.errstate(all="ignore"):
            self.base_g = problem.target(self.base_u)
            self.base_w = problem.weight(self.base_u)[0] if problem.weight is not None else None
        g_float = np.asarray(self.base_g, dtype=float)
        if not np.all(np.isfinite(g_float)):
            raise ComputationError(f"{label} is not finite on the approximation interval")
        self.scale = max(1.0, float(np.max(np.abs(g_float))))
        self.floor = arith.resolution * self.scale
        self.refine = refine_tolerance(max(float(b) - float(a) for a, b in problem.pieces), arith)

    def rows(self, reference):
        return self.problem.rows(reference)

    def target(self, reference):
        return self.problem.target(reference)

    def errors_at(self, coefficients, points):
        return self.problem.error(coefficients, points)

    def extrema(self, coefficients, reference):
        problem = self.problem
        u = np.concatenate([self.base_u, reference])
        piece = np.concatenate([self.base_piece, piece_of(reference, problem.pieces)])
        g = np.concatenate([self.base_g, problem.target(reference)])
        w = None if self.base_w is None else np.concatenate([self.base_w, problem.weight(reference)[0]])
        # Sorted and without duplicates: a repeated point would make a refinement bracket empty.
        _, first = np.unique(np.asarray(u, dtype=float), return_index=True)
        u, piece, g = u[first], piece[first], g[first]
        w = None if w is None else w[first]
        error = problem.error(coefficients, u, g, w)
        return alternating_extrema(problem, coefficients, u, error, piece, self.refine, self.arith)

    def start(self):
        """Alternating extrema of the discrete L2 fit on the grid: (reference or None, coef, max |error|).

        Uniform weights on Chebyshev-spaced points approximate the Chebyshev-weighted L2
        projection, a near-best start; its error changes sign at least n times (it is
        orthogonal to the n-dimensional space), so n + 1 alternating runs exist.
        """
        n = self.problem.size
        vander = self.problem.rows(self.base_u)
        coef = least_squares(vander, self.base_g)
        error = vander @ coef - self.base_g
        points, errors = alternating_extrema(self.problem, coef, self.base_u, error, self.base_piece, 0.0, self.arith)
        reference = choose_reference(points, errors, n + 1)[0] if points.size >= n + 1 else None
        argmax = float(self.base_u[int(np.argmax(np.abs(error)))])
        return reference, coef, float(np.max(np.abs(error))), argmax


def remez(problem: RemezProblem, reference=None, *, arithmetic: Arithmetic = FLOAT64, tol: float = 1e-9,
          max_iterations: int = 60, points_per_piece: int | None = None, label: str = "target") -> RemezResult:
    """Best uniform approximation of ``problem`` (weighted Chebyshev space on its pieces).

    Args:
        problem: the space, target and set (:class:`~.problem.RemezProblem`).
        reference: n + 1 increasing points of the set to start from; default: the
            alternating extrema of the discrete L2 fit (float64), else Chebyshev extrema
            spread over the pieces.
        arithmetic: float64 or mpmath (:class:`~.arithmetic.Arithmetic`).
        tol: stop when (upper − lower)/upper ≤ tol.
        max_iterations: levelled systems before giving up (ComputationError).
        points_per_piece: grid size per piece (default max(1024, 48·n) without derivatives,
            max(64, 16·(n + 1)) with them).
        label: how errors name the problem.

    Returns:
        :class:`RemezResult`. When g is in the space up to rounding (the L2 start is already at
        the floor) the start is returned with ``rounding_limited`` and no reference.

    Raises:
        ComputationError: no convergence within ``max_iterations``, a singular levelled
            system, fewer alternating extrema than n + 1, or a non-finite target.
    """
    n = problem.size
    if n == 0:
        raise ComputationError(f"Remez for {label} needs at least one basis function")
    arith = arithmetic
    with arith.context():
        space = _ContinuousSet(problem, arith, points_per_piece, label)
        if reference is None:
            if arith.is_float:
                reference, coef, start_error, argmax = space.start()
                if start_error <= space.floor:  # g is in the space up to rounding: no alternation to find
                    return RemezResult(coef, problem.degrees, np.empty(0), np.empty(0), 0.0, 0.0, start_error, argmax,
                                       0, True, True, (), space.floor, arith.name)
            if reference is None:  # fewer sign changes than expected (or mpmath): Chebyshev extrema
                reference = spread_reference(problem.pieces, n + 1)
        reference = arith.array(sorted(np.asarray(reference, dtype=object if not arith.is_float else float)))
        if len(reference) != n + 1:
            raise InputError(f"a Remez reference for {label} needs {n + 1} points, got {len(reference)}")
        return _exchange(space, problem.degrees, reference, n, arith, tol, max_iterations, label)


def _exchange(space, degrees, reference, n, arith, tol, max_iterations, label) -> RemezResult:
    floor = space.floor
    history: list[float] = []
    for iteration in range(1, max_iterations + 1):
        coef, level = levelled_solution(space.rows(reference), space.target(reference), arith, label)
        h = float(level)
        points, errors = space.extrema(coef, reference)
        mags = magnitudes(errors)
        upper = float(np.max(mags)) if mags.size else 0.0
        argmax = float(points[int(np.argmax(mags))]) if mags.size else float(reference[0])
        if len(points) < n + 1:
            if upper <= floor:  # g is (numerically) in the space: the error is rounding noise
                return RemezResult(coef, degrees, reference, space.errors_at(coef, reference), h, 0.0, upper, argmax,
                                   iteration, True, True, tuple(history + [1.0]), floor, arith.name)
            raise ComputationError(f"Remez for {label}: the error has only {len(points)} alternating extrema, "
                                   f"fewer than the {n + 1} needed")
        # Exchange rule of the second algorithm: only extrema with |e| ≥ |h| may enter, so the
        # levelled error grows monotonically (extrema of small side lobes would make it cycle).
        strong = mags >= h - max(floor, 4 * np.finfo(float).eps * h)
        strong_points, strong_errors = merge_same_sign(points[strong], errors[strong])
        if len(strong_points) >= n + 1:
            points, errors = strong_points, strong_errors
        new_reference, new_errors = choose_reference(points, errors, n + 1)
        lower = float(np.min(magnitudes(new_errors)))
        gap = (upper - lower) / upper if upper > 0 else 0.0
        history.append(gap)
        if upper - lower <= max(tol * upper, floor):
            # Stopped by the rounding floor rather than by tol: the gap is rounding noise.
            return RemezResult(coef, degrees, new_reference, new_errors, h, lower, upper, argmax, iteration, True,
                               upper - lower > tol * upper, tuple(history), floor, arith.name)
        reference = new_reference
    raise NotConverged(f"Remez for {label} did not converge in {max_iterations} iterations "
                           f"(relative gap {history[-1]:.1e} > tol {tol:.0e})")


# --------------------------------------------------------------------------------------
# A finite set: rows of a matrix
# --------------------------------------------------------------------------------------
class _DiscreteSet:
    """Rows i = 0..m−1 of ``matrix`` (columns φ_k at ordered points x_i) and values g_i."""

    def __init__(self, matrix, values, label: str):
        self.matrix = np.asarray(matrix, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.label = label
        self.index = np.arange(self.values.size, dtype=float)
        self.piece = np.zeros(self.values.size, dtype=int)
        self.scale = max(1.0, float(np.max(np.abs(self.values))))
        self.floor = FLOAT64.resolution * self.scale

    def rows(self, reference):
        return self.matrix[np.asarray(reference, dtype=int)]

    def target(self, reference):
        return self.values[np.asarray(reference, dtype=int)]

    def errors_at(self, coefficients, points):
        return self.rows(points) @ coefficients - self.target(points)

    def extrema(self, coefficients, reference):
        error = self.matrix @ coefficients - self.values
        return alternating_extrema(None, coefficients, self.index, error, self.piece, 0.0, FLOAT64)


def discrete_minimax(matrix, values, *, tol: float = 1e-9, max_iterations: int = 100,
                     label: str = "the discrete problem") -> RemezResult:
    """min_c max_i |(matrix·c − values)_i| by the same exchange, on the rows as the set.

    The rows are the points x_0 < … < x_{m−1} of a finite set in order, the columns basis
    functions φ_k(x_i) that form a Haar system on it (monomials t^k on distinct points;
    odd powers on t > 0; even powers on t ≥ 0; Chebyshev columns likewise), so every
    n × n minor of distinct rows is non-singular and the discrete optimum equioscillates on
    n + 1 rows. Rows where φ and g vanish together (t = 0 of an odd problem) never enter a
    reference. The reference, ``argmax`` and points of the result are row indices.

    Starts from the least-squares fit (LAPACK, since the columns need not be orthogonal),
    then exchanges whole sign runs of the error: no refinement, the set is finite.

    >>> t = np.linspace(-1.0, 1.0, 201)
    >>> result = discrete_minimax(t[:, None] ** np.arange(3), np.abs(t))
    >>> round(result.upper_bound, 6), result.converged       # |t| by a quadratic: 1/8
    (0.125, True)
    """
    space = _DiscreteSet(matrix, values, label)
    m, n = space.matrix.shape
    if n == 0 or m < n + 1:
        raise InputError(f"{label} needs at least one column and more rows than columns (got {m} × {n})")
    if not (np.all(np.isfinite(space.matrix)) and np.all(np.isfinite(space.values))):
        raise ComputationError(f"{label} has non-finite entries")
    coef = np.linalg.lstsq(space.matrix, space.values, rcond=None)[0]
    points, errors = space.extrema(coef, None)
    if points.size >= n + 1:
        reference = choose_reference(points, errors, n + 1)[0]
    else:
        reference = np.unique(np.round(np.linspace(0, m - 1, n + 1)))
    return _exchange(space, tuple(range(n)), reference, n, FLOAT64, tol, max_iterations, label)
