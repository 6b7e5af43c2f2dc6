"""One composite stage: the odd minimax approximation of sign on [−b, −a] ∪ [a, b].

For f = sign on [−b, −a] ∪ [a, b] (0 < a < b) and odd p of degree d = 2n − 1, p(x) = x·q(x²)
with q of degree n − 1, and e(−x) = −e(x): an alternation on [a, b] with n + 1 points mirrors
onto [−b, −a], giving 2n + 2 alternating points on the union, more than the d + 2 the full
degree-d space needs, so the odd minimax is also the unconstrained one (Lee, Lee, No, Kim,
eprint 2020/834).

The stage is solved by the project's Remez engine (:mod:`polyfit.solvers.remez`) in the
variable t = (2x² − a² − b²)/(b² − a²) ∈ [−1, 1], as the weighted problem

    minimise max_{t ∈ [−1, 1]} |x(t)·Σ_{k<n} c_k T_k(t) − 1|,   x(t) = √((a² + b²)/2 + t·(b² − a²)/2),

x·T_k being a Haar system (x > 0). t is linear in x², so the alternation points are
Chebyshev-like in t for any width of [a, b], and the narrow intervals [1 − δ, 1 + δ] of later
composite stages are as well conditioned as [ε, 1] (b² − a² is formed as (b − a)(b + a)). The
target and weight have derivatives, so the engine refines extrema by Illinois steps on e′.
q is then converted to monomial coefficients of x exactly (fractions) and rounded once.

Arithmetic: float64 first; ``precision="auto"`` redoes the exchange in mpmath (40 digits)
warm-started from the float64 reference when the error is below 1e-11 (where float64 cannot
resolve the equioscillation) or float64 fails. A stage whose error is below the arithmetic's
resolution cannot be certified and is refused (ComputationError naming the degree).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ...basis import chebyshev_extrema, exact, exact_chebyshev_to_monomial
from ...certificate import Certificate
from ...errors import ComputationError, InputError
from ...validate import check_stage_degree
from ..remez import Arithmetic, RemezProblem, RemezResult, remez
from ..remez.arithmetic import positive

AUTO_MPMATH_BELOW = 1e-11                # float64 errors below this are redone with mpmath
DEFAULT_DPS = 40
PRECISIONS = ("auto", "float64", "mpmath")


def _square_map(lo, hi):
    """(middle, half_width) of x² = middle + half_width·t; b² − a² as (b − a)(b + a), no cancellation."""
    return (lo * lo + hi * hi) / 2, (hi - lo) * (hi + lo) / 2


def _x_of_t(t, lo, hi):
    """x(t) = √(x²(t)) and dx/dt, with x² = lo² + w·(1 + t) for t ≤ 0 and hi² − w·(1 − t) above.

    (w = (hi² − lo²)/2.) Each side is formed from its own end, so x(−1) = lo holds to rounding
    even when lo² is below float64's resolution of hi² (ε = 2^−30 gives lo² ≈ 1e-18).
    """
    _, half_width = _square_map(lo, hi)
    upper_half = positive(t)
    x2 = np.where(upper_half, hi * hi - half_width * (1 - t), lo * lo + half_width * (1 + t))
    x = np.sqrt(x2)
    return x, half_width / (2 * x)


def odd_sign_problem(degree: int, lo, hi) -> RemezProblem:
    """Odd degree-``degree`` approximation of sign on [lo, hi] (and mirror), in the variable t.

    Basis x(t)·T_k(t), k = 0 … (degree − 1)/2, target 1 (see module docstring). ``lo``/``hi``
    may be mpmath numbers (the weight is then evaluated in mpmath).
    """
    n = (degree + 1) // 2

    def weight(t):
        return _x_of_t(t, lo, hi)

    return RemezProblem(_one, ((-1.0, 1.0),), tuple(range(n)), weight=weight, target_slope=_zero)


def full_sign_problem(degree: int, lo, hi) -> RemezProblem:
    """All polynomials of degree ``degree`` approximating sign on [−hi, −lo] ∪ [lo, hi].

    Basis T_k(u), u = x/hi, k = 0 … degree, on the two pieces [−1, −lo/hi] ∪ [lo/hi, 1]: the
    genuinely two-interval problem (used to check that the odd reduction is the unconstrained
    optimum, and to show the alternation across the gap). Reference points are in u.
    """
    ratio = lo / hi
    return RemezProblem(_sign, ((-1.0, -ratio), (ratio, 1.0)), tuple(range(degree + 1)), target_slope=_zero)


def _one(t):
    return t * 0 + 1


def _zero(t):
    return t * 0


def _sign(u):
    if np.asarray(u).dtype == object:
        return np.array([1 if v > 0 else -1 for v in u], dtype=object)
    return np.sign(u)


def reference_in_window(reference, lo: float, hi: float) -> np.ndarray:
    """Reference points x ∈ [lo, hi] as t(x²) ∈ [−1, 1], to warm-start a nearby interval."""
    middle, half_width = _square_map(lo, hi)
    x = np.asarray(reference, dtype=float)
    return np.clip((x * x - middle) / half_width, -1.0, 1.0)


def reference_from_window(t, lo: float, hi: float) -> np.ndarray:
    """Points t ∈ [−1, 1] as x ∈ [lo, hi] (ends pinned, increasing)."""
    x = _x_of_t(np.clip(np.asarray(t, dtype=float), -1.0, 1.0), lo, hi)[0]
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
        levelled_error: |h| of the last levelled system (a lower bound on the minimax error).
        lower_bound: min |e| on the final alternating reference (de la Vallée Poussin: ≤ the
            minimax error; the exchange stopped when error − lower_bound ≤ tol·error).
        image: (p(lo), max p): the image of [lo, hi]; the next stage is fitted on it.
        reference: the alternation points on [lo, hi] (mirror them for [−hi, −lo]).
        reference_errors: p − 1 at those points (alternating signs, |·| ≈ error).
        iterations, arithmetic: how the exchange ran.
        rounding_limited: the rounding floor, not tol, ended the exchange (the bounds hold up
            to rounding only).
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
    rounding_limited: bool = False
    tol: float = 1e-10
    lower_bound: float | None = None

    @property
    def relative_gap(self) -> float:
        """(error − levelled_error)/error."""
        return (self.error - self.levelled_error) / self.error if self.error else 0.0

    def common_certificate(self) -> Certificate:
        """The stage's certificate in the common shape (value = error, bound = lower bound)."""
        if self.arithmetic == "closed-form":
            return Certificate(kind="closed-form", certified=True, value=self.error, bound=self.levelled_error,
                               message="c·x with c = 2/(lo + hi) is the best linear odd stage")
        certified = not self.rounding_limited
        bound = self.levelled_error if self.lower_bound is None else self.lower_bound
        gap = (self.error - bound) / self.error if self.error else 0.0
        message = (f"de la Vallée Poussin: relative gap {gap:.1e} ≤ tol {self.tol:.0e}" if certified else
                   f"relative gap {gap:.1e} is at {self.arithmetic} rounding: the bounds hold up to rounding")
        return Certificate(kind="remez", certified=certified, value=self.error, bound=bound, message=message)

    def certificate(self) -> dict:
        """The common certificate (kind, certified, value, bound, gap, message) and the Remez details."""
        return {
            **self.common_certificate().to_dict(),
            "levelled_error": self.levelled_error,
            "max_error": self.error,
            "relative_gap": self.relative_gap,
            "alternation_points": len(self.reference),
            "reference": list(self.reference),
            "reference_errors": list(self.reference_errors),
            "iterations": self.iterations,
            "arithmetic": self.arithmetic,
        }


def exact_monomial_coefficients(cheb, lo, hi) -> list:
    """Monomial coefficients in x of x·Σ b_k T_k(t), t = (2x² − lo² − hi²)/(hi² − lo²), exactly.

    q(y) = Σ b_k T_k(t(y)) in y = x² by :func:`polyfit.basis.exact_chebyshev_to_monomial`
    (rational arithmetic on the float or mpf inputs), then p(x) = x·q(x²); round once later.
    """
    q = exact_chebyshev_to_monomial(cheb, (exact(lo) ** 2, exact(hi) ** 2))
    out = [Fraction(0)] * (2 * len(cheb))
    for i, c in enumerate(q):
        out[2 * i + 1] = c
    return out


def sign_stage(degree: int, lo: float, hi: float, *, reference=None, precision: str = "auto",
               tol: float = 1e-10, dps: int = DEFAULT_DPS, max_iterations: int = 60) -> SignStageFit:
    """Odd minimax polynomial of ``degree`` for sign on [−hi, −lo] ∪ [lo, hi] (0 < lo < hi).

    Args:
        precision: ``"float64"``, ``"mpmath"`` or ``"auto"`` (float64, redone in mpmath
            when the error level is below 1e-11 or float64 fails to converge).
        reference: optional warm start (degree//2 + 2 increasing points of [lo, hi]).
        max_iterations: exchange iterations allowed per arithmetic before giving up.

    Raises:
        ComputationError: the exchange did not converge; :class:`BelowResolution` (a
            ComputationError) when the error is below the arithmetic's resolution (the message
            names the degree).

    >>> fit = sign_stage(3, 0.5, 1.0)
    >>> round(fit.error, 6), fit.coefficients[0], len(fit.reference)
    (0.085955, 0.0, 3)
    """
    degree = check_stage_degree(degree)
    if precision not in PRECISIONS:
        raise InputError(f"precision {precision!r} is not allowed; allowed: {', '.join(PRECISIONS)}")
    if not (0 < lo < hi and math.isfinite(hi)):
        raise InputError(f"sign stage interval [{lo!r}, {hi!r}] must satisfy 0 < lo < hi")
    if degree == 1:
        # c·x on [lo, hi]: best c = 2/(lo + hi), error (hi − lo)/(hi + lo); no exchange needed.
        c = 2.0 / (lo + hi)
        err = (hi - lo) / (hi + lo)
        return SignStageFit(1, (lo, hi), (0.0, c), err, err, (c * lo, c * hi), (lo, hi), (-err, err), 0, "closed-form",
                            (Fraction(0), Fraction(c)))
    n = (degree + 1) // 2
    label = f"sign stage of degree {degree} on [{lo:.6g}, {hi:.6g}]"
    if reference is None:
        start = chebyshev_extrema((-1.0, 1.0), n + 1)   # Chebyshev–Lobatto in t, where the basis is well conditioned
    else:
        start = reference_in_window(reference, lo, hi)
    result = None
    failure = None
    if precision in ("auto", "float64"):
        try:
            result = _certified(remez(odd_sign_problem(degree, lo, hi), start, tol=tol, max_iterations=max_iterations,
                                      label=label), label)
        except ComputationError as exc:
            failure = exc
        if precision == "float64" and result is None:
            raise failure
    if precision == "mpmath" or (precision == "auto" and (result is None or result.max_error < AUTO_MPMATH_BELOW)):
        arith = Arithmetic(dps)
        with arith.context():
            import mpmath

            ref = start if result is None else [float(r) for r in result.reference]
            result = _certified(remez(odd_sign_problem(degree, mpmath.mpf(lo), mpmath.mpf(hi)), ref, arithmetic=arith,
                                      tol=tol, max_iterations=max_iterations, label=label), label)
    return _stage_fit(degree, lo, hi, result, tol)


class BelowResolution(ComputationError):
    """A stage more accurate than its arithmetic resolves: its error is below the rounding floor,
    or (:func:`polyfit.solvers.composite.epsilon.sign_stages`) the previous stage's image is a
    single float64 value. Nothing can be certified, but the composite is not short of accuracy."""


def _certified(result: RemezResult, label: str) -> RemezResult:
    """``result`` unless its lower bound is lost in rounding (then nothing is certified)."""
    if result.lower_bound <= result.rounding_floor:
        raise BelowResolution(f"Remez for {label}: the minimax error ({result.upper_bound:.1e}) is below "
                               f"{result.arithmetic}'s resolution ({result.rounding_floor:.0e}): no alternation "
                               "can be certified")
    return result


def _stage_fit(degree, lo, hi, result: RemezResult, tol: float) -> SignStageFit:
    exact_coefficients = exact_monomial_coefficients(result.coefficients, lo, hi)
    mono = tuple(float(c) for c in exact_coefficients)
    arith = Arithmetic(None if result.arithmetic == "float64" else int(result.arithmetic.split("-")[1]))
    with arith.context():
        # p(lo) = lo·q(t = −1) = lo·Σ (−1)^k b_k, evaluated directly (not 1 + e), so it keeps its
        # relative accuracy when tiny
        q_low = sum(c if k % 2 == 0 else -c for k, c in enumerate(result.coefficients))
        low = float(arith.array([lo])[0] * q_low)
    x_reference = _x_of_t(np.asarray(result.reference, dtype=float), float(lo), float(hi))[0]
    return SignStageFit(
        degree=degree, interval=(float(lo), float(hi)), coefficients=mono, error=result.max_error,
        levelled_error=float(result.levelled_error), lower_bound=float(result.lower_bound), image=(low, 1.0 + result.max_error),   # max p on [lo, hi] = 1 + E
        reference=tuple(float(r) for r in x_reference),
        reference_errors=tuple(float(v) for v in result.reference_errors),
        iterations=result.iterations, arithmetic=result.arithmetic, exact=tuple(exact_coefficients),
        rounding_limited=bool(result.rounding_limited), tol=tol,
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
