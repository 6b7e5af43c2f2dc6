"""Quantization-aware fits: integer coefficients × 2^-F chosen by the solver (``bits=F``).

The polynomial is in the stage variable t = s·x (s = ``input_scale``):

    p(t) = Σ_k a_k 2^-F t^k,   a_k integers.

**L2** (``method="lstsq"``, default solver ``exact``)::

    minimise  Σ_i w_i (p(t_i) − y_i)²   over integers a, lower ≤ a ≤ upper.

Default formulation: the grid and weights of the problem (``problem.grid_x()``, 1000
uniform points by default), real targets y_i = f(x_i), and integer bounds derived from the
problem so that they are provably non-binding (the box around the continuous optimum that
contains the whole initial search ellipsoid, see :func:`._lattice.ellipsoid_box`).
``compat="pillar"`` is PILLAR's formulation: x_i = numpy.linspace(lo, hi, int((hi − lo)/0.01)),
y_i = trunc(f(x_i)·2^F)/2^F, integers in [−2^(F−1), 2^(F−1)], objective reported in PILLAR's
integer units Σ_i (Σ_j a_j t_i^j − trunc(f(x_i)·2^F))² (= 2^(2F) times the one above).

The exact solver writes the objective as ‖R a − ŷ‖² + ρ² with a well-conditioned
factorisation: the weighted Chebyshev–Vandermonde matrix V (on the t-interval) is V = Q R_c
(R_c from the Cholesky factor of VᵀV, Q never formed), and R = R_c·M·2^-F with M the exact
monomial→Chebyshev change of basis, so the lattice basis R is accurate even for degree 12,
F = 20, range 20. ρ² (the residual of the continuous fit) is the part of the target no
polynomial reaches. The integer problem is then solved by LLL reduction and
Schnorr–Euchner enumeration (:mod:`._lattice`): a certified global optimum. numpy only, so
``polyfit fit --degree 4 --range 5 --bits 10`` stays fast.

``solver="gekko"`` hands the same objective and bounds to GEKKO/APOPT (PILLAR's tool),
for comparison (:mod:`._gekko_fit`).

**L∞** (``method="minimax"``): the exact mixed-integer LP

    minimise e   subject to   |p(t_i) − f(x_i)| ≤ e  on the grid,   a_k integers,

solved by HiGHS (scipy.optimize.milp) inside an exchange loop; see :func:`solve_linf`.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np

from .. import basis as _basis
from ..approximation import Stage
from ..errors import ComputationError, InputError
from ..metrics import DEFAULT_GRID_POINTS
from ..problem import FitProblem, chebyshev_extrema, check_integer
from ..reports import Stopwatch, assemble
from . import _lattice

PILLAR_STEP = 0.01
OPTIONS = {
    "integer_bound": "B ≥ 1: integers restricted to [-B, B] (default: derived, non-binding; pillar: 2^(F-1))",
    "max_nodes": "node limit of the exact L2 search (default 2,000,000)",
    "time_limit": "seconds for GEKKO (L2) or HiGHS (L∞)",
    "parity": "L∞ only: 'auto' (default), True or False — fit f − shift with an odd/even polynomial",
}


def solve(problem: FitProblem):
    """Quantization-aware fit of ``problem`` (``problem.frac_bits`` set)."""
    _check_options(problem)
    if problem.frac_bits is None:
        raise InputError("the quantized solver needs bits (fractional bits F, 1 to 52)")
    if problem.basis != "monomial":
        raise InputError(f"basis {problem.basis!r} is not allowed with bits; quantized coefficients are monomial")
    if problem.grid == "continuous":
        raise InputError("grid 'continuous' is not available with bits; use uniform or chebyshev")
    if problem.norm == "linf":
        if problem.solver == "gekko":
            raise InputError("solver 'gekko' solves PILLAR's L2 problem; use method lstsq with it, "
                             "or solver exact for method minimax")
        if problem.compat is not None:
            raise InputError("compat 'pillar' is an L2 formulation; use method lstsq with it")
        return solve_linf(problem)
    return solve_l2(problem)


def _check_options(problem: FitProblem) -> None:
    unknown = sorted(set(problem.options) - set(OPTIONS))
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(map(repr, unknown))} for bits fits; allowed: {', '.join(sorted(OPTIONS))}")
    opts = problem.options
    for name in ("integer_bound", "max_nodes"):
        if name in opts:
            check_integer(opts[name], name, 1)
    if "time_limit" in opts:
        b = opts["time_limit"]
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) or b <= 0:
            raise InputError(f"time_limit {b!r} must be a number of seconds > 0")
    if "parity" in opts and opts["parity"] not in ("auto", True, False):
        raise InputError(f"parity {opts['parity']!r} is not allowed; allowed: 'auto', True, False")


# --------------------------------------------------------------------------------------
# L2 data: grid, targets, weights, bounds of the stated formulation
# --------------------------------------------------------------------------------------
def pillar_grid(domain) -> np.ndarray:
    """PILLAR's grid: numpy.linspace(lo, hi, int((hi − lo)/0.01)) (1000 points on [−5, 5])."""
    lo, hi = domain
    return np.linspace(lo, hi, int((hi - lo) / PILLAR_STEP))


def l2_formulation(problem: FitProblem):
    """(x, t, y, w, objective_extra) of the L2 problem, y in real units (not × 2^F)."""
    F = problem.frac_bits
    if problem.compat == "pillar":
        for name, value, default in (("points", problem.points, None), ("weight", problem.weight, None),
                                     ("samples", problem.samples, None), ("exclude", problem.exclude, None),
                                     ("grid", problem.grid, "uniform")):
            if value is not default and not (name == "grid" and value == default):
                raise InputError(f"{name} cannot be changed with compat 'pillar' (PILLAR's grid is fixed: "
                                 f"linspace(lo, hi, int((hi - lo)/{PILLAR_STEP})))")
        x = pillar_grid(problem.domain)
        y = np.trunc(problem.target(x) * 2.0**F) / 2.0**F
        w = np.ones_like(x)
        extra = {
            "grid": {"kind": "uniform", "points": int(x.size), "rule": "numpy.linspace(lo, hi, int((hi - lo) / 0.01))"},
            "target_rounding": "trunc(f(x) * 2^F) (numpy.trunc, toward zero)",
            "formula": "sum_i (sum_k a_k t_i^k - trunc(f(x_i) * 2^F))^2  (PILLAR's integer units)",
            "compat": "pillar",
        }
    else:
        x = problem.grid_x()
        y = problem.target(x)
        w = problem.grid_weights(x)
        extra = {"target_rounding": "none",
                 "formula": "sum_i w_i (sum_k a_k 2^-F t_i^k - f(x_i))^2"}
    if not np.all(np.isfinite(y)):
        raise ComputationError(f"target {problem.target.name!r} is not finite on the grid of {problem.domain}")
    if np.count_nonzero(w) <= problem.degree:
        raise InputError(f"the fit needs more than degree ({problem.degree}) points with non-zero weight")
    t = x * problem.input_scale
    return x, t, y, w, extra


def stated_bounds(problem: FitProblem):
    """Integer bounds fixed by the user or the formulation, else None (derived later)."""
    n = problem.degree + 1
    if "integer_bound" in problem.options:
        b = int(problem.options["integer_bound"])
        return np.full(n, -b, dtype=np.int64), np.full(n, b, dtype=np.int64), f"user: [-{b}, {b}]"
    if problem.compat == "pillar":
        b = 2 ** (problem.frac_bits - 1)
        return np.full(n, -b, dtype=np.int64), np.full(n, b, dtype=np.int64), "pillar: [-2^(F-1), 2^(F-1)]"
    return None, None, None


def monomial_to_chebyshev_matrix(degree: int, interval) -> np.ndarray:
    """M with M[:, k] = Chebyshev coefficients (over ``interval``) of t^k.

    With t = c + h·u (u the window variable), t^k = (c + h u)·t^(k−1) and
    u·T_j = (T_{j+1} + T_{|j−1|})/2 give column k from column k − 1 exactly.
    """
    lo, hi = interval
    c, h = 0.5 * (hi + lo), 0.5 * (hi - lo)
    M = np.zeros((degree + 1, degree + 1))
    M[0, 0] = 1.0
    for k in range(1, degree + 1):
        prev = M[:, k - 1]
        times_u = np.zeros(degree + 1)
        times_u[1:] += 0.5 * prev[:-1]          # T_j → T_{j+1}/2
        times_u[:-1] += 0.5 * prev[1:]          # T_j → T_{j−1}/2 (j ≥ 1)
        times_u[1] += 0.5 * prev[0]             # T_0 → T_1 (u·T_0 = T_1)
        M[:, k] = c * prev + h * times_u
    return M


def _triangular_factor(V: np.ndarray, wy: np.ndarray):
    """(R_c, Qᵀ·wy, ρ²) of V = Q R_c without forming Q.

    V has Chebyshev columns, so its Gram matrix is well conditioned and its Cholesky factor
    is R_c (this is ~1000× faster than numpy.linalg.qr on a busy machine); ρ² is computed
    from the residual itself, not as a difference of norms. Falls back to Householder QR
    when the Gram matrix is ill conditioned (many columns on few points).
    """
    try:
        L = np.linalg.cholesky(V.T @ V)
        d = np.abs(np.diag(L))
        if np.min(d) > 1e-6 * np.max(d):
            Rc = L.T
            yhat = np.linalg.solve(L, V.T @ wy)
            r = wy - V @ np.linalg.solve(Rc, yhat)
            return Rc, yhat, float(r @ r)
    except np.linalg.LinAlgError:
        pass
    Q, Rc = np.linalg.qr(V)
    yhat = Q.T @ wy
    r = wy - Q @ yhat
    return Rc, yhat, float(r @ r)


def lattice_factor(t, y, w, degree: int, frac_bits: int):
    """(R, ŷ, ρ², interval) with Σ_i w_i (Σ_k a_k 2^-F t_i^k − y_i)² = ‖R a − ŷ‖² + ρ².

    V = diag(√w)·T_k(window(t_i)) = Q R_c, M[:, k] = Chebyshev coefficients of t^k over the
    t-interval, R = R_c M 2^-F (upper triangular), ŷ = Qᵀ √w y.
    """
    interval = (float(np.min(t)), float(np.max(t)))
    if not interval[0] < interval[1]:
        raise InputError("the grid spans a single point in t; give a domain with lo < hi")
    root_w = np.sqrt(w)
    V = np.polynomial.chebyshev.chebvander(_basis.to_window(t, interval), degree) * root_w[:, None]
    Rc, yhat, perp_sq = _triangular_factor(V, root_w * y)
    if np.min(np.abs(np.diag(Rc))) <= 1e-13 * np.max(np.abs(np.diag(Rc))):
        raise InputError(f"the grid has too few distinct points with non-zero weight for degree {degree}")
    R = (Rc @ monomial_to_chebyshev_matrix(degree, interval)) * 2.0 ** -frac_bits
    return np.triu(R), yhat, perp_sq, interval


def solve_l2(problem: FitProblem):
    """Certified integer least squares (``solver="exact"``) or GEKKO (``solver="gekko"``)."""
    F = problem.frac_bits
    with Stopwatch() as sw:
        x, t, y, w, extra = l2_formulation(problem)
        R, yhat, perp_sq, interval = lattice_factor(t, y, w, problem.degree, F)
        lower, upper, bound_kind = stated_bounds(problem)
        # The incumbent of rounding the continuous optimum fixes a sphere; its bounding box
        # is the derived (non-binding) box when no bounds are stated.
        z_star = np.linalg.solve(R, yhat)
        z_round = np.rint(z_star)
        if lower is not None:
            z_round = np.clip(z_round, lower, upper)
        r0 = R @ z_round - yhat
        box_lo, box_hi, _ = _lattice.ellipsoid_box(R, yhat, float(r0 @ r0))
        if lower is None:
            lower, upper = box_lo, box_hi
            bound_kind = "derived: contains every integer vector at least as good as rounding the continuous optimum (non-binding)"
        binding = bool(np.any(box_lo < lower) or np.any(box_hi > upper))
        info: dict = {}
        if problem.solver == "gekko":
            from ._gekko_fit import gekko_integer_fit

            integers, info = gekko_integer_fit(t, y * 2.0**F, w, problem.degree, lower, upper,
                                               time_limit=problem.options.get("time_limit"))
            certified, backend = False, "gekko"
        else:
            max_nodes = int(problem.options.get("max_nodes", _lattice.DEFAULT_MAX_NODES))
            try:
                # Unconstrained first: if its optimum lies in the box it is the box optimum too.
                result = _lattice.closest_vector(R, yhat, max_nodes=max_nodes)
                inside = bool(np.all(result.z >= lower) and np.all(result.z <= upper))
                if binding and (inside and result.complete):
                    binding = False
                elif binding:
                    result = _lattice.closest_vector(R, yhat, lower=lower, upper=upper, max_nodes=max_nodes,
                                                     start=result.z)
            except OverflowError:
                lo_t, hi_t = interval
                raise ComputationError(
                    f"degree {problem.degree} on t in [{lo_t:g}, {hi_t:g}] with F={F} spans coefficient scales beyond "
                    "float64 lattice reduction; lower the degree or bits, or map the domain into [-1, 1] with "
                    "input_scale") from None
            integers = result.z
            certified, backend = result.complete, "exact"
            info = {"nodes": result.nodes, "leaves": result.leaves, "lll_swaps": result.lll_swaps,
                    "initial_objective": (result.initial_radius_sq + perp_sq) * _units(problem)}
        residual = R @ integers.astype(float) - yhat
        objective_value = (float(residual @ residual) + perp_sq) * _units(problem)
    warnings = []
    if problem.solver == "exact" and not certified:
        warnings.append(f"the exact search stopped at max_nodes={info['nodes'] - 1}: the result is the best found, "
                        "not certified; raise max_nodes or lower bits/degree")
    stage = Stage.quantized_monomial(integers.tolist(), F)
    continuous_value = perp_sq * _units(problem)
    objective = problem.objective_dict(
        quantization={"frac_bits": F, "variable": "t = input_scale * x", "coefficients": "a_k * 2^-F, a_k integers"},
        integer_bounds={"lower": lower.tolist(), "upper": upper.tolist(), "kind": bound_kind, "binding": binding},
        **extra,
    )
    provenance = {
        "solver": "quantized-l2", "backend": backend, "elapsed_s": sw.elapsed,
        "options": {"frac_bits": F, "compat": problem.compat, **problem.options},
        "objective_value": objective_value,
        "continuous_objective_value": continuous_value,
        "certified": bool(certified),
        **info,
    }
    if warnings:
        provenance["warnings"] = warnings
    return assemble(problem.target, problem.domain, [stage], objective=objective, provenance=provenance,
                    input_scale=problem.input_scale, exclude=problem.exclude, frac_bits=F)


def _units(problem: FitProblem) -> float:
    """Factor from real units to the units the objective is stated in (PILLAR: 2^(2F))."""
    return 4.0**problem.frac_bits if problem.compat == "pillar" else 1.0


# --------------------------------------------------------------------------------------
# L∞: exact mixed-integer LP (HiGHS) with parity, offsets, LP bounds and an exchange loop
# --------------------------------------------------------------------------------------
DEFAULT_LINF_TIME_LIMIT = 120.0
LINF_DEFAULT_POINTS = DEFAULT_GRID_POINTS  # the metric grid (polyfit.metrics), so the certified optimum is the reported max error
# HiGHS stops at an absolute gap of 1e-6 in objective units; scaling the objective makes that
# gap 1e-6/OBJECTIVE_SCALE in units of 2^-F, far below anything that changes the integers.
OBJECTIVE_SCALE = 1e6
# Certified means: no integer vector beats the result by more than CERTIFY_TOL·2^-F in max
# error (HiGHS's feasibility and gap tolerances, after the scalings above, are far below).
CERTIFY_TOL = 1e-6
MAX_EXCHANGE_ROUNDS = 40
POINTS_PER_ROUND = 12


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


def _float_minimax(T, g):
    """Continuous min_c max_i |T c − g|_i by LP (HiGHS); returns (c, error)."""
    from scipy.optimize import linprog

    m, n = T.shape
    ones = np.ones((m, 1))
    A = np.vstack([np.hstack([T, -ones]), np.hstack([-T, -ones])])
    b = np.concatenate([g, -g])
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    res = linprog(cost, A_ub=A, b_ub=b, bounds=[(None, None)] * n + [(0, None)], method="highs")
    if res.status != 0:
        raise ComputationError(f"the float L∞ fit (linprog) failed: {res.message}")
    return res.x[:n], float(res.x[-1])


def _offset_bounds(T, target, cutoff: float):
    """Bounds on offsets d from the LP relaxation |T d − target|_i ≤ cutoff (2n small LPs).

    Every integer solution with error ≤ ``cutoff`` on all grid points satisfies these rows
    (a subset of the grid's), so the bounds never cut off a solution at least as good as the
    incumbent: they are non-binding for the stated problem.
    """
    from scipy.optimize import linprog

    m, n = T.shape
    A = np.vstack([T, -T])
    b = np.concatenate([target + cutoff, cutoff - target])
    lower = np.empty(n)
    upper = np.empty(n)
    for k in range(n):
        cost = np.zeros(n)
        for sign, out in ((1.0, lower), (-1.0, upper)):
            cost[k] = sign
            res = linprog(cost, A_ub=A, b_ub=b, bounds=[(None, None)] * n, method="highs")
            if res.status != 0:
                raise ComputationError(f"bound tightening LP failed: {res.message}")
            out[k] = sign * res.fun
    return np.floor(lower - 1e-6), np.ceil(upper + 1e-6)


def _local_maxima(err: np.ndarray, above: float, count: int) -> np.ndarray:
    """Indices of the ``count`` largest local maxima of |err| that exceed ``above``."""
    a = np.abs(err)
    left = np.concatenate([[-np.inf], a[:-1]])
    right = np.concatenate([a[1:], [-np.inf]])
    peaks = np.flatnonzero((a >= left) & (a >= right) & (a > above))
    return peaks[np.argsort(a[peaks])[::-1][:count]]


def solve_linf(problem: FitProblem):
    """Integer L∞ fit: HiGHS MILP in an exchange loop; certified when HiGHS proves it.

    Variables: integer offsets d_k from the rounded float minimax r_k (a_k = r_k + d_k), and
    E = 2^F·e (the error in integer units, so all rows have O(1) coefficients t_i^k).
    Round j solves min E s.t. |Σ_k t_i^k d_k − 2^F (f_i − p_r(t_i))| ≤ E on a subset S_j of
    the grid, E ≤ E_best (the best full-grid error so far), d within LP-derived bounds that
    keep every solution at least as good as the incumbent. The subset optimum E_j is a lower
    bound of the full-grid optimum; the worst full-grid points of the round's solution are
    added to S until the full-grid error of the best solution equals the largest lower bound.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp

    F = problem.frac_bits
    scale_int = 2.0**F
    time_limit = float(problem.options.get("time_limit", DEFAULT_LINF_TIME_LIMIT))
    if problem.weight is not None:
        raise InputError("weight is for L2 fits; method minimax with bits minimises the plain max error")
    deadline = time.perf_counter() + time_limit
    with Stopwatch() as sw:
        if problem.points is None and problem.samples is None:
            problem = replace(problem, points=LINF_DEFAULT_POINTS)
        x = problem.grid_x()
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
        fixed_a0 = int(round(shift * scale_int)) if parity == "odd" else 0
        # With parity the error is odd/even in t, so the points t ≥ 0 carry the whole problem.
        keep = t >= 0 if parity else np.ones_like(t, dtype=bool)
        tk, gk = t[keep], f[keep] - fixed_a0 / scale_int
        T = tk[:, None] ** powers[None, :]  # integer-unit columns: a_k ↦ t^k a_k / 2^F
        col = np.maximum(np.max(np.abs(T), axis=0), 1e-300)
        c_float, e_float = _float_minimax(T / col, gk)
        c_float = c_float / col
        ref = np.rint(c_float * scale_int)
        target_int = gk * scale_int - T @ ref  # residual of the reference, integer units

        def full_error(offsets):
            return np.abs(T @ offsets - target_int)

        best_d = np.zeros(len(powers))
        best_E = float(np.max(full_error(best_d)))
        naive_error = best_E / scale_int
        bound_rows = _spread(len(tk), 8 * len(powers) + 16)
        # A better first incumbent (as fpminimax does): the closest lattice vector in L2 on
        # Chebyshev-spread points. Its error is the cutoff that shrinks the MILP's search.
        Qb, Rb = np.linalg.qr(T[bound_rows] / col)  # T_b = Qb·Rb·diag(col)
        R_lattice = Rb * col[None, :]
        try:
            lattice_d = _lattice.closest_vector(R_lattice, Qb.T @ target_int[bound_rows], max_nodes=200_000).z.astype(float)
            lattice_E = float(np.max(full_error(lattice_d)))
            if lattice_E < best_E:
                best_d, best_E = lattice_d, lattice_E
        except OverflowError:  # keep the rounded incumbent
            pass
        # Lattice reformulation (Aardal–Hurkens–Lenstra): d = U·v with U the LLL transform of
        # the constraint columns, so branching on v follows short lattice directions.
        try:
            _, _, U, _ = _lattice.lll_reduce_triangular(R_lattice)
            U = U.astype(float)
        except OverflowError:  # scales beyond float64 LLL: branch on the offsets themselves
            U = np.eye(len(powers))
        lo_d, hi_d = _offset_bounds(T[bound_rows], target_int[bound_rows], best_E * (1 + 1e-9) + CERTIFY_TOL)
        bounds_E = best_E
        subset = set(_spread(len(tk), 2 * len(powers) + 4).tolist())
        subset.update(_local_maxima(T @ (c_float * scale_int - ref) - target_int, 0.0, 2 * len(powers)).tolist())
        lower_bound = 0.0
        rounds = []
        status_ok = True
        nodes = 0
        for _ in range(MAX_EXCHANGE_ROUNDS):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                status_ok = False
                break
            if best_E < 0.999 * bounds_E:  # a better incumbent: tighten the offset bounds again
                lo_d, hi_d = _offset_bounds(T[bound_rows], target_int[bound_rows], best_E * (1 + 1e-9) + CERTIFY_TOL)
                bounds_E = best_E
            rows = np.array(sorted(subset))
            n = len(powers)
            TU = T[rows] @ U
            A = np.vstack([np.hstack([TU, -np.ones((len(rows), 1))]),
                           np.hstack([-TU, -np.ones((len(rows), 1))]),
                           np.hstack([U, np.zeros((n, 1))])])
            lo_rows = np.concatenate([np.full(2 * len(rows), -np.inf), lo_d])
            ub = np.concatenate([target_int[rows], -target_int[rows], hi_d])
            cost = np.zeros(n + 1)
            cost[-1] = OBJECTIVE_SCALE
            with _quiet_stdout():
                res = milp(cost, integrality=np.concatenate([np.ones(n), [0]]),
                           bounds=Bounds(np.concatenate([np.full(n, -np.inf), [0.0]]),
                                         np.concatenate([np.full(n, np.inf), [best_E * (1 + 1e-9) + 1e-9]])),
                           constraints=LinearConstraint(A, lo_rows, ub),
                           options={"time_limit": remaining, "mip_rel_gap": 1e-9})
            nodes += int(getattr(res, "mip_node_count", 0) or 0)
            if res.x is None:
                status_ok = False
                rounds.append({"points": len(rows), "status": int(res.status), "message": str(res.message)})
                break
            offsets = U @ np.rint(res.x[:n])
            err = full_error(offsets)
            E = float(np.max(err))
            dual = getattr(res, "mip_dual_bound", None)
            round_lb = float(dual) if dual is not None and np.isfinite(dual) else (float(res.fun) if res.status == 0 else 0.0)
            round_lb /= OBJECTIVE_SCALE
            subset_E = float(res.fun) / OBJECTIVE_SCALE
            lower_bound = max(lower_bound, round_lb - CERTIFY_TOL)
            rounds.append({"points": len(rows), "status": int(res.status), "subset_error": subset_E / scale_int,
                           "grid_error": E / scale_int})
            if E < best_E:
                best_E, best_d = E, offsets
            if res.status != 0:
                status_ok = False
                break
            new = [i for i in _local_maxima(err, subset_E * (1 + 1e-9) + 1e-9, POINTS_PER_ROUND) if i not in subset]
            if best_E <= lower_bound + 2 * CERTIFY_TOL or not new:
                break
            subset.update(new)
        gap = max(best_E - lower_bound, 0.0) / best_E if best_E > 0 else 0.0
        certified = bool(status_ok and best_E <= lower_bound + 2 * CERTIFY_TOL)
        a = np.zeros(d + 1, dtype=np.int64)
        a[powers] = (ref + best_d).astype(np.int64)
        if parity == "odd":
            a[0] = fixed_a0
    stage = Stage.quantized_monomial(a.tolist(), F)
    full_grid_error = float(np.max(np.abs(stage(t) - f)))
    grid_extra = {} if problem.samples is not None else {"grid": {"kind": problem.grid, "points": int(x.size)}}
    objective = problem.objective_dict(
        **grid_extra,
        quantization={"frac_bits": F, "variable": "t = input_scale * x", "coefficients": "a_k * 2^-F, a_k integers"},
        integer_bounds={"lower": _full_bounds(d, powers, ref + lo_d, parity, fixed_a0),
                        "upper": _full_bounds(d, powers, ref + hi_d, parity, fixed_a0),
                        "kind": "derived by LP: every vector at least as good as the first incumbent lies inside (non-binding)",
                        "binding": False},
        target_rounding="none",
        parity=None if parity is None else {"kind": parity, "shift": shift,
                                             "fixed": "a_0 = shift * 2^F" if parity == "odd" else "odd a_k = 0"},
        formula="minimise max_i |sum_k a_k 2^-F t_i^k - f(x_i)|",
    )
    provenance = {
        "solver": "quantized-linf", "backend": "highs", "elapsed_s": sw.elapsed,
        "options": {"frac_bits": F, "time_limit": time_limit, **problem.options},
        "objective_value": full_grid_error,
        "lower_bound": lower_bound / scale_int,
        "mip_gap": gap,
        "certified": certified,
        "float_minimax_error": e_float,
        "naive_rounding_error": naive_error,
        "exchange_rounds": rounds,
        "nodes": nodes,
    }
    if not certified:
        provenance["warnings"] = [f"optimality not certified (time limit {time_limit:g} s, {len(rounds)} exchange rounds, "
                                  f"gap {gap:.2e}); the result is the best found"]
    return assemble(problem.target, problem.domain, [stage], objective=objective, provenance=provenance,
                    input_scale=problem.input_scale, exclude=problem.exclude, frac_bits=F)


class _quiet_stdout:
    """Send file descriptor 1 to /dev/null while HiGHS runs.

    HiGHS's C++ code can print diagnostics straight to fd 1, which would corrupt
    ``polyfit fit --json`` output; Python's sys.stdout is flushed first and restored after.
    """

    def __enter__(self):
        import os
        import sys

        self._saved = None
        try:
            sys.stdout.flush()
            self._saved = os.dup(1)
            self._null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(self._null, 1)
        except (OSError, ValueError):  # no usable fd 1: nothing to protect
            self._saved = None
        return self

    def __exit__(self, *exc):
        import os

        if self._saved is None:
            return False
        os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._null)
        return False


def _spread(m: int, count: int) -> np.ndarray:
    """``count`` indices spread over 0..m−1 at Chebyshev-like spacing (denser at the ends)."""
    u = chebyshev_extrema((0.0, 1.0), min(m, count))
    return np.unique(np.rint(u * (m - 1)).astype(int))


def _full_bounds(d, powers, values, parity, fixed_a0):
    out = [0] * (d + 1)
    for k, v in zip(powers.tolist(), values.tolist()):
        out[k] = int(v)
    if parity == "odd":
        out[0] = fixed_a0
    return out
