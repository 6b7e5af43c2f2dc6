"""Minimax (best uniform, L∞) polynomial fits by the Remez exchange, with parity reductions.

Problem (continuous, on the domain minus ``exclude`` when given):

    min_{deg p ≤ d}  max_x |p(s·x) − f(x)|,      t = s·x the stage variable.

The polynomial is sought in the Chebyshev basis over the t-interval: with the window
u = (2t − hi − lo)/(hi − lo) ∈ [-1, 1], p = Σ c_k T_k(u) and g(u) = f(x(u)). The exchange
itself is the project's engine, :func:`polyfit.solvers.remez.remez` (golden-section extrema:
targets may have kinks and no derivative).

Parity reductions (when the t-interval and the fitted set are symmetric about 0). Write
g = g_even + g_odd, g_even(u) = (g(u) + g(−u))/2, g_odd(u) = (g(u) − g(−u))/2.

- If g_odd is a polynomial of degree ≤ d (0 for even targets; u·A/2 for ReLU, since
  relu(x) = x/2 + |x|/2; also x/2 for GELU, SiLU, softplus), the best approximation is
  g_odd + (best approximation of g_even), and the latter is even (uniqueness + symmetry). It is
  fitted with T_0, T_2, …, T_{2m} (2m ≤ d: m + 1 unknowns) on u ∈ [0, 1]. Since
  T_{2k}(u) = T_k(2u² − 1), this is exactly q(v) = Σ c_{2k} T_k(2v − 1) with v = u²:
  |x| = q(x²) with q ≈ √v on [0, A²]. The reference has m + 2 points in [0, 1].
- Else if g_even is a polynomial of degree ≤ d (a constant 1/2 for sigmoid, 0 for odd
  targets), the best approximation is g_even + (odd best approximation of g_odd), fitted
  with T_1, T_3, …, T_{2m+1} (2m+1 ≤ d: m + 1 unknowns) on (0, 1] (the odd error is 0 at 0).
- Otherwise all d + 1 terms on the whole set, with d + 2 reference points.

The parity test is numerical (g at 257+ mirrored points, polynomial parts fitted up to degree
min(d, 4), residual ≤ 1e-12·max(1, max|g|)), and is checked after the fact: the full error is
measured on a dense grid of the whole set; if it exceeds the reduced problem's bound the
reduction is dropped and the full problem is solved.

Certificate (in provenance): ``certificate`` in the common shape (:mod:`polyfit.certificate`:
kind remez, value = upper bound, bound = lower bound, gap, certified), and beside it the
reduced reference and its alternating errors, the full
alternation set (mirrored reference: at least d + 2 points, in fact d + 3 after a parity
reduction), the levelled error |h|, the de la Vallée Poussin bounds
lower = min |e| on the reference ≤ E* ≤ upper = max |e|, their relative gap, iterations.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
from numpy.polynomial import chebyshev as C

from .. import basis as _basis
from ..errors import ComputationError, InputError
from ..problem import FitProblem
from ..reports import Stopwatch, assemble
from ..validate import check_integer
from .remez import EPS, ROUNDING_FACTOR, RemezProblem, RemezResult, dense_grid, least_squares, merge_same_sign, remez
from .lstsq import stage_from_chebyshev

DEFAULT_OPTIONS = MappingProxyType({"tol": 1e-9, "max_iterations": 60, "parity": True, "points_per_piece": None})
PARITY_SAMPLES = 257
POLYNOMIAL_PART_MAX_DEGREE = 4
POLYNOMIAL_PART_TOLERANCE = 1e-12
JUMP_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Window:
    """The map between x and the window u ∈ [-1, 1] of the t-interval (t = s·x)."""

    t_interval: tuple[float, float]
    input_scale: float

    def x_of(self, u):
        lo, hi = self.t_interval
        return (0.5 * (hi + lo) + 0.5 * (hi - lo) * np.asarray(u, dtype=float)) / self.input_scale

    def u_of(self, x):
        return _basis.to_window(np.asarray(x, dtype=float) * self.input_scale, self.t_interval)

    @property
    def symmetric(self) -> bool:
        lo, hi = self.t_interval
        return abs(lo + hi) <= 1e-14 * (hi - lo)


@dataclass(frozen=True)
class Reduction:
    """How the problem was reduced before the exchange.

    ``kind``: "even", "odd" or "none"; ``degrees``: Chebyshev degrees fitted by Remez;
    ``polynomial_part``: Chebyshev coefficients (over the window) added back exactly;
    ``pieces``: the set the exchange runs on (u ≥ 0 after a parity reduction).
    """

    kind: str
    degrees: tuple[int, ...]
    polynomial_part: np.ndarray
    pieces: tuple[tuple[float, float], ...]
    breakpoints: tuple[float, ...]

    def fitted_function(self, g):
        if self.kind == "even":
            return lambda u: 0.5 * (g(u) + g(-u))
        if self.kind == "odd":
            return lambda u: 0.5 * (g(u) - g(-u))
        return g

    def describe(self) -> str:
        if self.kind == "even":
            return ("f minus its odd polynomial part is even: fitted T_0, T_2, ..., i.e. q(u^2) with "
                    "T_2k(u) = T_k(2u^2 - 1), on u in [0, 1]; odd part added back exactly")
        if self.kind == "odd":
            return ("f minus its even polynomial part is odd: fitted T_1, T_3, ... on u in (0, 1]; "
                    "even part added back exactly")
        return "no parity reduction: all terms T_0..T_d on the whole set"


def solve(problem: FitProblem):
    """Minimax fit of ``problem`` (norm linf, continuous, no integer constraint)."""
    _check_problem(problem)
    options = _options(problem.options)
    target = problem.target
    label = f"target {target.name!r} at degree {problem.degree}"
    with Stopwatch() as sw:
        window = Window(problem.t_domain, problem.input_scale)
        g = _window_function(target, window)
        pieces = _pieces(problem, window)
        breakpoints = tuple(sorted(float(window.u_of(b)) for b in target.breakpoints
                                   if problem.domain[0] < b < problem.domain[1]))
        reduction = _choose_reduction(g, problem.degree, window, pieces, breakpoints, options["parity"])
        result, cheb = _run(g, reduction, options, label)
        notes = []
        if reduction.kind != "none":
            full_error = _full_error_max(g, cheb, pieces, breakpoints, result.reference, options)
            if full_error > result.upper_bound + max(1e-9 * result.upper_bound, _floor(g, pieces)):
                notes.append(f"parity reduction '{reduction.kind}' did not hold on the whole domain "
                             f"(error {full_error:.3e} > {result.upper_bound:.3e}); solved without it")
                reduction = _no_reduction(problem.degree, pieces, breakpoints)
                result, cheb = _run(g, reduction, options, label)
    if result.rounding_limited:
        gap = result.upper_bound - result.lower_bound
        notes.append(f"the de la Vallée Poussin gap {gap:.1e} (relative {result.relative_gap:.1e}) is below float64 "
                     f"rounding of the target's scale ({result.rounding_floor:.1e}): tol {options['tol']:.0e} "
                     "cannot be certified further")
    stage, conversion_notes = stage_from_chebyshev(cheb, problem.t_domain, problem.basis)
    notes.extend(conversion_notes)
    provenance = {
        "solver": "minimax", "backend": "remez-numpy", "elapsed_s": sw.elapsed,
        "options": {**options, "basis": problem.basis},
        "certificate": result.certificate(options["tol"]).to_dict(),
        **certificate(result, reduction, window, g, cheb, problem.degree),
    }
    if notes:
        provenance["warnings"] = notes
    objective = problem.objective_dict(
        method="minimax", grid={"kind": "continuous", "measure": "sup over the domain (minus exclude)"})
    return assemble(target, problem.domain, [stage], objective=objective, provenance=provenance,
                    input_scale=problem.input_scale, exclude=problem.exclude)


# -- checks -------------------------------------------------------------------------------
def _check_problem(problem: FitProblem) -> None:
    name = problem.target.name
    if problem.norm != "linf":
        raise InputError(f"minimax solves the linf norm, got norm {problem.norm!r}")
    if problem.frac_bits is not None:
        raise InputError("minimax with bits is the quantized solver's job (polyfit.solvers.quantized)")
    if problem.samples is not None or problem.weight is not None:
        raise InputError("minimax is unweighted on the continuous domain: samples and weight are for method lstsq")
    if problem.points is not None or problem.grid != "uniform":
        raise InputError("minimax is continuous on the domain: points and grid are for method lstsq "
                         "(or for method minimax with bits)")
    jump = _jump(problem)
    if jump is not None:  # sign, step, and any expression with a jump inside the domain
        where = f" jumps at x = {jump:g}"
        if problem.exclude is not None:
            raise InputError(f"target {name!r}{where}: the two-interval Remez with exclude "
                             f"{tuple(problem.exclude)} is done by `polyfit composite` (pf.composite); "
                             "method minimax fits continuous targets only")
        raise InputError(f"target {name!r}{where}: minimax (Remez) needs a continuous target; "
                         "for sign-like functions use `polyfit composite` (pf.composite)")


def _jump(problem: FitProblem):
    """A breakpoint where the target jumps, or None.

    J(δ) = max(|f(b+δ) − f(b−δ)|, |f(b) − f(b±δ)|) is measured at δ = 1e-9·width and δ/1000:
    a jump keeps J above JUMP_TOLERANCE·max(1, |f|) as δ shrinks; a continuous function,
    however steep (√|x|), makes J shrink.
    """
    lo, hi = problem.domain
    for b in problem.target.breakpoints:
        if lo < b < hi:
            sizes = []
            for delta in (1e-9 * (hi - lo), 1e-12 * (hi - lo)):
                left, mid, right = problem.target(np.array([b - delta, b, b + delta]))
                sizes.append(max(abs(right - left), abs(mid - left), abs(mid - right)))
                scale = max(1.0, abs(left), abs(right))
            if not np.all(np.isfinite(sizes)) or sizes[0] > JUMP_TOLERANCE * scale and sizes[1] > 0.5 * sizes[0]:
                return float(b)
    return None


def _options(options: dict) -> dict:
    unknown = sorted(set(options) - set(DEFAULT_OPTIONS))
    if unknown:
        raise InputError(f"unknown minimax option(s) {', '.join(unknown)}; allowed: {', '.join(DEFAULT_OPTIONS)}")
    out = {**DEFAULT_OPTIONS, **options}
    tol = out["tol"]
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not (0.0 < float(tol) < 1.0):
        raise InputError(f"minimax tol {tol!r} must be a number in (0, 1)")
    iters = check_integer(out["max_iterations"], "minimax max_iterations", 1, 10_000)
    if not isinstance(out["parity"], bool):
        raise InputError(f"minimax parity {out['parity']!r} must be True or False")
    points = out["points_per_piece"]
    if points is not None:
        check_integer(points, "minimax points_per_piece", 64, 1_000_000)
    return {"tol": float(tol), "max_iterations": iters, "parity": out["parity"], "points_per_piece": points}


# -- set-up ---------------------------------------------------------------------------------
def _window_function(target, window: Window):
    def g(u):
        return target(window.x_of(u))

    return g


def _pieces(problem: FitProblem, window: Window):
    """The fitted set in u: [-1, 1], minus the open exclude interval when given."""
    if problem.exclude is None:
        return ((-1.0, 1.0),)
    a, b = sorted(float(v) for v in window.u_of(np.array(problem.exclude)))
    pieces = tuple((lo, hi) for lo, hi in ((-1.0, min(a, 1.0)), (max(b, -1.0), 1.0)) if hi > lo)
    if not pieces:
        raise InputError(f"exclude {tuple(problem.exclude)} covers the whole domain {problem.domain}")
    return pieces


def _floor(g, pieces) -> float:
    u, _ = dense_grid(pieces, 129)
    return ROUNDING_FACTOR * EPS * max(1.0, float(np.max(np.abs(g(u)))))


def _no_reduction(degree, pieces, breakpoints) -> Reduction:
    return Reduction("none", tuple(range(degree + 1)), np.zeros(degree + 1), tuple(pieces), tuple(breakpoints))


def _half_pieces(pieces):
    """The u ≥ 0 half of a set symmetric about 0, or None when it is not symmetric."""
    mirrored = sorted((-b, -a) for a, b in pieces)
    if len(mirrored) != len(pieces) or any(abs(a - c) > 1e-12 or abs(b - d) > 1e-12
                                           for (a, b), (c, d) in zip(pieces, mirrored)):
        return None
    return tuple((max(a, 0.0), b) for a, b in pieces if b > 0.0)


def _polynomial_part(values, u, degrees, scale):
    """Chebyshev coefficients (length max+1) if ``values`` is Σ_{k∈degrees} c_k T_k(u) to tolerance."""
    if not degrees:
        return np.zeros(1) if np.max(np.abs(values)) <= POLYNOMIAL_PART_TOLERANCE * scale else None
    vander = C.chebvander(u, max(degrees))[:, list(degrees)]
    coef = least_squares(vander, values)
    if np.max(np.abs(vander @ coef - values)) > POLYNOMIAL_PART_TOLERANCE * scale:
        return None
    full = np.zeros(max(degrees) + 1)
    full[list(degrees)] = coef
    full[np.abs(full) <= POLYNOMIAL_PART_TOLERANCE * scale] = 0.0
    return full


def _choose_reduction(g, degree, window: Window, pieces, breakpoints, parity: bool) -> Reduction:
    """Even or odd reduction when the set is symmetric and one parity part is a polynomial."""
    half = _half_pieces(pieces) if parity and window.symmetric else None
    if half is None:
        return _no_reduction(degree, pieces, breakpoints)
    u, _ = dense_grid(half, PARITY_SAMPLES, [abs(b) for b in breakpoints])
    with np.errstate(all="ignore"):
        plus, minus = g(u), g(-u)
    if not (np.all(np.isfinite(plus)) and np.all(np.isfinite(minus))):
        return _no_reduction(degree, pieces, breakpoints)  # the exchange reports where g is not finite
    scale = max(1.0, float(np.max(np.abs(plus))), float(np.max(np.abs(minus))))
    even_part, odd_part = 0.5 * (plus + minus), 0.5 * (plus - minus)
    cap = min(degree, POLYNOMIAL_PART_MAX_DEGREE)
    half_breaks = tuple(sorted({abs(b) for b in breakpoints if abs(b) > 0.0}))
    odd_poly = _polynomial_part(odd_part, u, [k for k in range(1, cap + 1, 2)], scale)
    if odd_poly is not None:
        return Reduction("even", tuple(range(0, degree + 1, 2)), _basis.pad(odd_poly, degree + 1), half, half_breaks)
    even_poly = _polynomial_part(even_part, u, [k for k in range(0, cap + 1, 2)], scale)
    if even_poly is not None and degree >= 1:
        return Reduction("odd", tuple(range(1, degree + 1, 2)), _basis.pad(even_poly, degree + 1), half, half_breaks)
    return _no_reduction(degree, pieces, breakpoints)


# -- solve and certify ------------------------------------------------------------------------
def _run(g, reduction: Reduction, options: dict, label: str):
    """Remez on the reduced problem; returns (result, full Chebyshev coefficients on the window)."""
    try:
        problem = RemezProblem(reduction.fitted_function(g), reduction.pieces, reduction.degrees,
                               breakpoints=reduction.breakpoints)
        result = remez(problem, tol=options["tol"], max_iterations=options["max_iterations"],
                       points_per_piece=options["points_per_piece"], label=label)
    except ComputationError as exc:
        if label in str(exc):
            raise
        raise ComputationError(f"minimax (Remez) for {label} failed: {exc}") from None
    cheb = reduction.polynomial_part.copy()
    cheb[list(reduction.degrees)] += result.coefficients
    return result, cheb


def _full_error(g, cheb, u):
    return C.chebval(u, cheb) - g(u)


def _full_error_max(g, cheb, pieces, breakpoints, reference, options) -> float:
    """max |p − g| on a dense grid of the whole set (both halves) plus the mirrored reference."""
    size = 2 * (options["points_per_piece"] or max(1024, 48 * len(cheb)))
    u, _ = dense_grid(pieces, size, breakpoints)
    u = np.concatenate([u, reference, -reference])
    inside = np.zeros(u.size, dtype=bool)
    for a, b in pieces:
        inside |= (u >= a) & (u <= b)
    return float(np.max(np.abs(_full_error(g, cheb, u[inside]))))


def alternation_set(points, errors):
    """Sort, drop zeros, and merge neighbours of equal sign (keeping the larger |e|)."""
    order = np.argsort(points)
    points, errors = np.asarray(points)[order], np.asarray(errors)[order]
    keep = errors != 0.0
    return merge_same_sign(points[keep], errors[keep])


def certificate(result: RemezResult, reduction: Reduction, window: Window, g, cheb, degree: int) -> dict:
    """Minimax's own provenance entries beside the common ``certificate`` (points in x, errors e = p − f)."""
    ref_u = result.reference
    mirrored = np.unique(np.concatenate([ref_u, -ref_u])) if reduction.kind != "none" else ref_u
    alt_u, alt_e = alternation_set(mirrored, _full_error(g, cheb, mirrored))

    def in_x(u, e):
        x = window.x_of(u)
        order = np.argsort(x)
        return [float(v) for v in x[order]], [float(v) for v in np.asarray(e)[order]]

    ref_x, ref_e = in_x(ref_u, result.reference_errors)
    alt_x, alt_err = in_x(alt_u, alt_e)
    return {
        "method": "Remez exchange (second algorithm) in the Chebyshev basis on the t-interval",
        "reduction": {"kind": reduction.kind, "description": reduction.describe(),
                      "unknowns": len(reduction.degrees), "chebyshev_degrees": list(reduction.degrees),
                      "polynomial_part": [float(c) for c in reduction.polynomial_part]},
        "reference_x": ref_x,
        "reference_errors": ref_e,
        "equioscillation_x": alt_x,
        "equioscillation_errors": alt_err,
        "equioscillation_count": len(alt_x),
        "equioscillation_needed": degree + 2,
        "levelled_error": result.levelled_error,
        "lower_bound": result.lower_bound,
        "upper_bound": result.upper_bound,
        "relative_gap": result.relative_gap,
        "argmax_x": float(window.x_of(result.argmax)),
        "iterations": result.iterations,
        "converged": bool(result.converged),
        "rounding_limited": bool(result.rounding_limited),
        "rounding_floor": float(result.rounding_floor),
        "gap_history": [float(v) for v in result.gap_history],
    }

