"""The quantized L∞ problem written down once: grid, parity class, exact Chebyshev coordinates.

Problem (what ``method="minimax"`` with ``bits=F`` solves):

    minimise  max_i |p(t_i) − f(x_i)|,   p(t) = Σ_k a_k 2^-F t^k,  a_k integers,  |a_k| ≤ 2^53,

on the grid x_i of the problem (the 10001-point metric grid by default), t_i = s·x_i. The bound
2^53 keeps every coefficient a_k·2^-F exact in float64 (the artifact's contract).

**Parity class.** When f − shift is odd or even, shift·2^F is an integer and the grid is
symmetric, p is restricted to shift + odd powers (or even powers) and only t ≥ 0 is kept.

**Chebyshev coordinates, exactly.** With u the window variable of the t-interval and M the
monomial→Chebyshev matrix (:func:`polyfit.basis.exact_monomial_to_chebyshev_matrix`: the
interval's floats are dyadic rationals), the error of integers a is

    e_i(a) = Σ_j c_j T_j(u_i) − g_i,    c = 2^-F·M a,    g_i = f(x_i) − (fixed part),

where c is computed in integer arithmetic and rounded once, and |T_j| ≤ 1: the error is accurate
to float64's rounding of f, however large the monomial integers are (Horner in float64 on the
same integers can lose many digits at high degree). Every solver step evaluates errors this way.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np

from ... import basis as _basis
from ...errors import ComputationError, InputError
from ...metrics import DEFAULT_GRID_POINTS
from ...problem import FitProblem

#: |a_k| ≤ 2^53: every coefficient a_k·2^-F is then exactly a float64.
MAX_INTEGER = 2**53
LINF_DEFAULT_POINTS = DEFAULT_GRID_POINTS  # the metric grid, so the optimum is the reported max error


@dataclass(frozen=True)
class LinfSetup:
    """The stated problem with everything the solver steps share (see module docstring).

    ``powers``: exponents k of the free integers (n = len(powers)); ``fixed_a0``: a_0 fixed by
    odd parity (else 0); ``keep``: grid points carried (t ≥ 0 with parity); ``vander``:
    T_j(u_i) for j in ``powers`` at the kept points; ``basis_int`` / 2^``denominator_bits``:
    the exact matrix B = M[powers, powers] (integer units → Chebyshev coordinates).
    """

    problem: FitProblem
    x: np.ndarray
    f: np.ndarray
    t: np.ndarray
    parity: str | None
    shift: float
    powers: np.ndarray
    fixed_a0: int
    keep: np.ndarray
    interval: tuple[float, float]
    vander: np.ndarray
    g: np.ndarray
    basis_int: np.ndarray
    denominator_bits: int

    @property
    def frac_bits(self) -> int:
        return self.problem.frac_bits

    @property
    def n(self) -> int:
        return len(self.powers)

    def chebyshev_coordinates(self, integers) -> np.ndarray:
        """c = 2^-F·B·a in value units, computed exactly and rounded once per entry."""
        a = np.array([int(v) for v in integers], dtype=object)
        num = self.basis_int.dot(a)
        shift = self.denominator_bits + self.frac_bits
        return np.array([int(v) / (1 << shift) for v in num])

    def errors(self, integers) -> np.ndarray:
        """e_i = p(t_i) − f(x_i) at the kept points for the free integers ``integers``."""
        return self.vander @ self.chebyshev_coordinates(integers) - self.g

    def max_error(self, integers) -> float:
        return float(np.max(np.abs(self.errors(integers))))

    def basis_times(self, U) -> np.ndarray:
        """B·U (Chebyshev coordinates of the columns of an integer matrix U), exact then rounded.

        B·U has short columns when U is an LLL transform while B and U have large entries, so a
        float product would cancel catastrophically; the integer product does not.
        """
        Uo = np.array([[int(v) for v in row] for row in np.asarray(U)], dtype=object)
        num = self.basis_int.dot(Uo)
        scale = 1 << self.denominator_bits
        return np.array([[int(v) / scale for v in row] for row in num], dtype=float)

    def real_integers(self, target_coordinates) -> list[Fraction]:
        """a with B·a = ``target_coordinates`` (integer units), exactly (back substitution)."""
        n = self.n
        B = self.basis_int
        y = [Fraction(float(v)) * (1 << self.denominator_bits) for v in target_coordinates]
        a = [Fraction(0)] * n
        for j in range(n - 1, -1, -1):
            acc = y[j] - sum((B[j, k] * a[k] for k in range(j + 1, n)), Fraction(0))
            a[j] = acc / int(B[j, j])
        return a

    def full_integers(self, integers) -> list[int]:
        """The d + 1 integers a_0..a_d of the stage (parity zeros and the fixed a_0 filled in)."""
        out = [0] * (self.problem.degree + 1)
        for k, v in zip(self.powers.tolist(), integers):
            out[k] = int(v)
        if self.parity == "odd":
            out[0] = self.fixed_a0
        return out

    def full_grid_error(self, integers) -> float:
        """max |p − f| over the whole grid (both halves with parity), exact coordinates."""
        c = np.zeros(self.problem.degree + 1)
        c[self.powers] = self.chebyshev_coordinates(integers)
        c[0] += self.fixed_a0 * 2.0 ** -self.frac_bits if self.parity == "odd" else 0.0
        u = _basis.to_window(self.t, self.interval)
        return float(np.max(np.abs(np.polynomial.chebyshev.chebval(u, c) - self.f)))


def build_setup(problem: FitProblem) -> LinfSetup:
    """Grid, targets, parity class and exact Chebyshev basis of ``problem`` (bits set, norm linf)."""
    if problem.weight is not None:
        raise InputError("weight is for L2 fits; method minimax with bits minimises the plain max error")
    if problem.points is None and problem.samples is None:
        problem = replace(problem, points=LINF_DEFAULT_POINTS)
    F = problem.frac_bits
    x = np.sort(problem.grid_x())  # sorted: the alternation bound and the exchange walk neighbours
    f = problem.target(x)
    if not np.all(np.isfinite(f)):
        raise ComputationError(f"target {problem.target.name!r} is not finite on the grid of {problem.domain}")
    t = x * problem.input_scale
    parity, shift = parity_reduction(problem, x)
    d = problem.degree
    if parity == "odd":
        powers = np.arange(1, d + 1, 2)
    elif parity == "even":
        powers = np.arange(0, d + 1, 2)
    else:
        powers = np.arange(d + 1)
    fixed_a0 = int(round(shift * 2.0**F)) if parity == "odd" else 0
    keep = t >= 0 if parity else np.ones_like(t, dtype=bool)
    lo, hi = problem.t_domain
    interval = (min(lo, float(np.min(t))), max(hi, float(np.max(t))))
    if parity:  # keep the interval symmetric so that M maps odd (even) powers to odd (even) T_j
        half = max(abs(interval[0]), abs(interval[1]))
        interval = (-half, half)
    if not interval[0] < interval[1]:
        raise InputError("the grid spans a single point in t; give a domain with lo < hi")
    u = _basis.to_window(t[keep], interval)
    vander = np.polynomial.chebyshev.chebvander(u, d)[:, powers]
    g = f[keep] - fixed_a0 * 2.0**-F
    exact = _basis.exact_monomial_to_chebyshev_matrix(d, interval)
    sub = [[exact[j][k] for k in powers.tolist()] for j in powers.tolist()]
    # Dyadic interval ends make every entry dyadic: one power of two clears all denominators.
    bits = max((v.denominator.bit_length() - 1 for row in sub for v in row), default=0)
    basis_int = np.array([[int(v * (1 << bits)) for v in row] for row in sub], dtype=object)
    return LinfSetup(problem, x, f, t, parity, shift, powers, fixed_a0, keep, interval, vander, g,
                     basis_int, bits)


def parity_reduction(problem: FitProblem, x: np.ndarray):
    """(kind, shift) when f − shift is odd/even and the grid is symmetric, else (None, 0).

    ``kind`` "odd": p(t) = shift + Σ_{k odd} a_k 2^-F t^k; "even": only even k (shift 0).
    Requires shift·2^F to be an integer (it becomes a_0).
    """
    choice = problem.options.get("parity", "auto")
    target = problem.target
    applicable = (
        target.parity in ("odd", "even")
        and not (target.parity == "odd" and problem.degree < 1)
        and float(target.shift * 2.0**problem.frac_bits).is_integer()
        and np.allclose(x, -x[::-1], rtol=0.0, atol=1e-12 * max(1.0, float(np.max(np.abs(x)))))
    )
    if choice is False or (choice == "auto" and not applicable):
        return None, 0.0
    if not applicable:
        raise InputError(f"parity=True needs an odd or even target (f − shift) on a symmetric grid; "
                         f"{target.name!r} has parity {target.parity!r} on {problem.domain}")
    return target.parity, float(target.shift)
