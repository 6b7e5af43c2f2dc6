"""Least squares: weighted discrete L2 on a grid, and continuous L2 (exact projection).

Discrete (grid x_i, weights w_i ≥ 0; samples replace the grid with w_i = 1):

    min_p Σ_i w_i (p(t_i) − f(x_i))²,   t_i = s·x_i,

solved with numpy.linalg.lstsq on the Chebyshev–Vandermonde matrix over the t-interval,
whose columns are bounded by 1, so the problem stays well conditioned to degree 64 and far
beyond; the monomial form is a conversion afterwards.

Continuous (uniform measure, optional density w):

    min_p ∫_lo^hi w(x) (p(s·x) − f(x))² dx.

With w = 1 the solution is the Legendre projection a_k = (2k+1)/2 ∫_{-1}^{1} g(u) P_k(u) du
(g the target on the window); with a density, the normal equations in the Legendre basis.
The integrals use Gauss–Legendre quadrature on each piece between the target's breakpoints
(so kinks do not slow convergence), doubling the nodes (at most 16384 per piece) until two
rules agree to max(1e-11, 4e-13·(2d+1)) relative, above float64's rounding of a_k (≈ eps·(2k+1)).
"""
from __future__ import annotations

import math

import warnings

import numpy as np
from numpy.polynomial import chebyshev as C
from numpy.polynomial import legendre as L

from .. import basis as _basis
from ..approximation import Stage
from ..certificate import Certificate
from ..errors import ComputationError
from ..problem import FitProblem
from ..reports import Stopwatch, assemble

PRECISION_LOSS_WARNING = 1e-9


def solve(problem: FitProblem):
    """Least-squares fit of ``problem`` (norm l2, no integer constraint)."""
    with Stopwatch() as sw:
        if problem.grid == "continuous" and problem.samples is None:
            interval = problem.t_domain
            cheb, info = continuous_chebyshev_coefficients(problem)
        else:
            cheb, interval, info = discrete_chebyshev_coefficients(problem)
        cheb, parity = impose_parity(problem, cheb, interval)
        if parity:
            info = {**info, "parity": parity}
    stage, notes = stage_from_chebyshev(cheb, interval, problem.basis)
    provenance = {
        "solver": "lstsq", "backend": "numpy", "elapsed_s": sw.elapsed,
        "options": {"grid": problem.grid, "points": problem.points, "basis": problem.basis, **problem.options},
        **info,
        "certificate": _certificate(problem, info).to_dict(),
    }
    if notes:
        provenance["warnings"] = notes
    return assemble(problem.target, problem.domain, [stage], objective=problem.objective_dict(),
                    provenance=provenance, input_scale=problem.input_scale, exclude=problem.exclude)


def impose_parity(problem: FitProblem, cheb, interval):
    """(cheb, note): the wrong-parity Chebyshev coefficients set to zero when the target has a
    declared parity (tanh odd, |x| even, sigmoid − 1/2 odd) and the problem is symmetric
    (domain, t-interval and exclude symmetric about 0, no weight, no samples). The L2 minimiser
    of a symmetric problem has them exactly zero (T_k has the parity of k); the solve leaves
    rounding noise (1e-16) there, which made a degree-6 tanh fit count as degree 6 (4 products,
    Horner 5 rounds) instead of 5. Otherwise ``cheb`` unchanged and note None."""
    target = problem.target
    lo, hi = problem.domain
    exclude = problem.exclude
    symmetric = (lo == -hi and interval[0] == -interval[1] and problem.samples is None and problem.weight is None
                 and (exclude is None or exclude[0] == -exclude[1]))
    if target.parity not in ("odd", "even") or not symmetric:
        return cheb, None
    cheb = np.array(cheb, dtype=float)
    if target.parity == "odd":
        cheb[0::2] = 0.0
        cheb[0] = target.shift  # f − shift is odd: its T_0 coefficient is the shift
    else:
        cheb[1::2] = 0.0
    shifted = f" about {target.shift:g}" if target.parity == "odd" and target.shift else ""
    return cheb, (f"{target.parity}{shifted}: the target's parity on a symmetric problem; coefficients of the other "
                  "parity are exactly zero")


def _certificate(problem: FitProblem, info: dict) -> Certificate:
    """Least squares is solved to its optimum (a linear problem): value = bound = the objective."""
    value = info.get("objective_value", info.get("continuous_objective_value"))
    if value is None or not math.isfinite(value):
        raise ComputationError(
            f"the least-squares objective overflows float64 on [{problem.domain[0]:g}, {problem.domain[1]:g}] "
            f"(Σ w·(p − f)² = {value}): the target's squared values leave float64; fit a scaled problem "
            "(f(A·u)/A for u in [-1, 1], then scale back)")
    if "objective_value" in info:
        where = "the samples" if problem.samples is not None else f"the {problem.grid} grid"
        return Certificate("discrete-lstsq", True, info["objective_value"], info["objective_value"],
                           f"minimiser of Σ w_i (p(t_i) − f(x_i))² on {where} (numpy.linalg.lstsq, SVD; "
                           f"condition number {info['condition_number']:.2g})")
    value = info["continuous_objective_value"]
    return Certificate("exact-projection", True, value, value,
                       f"L2 projection ∫ w (p − f)² dx minimised exactly (Legendre series, Gauss–Legendre "
                       f"quadrature converged at {info['quadrature_nodes_per_piece']} nodes per piece)")


def stage_from_chebyshev(cheb, interval, basis: str):
    """A stage in the requested basis; notes say when monomial coefficients lose precision."""
    notes = []
    if basis == "chebyshev":
        return Stage("chebyshev", tuple(cheb), interval), notes
    loss = _basis.monomial_precision_loss(cheb, interval)
    if loss > PRECISION_LOSS_WARNING:
        note = (f"monomial coefficients lose precision: converting the degree-{len(cheb) - 1} Chebyshev solution "
                f"changes values by {loss:.1e} (relative); use basis='chebyshev' (--basis chebyshev)")
        warnings.warn(note, stacklevel=3)
        notes.append(note)
    return Stage("monomial", tuple(_basis.chebyshev_to_monomial(cheb, interval))), notes


def discrete_chebyshev_coefficients(problem: FitProblem):
    """Chebyshev coefficients (over the t-interval) of the weighted discrete L2 fit."""
    x = problem.grid_x()
    t = x * problem.input_scale
    lo, hi = problem.t_domain
    interval = (min(lo, float(t.min())), max(hi, float(t.max())))
    y = problem.target(x)
    w = problem.grid_weights(x)
    if not np.all(np.isfinite(y)):
        raise ComputationError(f"target {problem.target.name!r} is not finite on the grid of {problem.domain}")
    root_w = np.sqrt(w)
    vander = C.chebvander(_basis.to_window(t, interval), problem.degree) * root_w[:, None]
    coef, _, rank, sv = np.linalg.lstsq(vander, y * root_w, rcond=None)
    if rank < problem.degree + 1:
        raise ComputationError(f"least squares is rank deficient (rank {rank} < {problem.degree + 1}): "
                               "too few distinct points with non-zero weight")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported by _certificate
        residual = vander @ coef - y * root_w
        objective = float(residual @ residual)
    return coef, interval, {"condition_number": float(sv[0] / sv[-1]), "objective_value": objective}


MAX_QUADRATURE_NODES = 16384  # per piece: the Legendre matrix of degree 1000 is then 130 MB


def _pieces(problem: FitProblem):
    """Sub-intervals of the window [-1, 1] between the target's breakpoints."""
    lo, hi = problem.domain
    cuts = [-1.0]
    for b in sorted(problem.target.breakpoints):
        if lo < b < hi:
            cuts.append(float(_basis.to_window(b, (lo, hi))))
    cuts.append(1.0)
    return list(zip(cuts[:-1], cuts[1:]))


def _quadrature(problem: FitProblem, nodes: int):
    """Gauss–Legendre nodes u and weights on the window, composite over the pieces."""
    from scipy.special import roots_legendre  # O(n) per node; numpy's leggauss is a dense O(n³) eigensolve

    base_u, base_w = roots_legendre(nodes)
    us, ws = [], []
    for a, b in _pieces(problem):
        us.append(0.5 * (b - a) * base_u + 0.5 * (a + b))
        ws.append(0.5 * (b - a) * base_w)
    return np.concatenate(us), np.concatenate(ws)


def _legendre_projection(problem: FitProblem, nodes: int):
    lo, hi = problem.domain
    u, qw = _quadrature(problem, nodes)
    x = 0.5 * (hi + lo) + 0.5 * (hi - lo) * u
    g = problem.target(x)
    if not np.all(np.isfinite(g)):
        raise ComputationError(f"target {problem.target.name!r} is not finite on the domain {problem.domain}")
    vander = L.legvander(u, problem.degree)  # P_k(u) in columns
    if problem.weight is None:
        norms = 2.0 / (2.0 * np.arange(problem.degree + 1) + 1.0)
        return (vander.T @ (qw * g)) / norms
    w = problem.grid_weights(x) * qw
    gram = vander.T @ (w[:, None] * vander)
    return np.linalg.solve(gram, vander.T @ (w * g))


def continuous_chebyshev_coefficients(problem: FitProblem):
    """Chebyshev coefficients (over the t-interval) of the continuous L2 projection.

    The window variable u of x over the domain equals the window variable of t over the
    t-interval when s > 0 and its negative when s < 0, so the Legendre series in u converts
    directly (with P_k(−u) = (−1)^k P_k(u)).
    """
    nodes = max(64, 2 * problem.degree + 2)
    previous = _legendre_projection(problem, nodes)
    # rounding alone moves coefficient k by ~eps·(2k+1) (the 1/‖P_k‖² factor): converged is below that
    tolerance = max(1e-11, 4e-13 * (2 * problem.degree + 1))
    change = math.inf
    while change >= tolerance:
        if 2 * nodes > MAX_QUADRATURE_NODES:  # the next rule would cost minutes and gigabytes
            raise ComputationError(f"continuous L2 quadrature did not converge for {problem.target.name!r} "
                                   f"(last change {change:.1e} at {nodes} nodes per piece, the most is "
                                   f"{MAX_QUADRATURE_NODES}); use --grid chebyshev")
        nodes *= 2
        current = _legendre_projection(problem, nodes)
        change = np.max(np.abs(current - previous)) / max(1.0, np.max(np.abs(current)))
        previous = current
    leg = previous
    if problem.input_scale < 0:
        leg = leg * (-1.0) ** np.arange(len(leg))
    cheb = _legendre_to_chebyshev(leg)
    return cheb, {"quadrature_nodes_per_piece": nodes, "pieces": len(_pieces(problem)),
                  "continuous_objective_value": _continuous_objective(problem, previous, nodes)}


def _legendre_to_chebyshev(leg: np.ndarray) -> np.ndarray:
    """Chebyshev coefficients of Σ leg_k P_k: interpolation at the n = len(leg) Chebyshev points
    (exact for degree n − 1; |P_k|, |T_k| ≤ 1 keep it stable). numpy's ``convert`` overflows
    float64 by degree 1000 (its Clenshaw runs in series arithmetic)."""
    n = len(leg)
    theta = np.pi * (np.arange(n) + 0.5) / n
    cheb = np.cos(np.outer(np.arange(n), theta)) @ L.legval(np.cos(theta), leg) * (2.0 / n)
    cheb[0] /= 2.0
    return cheb


def _continuous_objective(problem: FitProblem, legendre, nodes: int) -> float:
    """∫_lo^hi w(x) (p(x) − f(x))² dx with the converged quadrature rule (x = mid + half·u)."""
    lo, hi = problem.domain
    u, qw = _quadrature(problem, nodes)
    x = 0.5 * (hi + lo) + 0.5 * (hi - lo) * u
    residual = L.legval(u, legendre) - problem.target(x)
    return float(0.5 * (hi - lo) * np.sum(qw * problem.grid_weights(x) * residual * residual))
