"""L2 quantization-aware fit: certified integer least squares (``solver="exact"``) or GEKKO.

The polynomial is in the stage variable t = s·x (s = ``input_scale``):

    p(t) = Σ_k a_k 2^-F t^k,   a_k integers,

    minimise  Σ_i w_i (p(t_i) − y_i)²   over integers a, lower ≤ a ≤ upper.

Default formulation: the grid and weights of the problem (``problem.grid_x()``, 1000
uniform points by default), real targets y_i = f(x_i), and integer bounds derived from the
problem so that they are provably non-binding (the box around the continuous optimum that
contains the whole initial search ellipsoid, see :func:`.lattice.ellipsoid_box`).
``compat="pillar"`` is PILLAR's formulation: x_i = numpy.linspace(lo, hi, int((hi − lo)/0.01)),
y_i = trunc(f(x_i)·2^F)/2^F, integers in [−2^(F−1), 2^(F−1)], objective reported in PILLAR's
integer units Σ_i (Σ_j a_j t_i^j − trunc(f(x_i)·2^F))² (= 2^(2F) times the one above).

The exact solver writes the objective as ‖R a − ŷ‖² + ρ² with a well-conditioned
factorisation: the weighted Chebyshev–Vandermonde matrix V (on the t-interval) is V = Q R_c
(R_c from the Cholesky factor of VᵀV, Q never formed), and R = R_c·M·2^-F with M the exact
monomial→Chebyshev change of basis (:func:`polyfit.basis.monomial_to_chebyshev_matrix`), so
the lattice basis R is accurate even for degree 12, F = 20, range 20. ρ² (the residual of the
continuous fit) is the part of the target no polynomial reaches. The integer problem is then
solved by LLL reduction and Schnorr–Euchner enumeration (:mod:`.lattice`): a certified global
optimum. numpy only, so ``polyfit fit --degree 4 --range 5 --bits 10`` stays fast.

``solver="gekko"`` hands the same objective and bounds to GEKKO/APOPT (PILLAR's tool),
for comparison (:mod:`.gekko`).
"""
from __future__ import annotations

import numpy as np

from ... import basis as _basis
from ...approximation import Stage
from ...certificate import Certificate
from ...errors import ComputationError, InputError
from ...problem import FitProblem
from ...reports import Stopwatch, assemble
from . import lattice as _lattice

PILLAR_STEP = 0.01


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
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        R = (Rc @ _basis.monomial_to_chebyshev_matrix(degree, interval)) * 2.0 ** -frac_bits
    diagonal = np.abs(np.diag(R))
    if not (np.all(np.isfinite(R)) and np.all(diagonal > 0)):
        half_width = max(abs(interval[0]), abs(interval[1]))
        raise ComputationError(
            f"the powers t^k (k ≤ {degree}) of |t| ≤ {half_width:.3g} leave float64 (t^{degree} ~ "
            f"{half_width:.3g}^{degree}), so integer coefficients × 2^-{frac_bits} cannot be fitted in t; "
            "use input_scale 'auto' (t = x/max|domain|) or a wider input scale")
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
            from .gekko import gekko_integer_fit

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
    provenance["certificate"] = _l2_certificate(problem.solver, certified, objective_value, continuous_value,
                                                warnings).to_dict()
    if warnings:
        provenance["warnings"] = warnings
    return assemble(problem.target, problem.domain, [stage], objective=objective, provenance=provenance,
                    input_scale=problem.input_scale, exclude=problem.exclude, frac_bits=F)


def _units(problem: FitProblem) -> float:
    """Factor from real units to the units the objective is stated in (PILLAR: 2^(2F))."""
    return 4.0**problem.frac_bits if problem.compat == "pillar" else 1.0


def _l2_certificate(solver: str, certified: bool, value: float, continuous_value: float, warnings) -> Certificate:
    """Enumeration finished: the value is the optimum; stopped early: the continuous optimum
    bounds it from below; GEKKO (a local search) proves nothing."""
    if solver == "gekko":
        return Certificate("heuristic", False, value, None, "GEKKO/APOPT is a local branch and bound: no bound")
    if certified:
        return Certificate("lattice-enumeration", True, value, value, "enumeration complete: global integer optimum")
    return Certificate("lattice-enumeration", False, value, min(continuous_value, value),
                       warnings[0] if warnings else "enumeration stopped early")
