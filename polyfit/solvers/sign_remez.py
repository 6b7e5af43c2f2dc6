"""Multi-interval Remez exchange, and the odd minimax approximation of sign (Lee et al.).

Problem. Given a linear space spanned by basis functions φ_0 … φ_{m−1} (a Haar system on
the domain) and a target f on a union of disjoint closed intervals D = ∪_j [a_j, b_j],
find p = Σ c_k φ_k minimising E = max_{x∈D} |p(x) − f(x)|.

Chebyshev's alternation theorem (valid on any compact set for a Haar system): p is optimal
iff e = p − f attains ±E with alternating signs at m + 1 points of D. The points may lie
in different intervals; the alternation runs across the gaps.

Algorithm (Remez exchange, with the extreme-point selection of Lee, Lee, No, Kim,
eprint 2020/834, §4):

1. Reference r_0 < … < r_m in D. Solve the levelled system
       Σ_k c_k φ_k(r_i) + (−1)^i h = f(r_i),   i = 0 … m.
2. Extrema of e on every interval: the interval ends and the zeros of e′, found by
   sampling each gap between reference points and bisecting the sign changes of e′.
3. New reference from these candidates: among consecutive candidates of one sign keep the
   largest |e|; then, while more than m + 1 remain, drop the smallest |e| (an end point
   alone, or an interior point with its smaller neighbour, which keeps the alternation).
   The global maximum always survives.
4. Stop when (max|e| − |h|) ≤ tol·|h| + noise, where noise is the arithmetic's rounding
   floor; then E = max|e| and |h| ≤ E* ≤ E brackets the true minimax error E* (de la
   Vallée Poussin), which is the certificate returned.

Arithmetic: float64 with numpy, or mpmath (``dps`` decimal digits, object arrays and
``mpmath.lu_solve``) when the error level is below what float64 resolves (E ≲ 1e-11).

Odd sign approximation. For f = sign on [−b, −a] ∪ [a, b] (0 < a < b) and odd p of degree
d = 2n − 1, p(x) = x·q(x²) with q of degree n − 1, and e(−x) = −e(x): the alternation on
[a, b] with n + 1 points mirrors onto [−b, −a], giving 2n + 2 alternating points on D,
more than the d + 2 the full degree-d space needs (so the odd minimax is also the
unconstrained one). We solve on [a, b] with the well-conditioned basis
    φ_k(x) = x·T_k(t),   t = (2x² − a² − b²)/(b² − a²)   (k = 0 … n − 1),
whose columns stay bounded by b for any width of [a, b] (so narrow intervals [1 − δ, 1 + δ]
of later composite stages are as well conditioned as [ε, 1]), then convert q to monomial
coefficients exactly (fractions) and round once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..errors import ComputationError, InputError
from ..problem import chebyshev_extrema

FLOAT_NOISE = 64 * np.finfo(float).eps   # rounding floor of e in float64, relative to |f| ≈ 1
AUTO_MPMATH_BELOW = 1e-11                # float64 levels below this are redone with mpmath
DEFAULT_DPS = 40


# --------------------------------------------------------------------------------------
# Arithmetic: float64 or mpmath object arrays
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Arithmetic:
    """float64 (``dps`` None) or mpmath with ``dps`` decimal digits."""

    dps: int | None = None

    @property
    def name(self) -> str:
        return "float64" if self.dps is None else f"mpmath-{self.dps}"

    @property
    def noise(self) -> float:
        return FLOAT_NOISE if self.dps is None else 10.0 ** (-(self.dps - 6))

    def array(self, values):
        if self.dps is None:
            return np.asarray(values, dtype=float)
        import mpmath

        with mpmath.workdps(self.dps):
            return np.array([mpmath.mpf(v) for v in np.ravel(np.asarray(values, dtype=object))], dtype=object)

    def solve(self, matrix, rhs):
        if self.dps is None:
            return np.linalg.solve(matrix, rhs)
        import mpmath

        with mpmath.workdps(self.dps):
            sol = mpmath.lu_solve(mpmath.matrix(matrix.tolist()), mpmath.matrix(list(rhs)))
            return np.array([sol[i] for i in range(len(rhs))], dtype=object)

    def context(self):
        """Context manager setting mpmath's precision (a no-op for float64)."""
        if self.dps is None:
            import contextlib

            return contextlib.nullcontext()
        import mpmath

        return mpmath.workdps(self.dps)


def chebyshev_columns(t, count: int):
    """[T_0(t), …, T_{count−1}(t)] and their derivatives dT_k/dt, as lists of arrays.

    Three-term recurrences T_{k+1} = 2tT_k − T_{k−1}, T′_{k+1} = 2T_k + 2tT′_k − T′_{k−1};
    they work for float arrays and for mpmath object arrays alike.
    """
    one = t * 0 + 1
    zero = t * 0
    values, slopes = [one], [zero]
    if count > 1:
        values.append(t)
        slopes.append(one)
    for k in range(1, count - 1):
        values.append(2 * t * values[k] - values[k - 1])
        slopes.append(2 * values[k] + 2 * t * slopes[k] - slopes[k - 1])
    return values[:count], slopes[:count]


# --------------------------------------------------------------------------------------
# The general multi-interval exchange
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RemezProblem:
    """Minimax problem on a union of intervals.

    Attributes:
        columns: ``columns(x) -> (Φ, Φ′)``, matrices (len(x) × size) of the basis and its
            derivative at the points x.
        target: ``target(x) -> (f, f′)`` arrays.
        intervals: sorted disjoint (lo, hi) pairs.
        size: number of basis functions m (the reference has m + 1 points).
    """

    columns: object
    target: object
    intervals: tuple
    size: int
    evaluate: object = None   # optional fast float64 ``evaluate(c, x) -> (e, e′)`` (Clenshaw)


@dataclass(frozen=True)
class RemezResult:
    """Solution and certificate: |levelled_error| ≤ minimax error ≤ max_error."""

    coefficients: np.ndarray
    max_error: float
    levelled_error: float
    reference: np.ndarray
    reference_errors: np.ndarray
    iterations: int
    arithmetic: str

    @property
    def relative_gap(self) -> float:
        return (self.max_error - self.levelled_error) / self.max_error if self.max_error else 0.0


def _error(problem: RemezProblem, coefficients, x):
    if problem.evaluate is not None and x.dtype != object:
        return problem.evaluate(coefficients, x)
    phi, dphi = problem.columns(x)
    f, df = problem.target(x)
    return phi.dot(coefficients) - f, dphi.dot(coefficients) - df


def _positive(values, arith: Arithmetic) -> np.ndarray:
    return values > 0 if arith.dps is None else np.array([v > 0 for v in values], dtype=bool)


def _slope_zeros(problem, coefficients, left, right, f_left, f_right, arith: Arithmetic):
    """Zeros of e′ in the brackets [left, right] (sign change), by vectorised Illinois steps.

    Illinois (regula falsi halving the stale end's value) converges superlinearly, so a
    couple of dozen steps reach the arithmetic's precision where bisection needs ~50 (float64).
    """
    if len(left) == 0:
        return left
    a, b, fa, fb = left.copy(), right.copy(), f_left.copy(), f_right.copy()
    side = np.zeros(len(a), dtype=int)
    steps = 40 if arith.dps is None else 12 + arith.dps
    for _ in range(steps):
        denominator = fb - fa
        ok = _positive(abs(denominator), arith)
        c = np.where(ok, (a * fb - b * fa) / np.where(ok, denominator, 1), (a + b) / 2)
        c = np.where(_positive(c - a, arith) & _positive(b - c, arith), c, (a + b) / 2)
        _, fc = _error(problem, coefficients, c)
        with_a = _positive(fc, arith) == _positive(fa, arith)
        a, fa = np.where(with_a, c, a), np.where(with_a, fc, fa)
        b, fb = np.where(with_a, b, c), np.where(with_a, fb, fc)
        fb = np.where(with_a & (side == 1), fb / 2, fb)
        fa = np.where(~with_a & (side == -1), fa / 2, fa)
        side = np.where(with_a, 1, -1)
        width = b - a
        if arith.dps is None:
            if np.all(width <= 4 * np.finfo(float).eps * np.maximum(abs(a), abs(b))):
                break
        elif all(w <= abs(x) * arith.noise for w, x in zip(width, b)):
            break
    return (a + b) / 2


def _candidates(problem: RemezProblem, coefficients, reference, arith: Arithmetic, samples: int):
    """Interval ends, zeros of e′ (local extrema) and the old reference points."""
    points = []
    for lo, hi in problem.intervals:
        inside = [r for r in reference if lo < r < hi]
        knots = [lo, *inside, hi]
        grid = [lo]
        for left, right in zip(knots[:-1], knots[1:]):
            step = (right - left) / samples
            grid.extend(left + step * j for j in range(1, samples))
            grid.append(right)
        grid = arith.array(grid)
        _, slope = _error(problem, coefficients, grid)
        positive = _positive(slope, arith)
        change = np.nonzero(positive[:-1] != positive[1:])[0]
        roots = _slope_zeros(problem, coefficients, grid[change], grid[change + 1],
                             slope[change], slope[change + 1], arith)
        points.extend([lo, hi])
        points.extend(list(roots))
        points.extend(inside)
    points = sorted(set(points))
    x = arith.array(points)
    e, _ = _error(problem, coefficients, x)
    return x, e


def select_alternating(x, e, count: int):
    """Indices of ``count`` alternating-sign points of largest |e| (Lee et al.'s rules).

    Returns None when fewer than ``count`` alternating points exist.
    """
    runs: list[int] = []
    for i in range(len(x)):
        if runs and (e[i] >= 0) == (e[runs[-1]] >= 0):
            if abs(e[i]) > abs(e[runs[-1]]):
                runs[-1] = i
        else:
            runs.append(i)
    if len(runs) < count:
        return None
    while len(runs) > count:
        mags = [abs(e[i]) for i in runs]
        j = int(np.argmin(mags))
        if j == 0 or j == len(runs) - 1:
            runs.pop(j)
        elif len(runs) - count >= 2:
            k = j - 1 if mags[j - 1] < mags[j + 1] else j + 1
            for idx in sorted((j, k), reverse=True):
                runs.pop(idx)
        else:  # one too many and the smallest is interior: drop the smaller end
            runs.pop(0 if mags[0] < mags[-1] else len(runs) - 1)
    return runs


def remez(problem: RemezProblem, reference, *, arithmetic: Arithmetic = Arithmetic(), tol: float = 1e-10,
          max_iterations: int = 60, samples: int = 12) -> RemezResult:
    """Run the exchange from ``reference`` (size + 1 increasing points of the domain).

    Raises:
        ComputationError: no convergence within ``max_iterations``, or a singular system.
    """
    arith = arithmetic
    m = problem.size
    with arith.context():
        ref = arith.array(sorted(reference))
        if len(ref) != m + 1:
            raise InputError(f"a reference needs {m + 1} points, got {len(ref)}")
        signs = arith.array([(-1) ** i for i in range(m + 1)])
        for iteration in range(1, max_iterations + 1):
            phi, _ = problem.columns(ref)
            f, _ = problem.target(ref)
            matrix = np.concatenate([phi, signs.reshape(-1, 1)], axis=1)
            try:
                sol = arith.solve(matrix, f)
            except (np.linalg.LinAlgError, ZeroDivisionError) as exc:
                raise ComputationError(f"Remez system singular at iteration {iteration}: {exc}") from None
            coefficients, level = sol[:m], abs(sol[m])
            if not all(math.isfinite(float(c)) for c in coefficients):
                raise ComputationError(f"Remez produced non-finite coefficients at iteration {iteration}")
            x, e = _candidates(problem, coefficients, ref, arith, samples)
            worst = max(abs(v) for v in e)
            picked = select_alternating(x, e, m + 1)
            if picked is None:
                raise ComputationError(f"Remez lost the alternation at iteration {iteration} "
                                       f"(fewer than {m + 1} sign changes of the error)")
            if worst - level <= tol * level + arith.noise:
                return RemezResult(coefficients=coefficients, max_error=float(worst), levelled_error=float(level),
                                   reference=x[picked], reference_errors=e[picked], iterations=iteration,
                                   arithmetic=arith.name)
            ref = x[picked]
    raise ComputationError(f"Remez did not converge in {max_iterations} iterations "
                           f"(levelled error {float(level):.3e}, max error {float(worst):.3e})")


# --------------------------------------------------------------------------------------
# Odd approximation of sign on [-b, -a] ∪ [a, b]
# --------------------------------------------------------------------------------------
def odd_sign_problem(degree: int, lo, hi) -> RemezProblem:
    """Odd degree-``degree`` approximation of 1 on [lo, hi] in the basis x·T_k(t(x²))."""
    n = (degree + 1) // 2
    lo2, hi2 = lo * lo, hi * hi
    width = hi2 - lo2

    def columns(x):
        t = (2 * x * x - lo2 - hi2) / width
        values, slopes = chebyshev_columns(t, n)
        phi = np.stack([x * v for v in values], axis=1)
        # d/dx [x T_k(t)] = T_k(t) + x T_k′(t) · 4x / width
        dphi = np.stack([v + x * s * (4 * x / width) for v, s in zip(values, slopes)], axis=1)
        return phi, dphi

    def target(x):
        return x * 0 + 1, x * 0

    def evaluate(c, x):
        from numpy.polynomial import chebyshev as C

        t = (2 * x * x - lo2 - hi2) / width
        q = C.chebval(t, c)
        dq = C.chebval(t, C.chebder(c)) if len(c) > 1 else 0 * t
        return x * q - 1, q + x * dq * (4 * x / width)

    fast = evaluate if isinstance(lo, (float, int, np.floating)) else None  # mpmath bounds: no float64 shortcut
    return RemezProblem(columns, target, ((lo, hi),), n, fast)


def full_sign_problem(degree: int, lo, hi) -> RemezProblem:
    """All polynomials of degree ``degree`` approximating sign on [−hi, −lo] ∪ [lo, hi].

    Basis T_k(x/hi), k = 0 … degree: the genuinely two-interval problem (used to check that
    the odd reduction is the unconstrained optimum, and to show the alternation across the gap).
    """
    def columns(x):
        values, slopes = chebyshev_columns(x / hi, degree + 1)
        return np.stack(values, axis=1), np.stack([s / hi for s in slopes], axis=1)

    def target(x):
        return np.array([1 if v > 0 else -1 for v in x], dtype=x.dtype) if x.dtype == object else np.sign(x), x * 0

    def evaluate(c, x):
        from numpy.polynomial import chebyshev as C

        return C.chebval(x / hi, c) - np.sign(x), C.chebval(x / hi, C.chebder(c)) / hi

    fast = evaluate if isinstance(hi, (float, int, np.floating)) else None
    return RemezProblem(columns, target, ((-hi, -lo), (lo, hi)), degree + 1, fast)


def reference_in_window(reference, lo: float, hi: float) -> np.ndarray:
    """Reference points as t(x²) ∈ [−1, 1], to warm-start a nearby interval."""
    x = np.asarray(reference, dtype=float)
    return (2 * x * x - lo * lo - hi * hi) / (hi * hi - lo * lo)


def reference_from_window(t, lo: float, hi: float) -> np.ndarray:
    y = (np.asarray(t, dtype=float) * (hi * hi - lo * lo) + lo * lo + hi * hi) / 2
    x = np.sqrt(np.clip(y, lo * lo, hi * hi))
    x[0], x[-1] = lo, hi
    return np.maximum.accumulate(x)


@dataclass(frozen=True)
class SignStageFit:
    """The odd minimax approximation of sign on [−hi, −lo] ∪ [lo, hi], with its certificate.

    Attributes:
        degree: odd degree d.
        interval: (lo, hi), the positive half of the domain.
        coefficients: monomial coefficients c_0 … c_d (even ones zero), lowest first.
        exact: the same coefficients as Fractions, before rounding (for exact basis changes).
        error: max |p(x) − 1| on [lo, hi] (= max |p − sign| on the two intervals).
        levelled_error: |h| of the last levelled system (lower bound on the minimax error).
        image: (p(lo), max p): the image of [lo, hi]; the next stage is fitted on it.
        reference: the alternation points on [lo, hi] (mirror them for [−hi, −lo]).
        reference_errors: p − 1 at those points (alternating signs, |·| ≈ error).
        iterations, arithmetic: how the exchange ran.
    """

    degree: int
    interval: tuple
    coefficients: tuple
    error: float
    levelled_error: float
    image: tuple
    reference: tuple
    reference_errors: tuple
    iterations: int
    arithmetic: str
    exact: tuple = ()

    def certificate(self) -> dict:
        return {
            "levelled_error": self.levelled_error,
            "max_error": self.error,
            "relative_gap": (self.error - self.levelled_error) / self.error if self.error else 0.0,
            "alternation_points": len(self.reference),
            "reference": list(self.reference),
            "reference_errors": list(self.reference_errors),
            "iterations": self.iterations,
            "arithmetic": self.arithmetic,
        }


def exact_monomial_coefficients(cheb, lo, hi) -> list:
    """Monomial coefficients in x of x·Σ b_k T_k(t), t = (2x² − lo² − hi²)/(hi² − lo²).

    Exact rational arithmetic (Fractions) on the float (or mpf) inputs; round once later.
    """
    def exact(v):
        return Fraction(str(v)) if not isinstance(v, float) else Fraction(v)

    lo2, hi2 = exact(lo) ** 2, exact(hi) ** 2
    scale, shift = 2 / (hi2 - lo2), -(lo2 + hi2) / (hi2 - lo2)   # t = scale·y + shift
    n = len(cheb)
    t_poly = [shift, scale]
    # T_k(t(y)) as polynomials in y
    prev, cur = [Fraction(1)], list(t_poly)
    q = [exact(cheb[0]) * c for c in prev] + [Fraction(0)] * (n - 1)
    if n > 1:
        for i, c in enumerate(cur):
            q[i] += exact(cheb[1]) * c
    for k in range(2, n):
        nxt = [Fraction(0)] * (k + 1)
        for i, c in enumerate(cur):
            nxt[i] += 2 * shift * c
            nxt[i + 1] += 2 * scale * c
        for i, c in enumerate(prev):
            nxt[i] -= c
        prev, cur = cur, nxt
        for i, c in enumerate(cur):
            q[i] += exact(cheb[k]) * c
    out = [Fraction(0)] * (2 * n)
    for i, c in enumerate(q):
        out[2 * i + 1] = c
    return out


def exact_chebyshev_coefficients(monomial, half_width) -> list:
    """Chebyshev coefficients over [−U, U] (U = ``half_width``) of Σ c_k x^k, exactly.

    x = U·v and v^k = 2^(1−k) Σ_j C(k, j) T_{k−2j}(v) (the j = k/2 term halved).
    """
    u = Fraction(half_width)
    out = [Fraction(0)] * len(monomial)
    for k, c in enumerate(monomial):
        if c == 0:
            continue
        scaled = Fraction(c) * u ** k
        for j in range(k // 2 + 1):
            term = scaled * math.comb(k, j) / Fraction(2) ** (k - 1) if k else scaled
            if k and 2 * j == k:
                term /= 2
            out[k - 2 * j] += term
    return out


def _check_degree(degree) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1 or degree % 2 == 0:
        raise InputError(f"stage degree {degree!r} must be an odd positive integer (1, 3, 5, …)")
    return int(degree)


def sign_stage(degree: int, lo: float, hi: float, *, reference=None, precision: str = "auto",
               tol: float = 1e-10, dps: int = DEFAULT_DPS, max_iterations: int = 60) -> SignStageFit:
    """Odd minimax polynomial of ``degree`` for sign on [−hi, −lo] ∪ [lo, hi] (0 < lo < hi).

    Args:
        precision: ``"float64"``, ``"mpmath"`` or ``"auto"`` (float64, redone in mpmath
            when the error level is below 1e-11 or float64 fails to converge).
        reference: optional warm start (degree//2 + 2 increasing points of [lo, hi]).
        max_iterations: exchange iterations allowed per arithmetic before giving up.

    Raises:
        ComputationError: the exchange did not converge (message names the degree).

    >>> fit = sign_stage(3, 0.5, 1.0)
    >>> round(fit.error, 6), fit.coefficients[0], len(fit.reference)
    (0.085955, 0.0, 3)
    """
    degree = _check_degree(degree)
    if precision not in ("auto", "float64", "mpmath"):
        raise InputError(f"precision {precision!r} is not allowed; allowed: auto, float64, mpmath")
    if not (0 < lo < hi and math.isfinite(hi)):
        raise InputError(f"sign stage interval [{lo!r}, {hi!r}] must satisfy 0 < lo < hi")
    if degree == 1:
        # c·x on [lo, hi]: best c = 2/(lo + hi), error (hi − lo)/(hi + lo); no exchange needed.
        c = 2.0 / (lo + hi)
        err = (hi - lo) / (hi + lo)
        return SignStageFit(1, (lo, hi), (0.0, c), err, err, (c * lo, c * hi), (lo, hi), (-err, err), 0, "closed-form",
                            (Fraction(0), Fraction(c)))
    n = (degree + 1) // 2
    if reference is None:
        # Chebyshev–Lobatto points in t (i.e. in x²), where the basis is well conditioned
        start = reference_from_window(chebyshev_extrema((-1.0, 1.0), n + 1), lo, hi)
    else:
        start = np.asarray(reference, dtype=float)
    result = None
    failure = None
    if precision in ("auto", "float64"):
        try:
            result = remez(odd_sign_problem(degree, lo, hi), start, tol=tol, max_iterations=max_iterations)
        except ComputationError as exc:
            failure = exc
        if precision == "float64" and result is None:
            raise ComputationError(f"sign stage of degree {degree} on [{lo:.6g}, {hi:.6g}]: {failure}")
    if precision == "mpmath" or (precision == "auto" and (result is None or result.max_error < AUTO_MPMATH_BELOW)):
        arith = Arithmetic(dps)
        with arith.context():
            import mpmath

            mlo, mhi = mpmath.mpf(lo), mpmath.mpf(hi)
            ref = start if result is None else [float(r) for r in result.reference]
            try:
                result = remez(odd_sign_problem(degree, mlo, mhi), ref, arithmetic=arith, tol=tol,
                               max_iterations=max_iterations)
            except ComputationError as exc:
                raise ComputationError(f"sign stage of degree {degree} on [{lo:.6g}, {hi:.6g}]: {exc}") from None
    return _stage_fit(degree, lo, hi, result)


def _stage_fit(degree, lo, hi, result: RemezResult) -> SignStageFit:
    exact = exact_monomial_coefficients(result.coefficients, lo, hi)
    mono = tuple(float(c) for c in exact)
    problem = odd_sign_problem(degree, lo, hi) if result.arithmetic == "float64" else None
    if problem is None:
        import mpmath

        with mpmath.workdps(DEFAULT_DPS):
            problem = odd_sign_problem(degree, mpmath.mpf(lo), mpmath.mpf(hi))
            ends = np.array([mpmath.mpf(lo)], dtype=object)
            low = float(problem.columns(ends)[0].dot(result.coefficients)[0])
    else:
        low = float(problem.columns(np.array([lo]))[0].dot(result.coefficients)[0])
    # low = p(lo) evaluated directly (not 1 + e), so it keeps its relative accuracy when tiny
    high = 1.0 + result.max_error                  # max p on [lo, hi]
    return SignStageFit(
        degree=degree, interval=(float(lo), float(hi)), coefficients=mono, error=result.max_error,
        levelled_error=result.levelled_error, image=(low, high),
        reference=tuple(float(r) for r in result.reference),
        reference_errors=tuple(float(v) for v in result.reference_errors),
        iterations=result.iterations, arithmetic=result.arithmetic, exact=tuple(exact),
    )


def interval_from_logit(z: float) -> tuple[float, float]:
    """[lo, hi] = [1 − τ, 1 + τ] with lo/hi = ε = e^z/(1 + e^z), τ = 1/(1 + 2e^z).

    Stable at both ends: lo = 2r/(1 + 2r), hi = 2(1 + r)/(1 + 2r), r = e^z.
    """
    r = math.exp(z)
    return 2 * r / (1 + 2 * r), 2 * (1 + r) / (1 + 2 * r)


def next_logit(fit: SignStageFit) -> float:
    """logit of the next stage's ratio ε′ = lo′/hi′ of the image interval.

    ε′/(1 − ε′) = lo′/(hi′ − lo′) with hi′ − lo′ = error + (1 − p(lo)), both small
    numbers computed directly, so the logit is accurate at both ends.
    """
    low = fit.image[0]
    spread = fit.error + (1.0 - low) if low > 0.5 else fit.image[1] - low
    return math.log(low) - math.log(spread)
