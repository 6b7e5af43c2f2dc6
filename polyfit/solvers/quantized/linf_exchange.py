"""Exchange rounds of the quantized L∞ MILP (HiGHS), around a fixed incumbent.

Variables: integers v (a = a₀ + U v, a₀ the incumbent, U the LLL transform of
:func:`.linf_incumbent.lattice_start`) and η, the max error in units of the incumbent's
error E₀. Round j solves, on a subset S_j of the kept grid points,

    minimise η   s.t.   |e_i(a₀)/E₀ + (G v)_i| ≤ η  (i ∈ S_j),   η ≤ E_best/E₀,
    G = 2^-F·V·(B U)/E₀,

(V: Chebyshev rows T_j(u_i), bounded by 1; B U computed exactly; every row and the
right-hand side O(1), whatever F and the degree). Columns of G whose largest entry is below
HiGHS's feasibility tolerance (a unit step moves the error by less than 10⁻⁷·E₀: the lattice is
finer than anything the model resolves there) are relaxed to continuous and rounded after;
the relaxation only lowers the bound, so the bound stays valid. When |a₀| is near 2^53 the
rows −2^53 ≤ a₀ + U v ≤ 2^53 are added.

The subset optimum (HiGHS's dual bound when it stops early) is a lower bound of the full-grid
optimum. The worst local maxima of the round's solution on the full grid join S, until no
point of the grid is above the subset optimum or the time runs out. HiGHS runs get
:data:`FIRST_RUN_LIMIT` seconds, doubled after each run that was cut short but found a better
point; a cut-short run that found nothing better ends the search ("stalled"), since branch and
bound that stops improving rarely improves later and the incumbent plus bound is the answer.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ...basis import chebyshev_extrema
from .highs import run_milp
from .linf_setup import MAX_INTEGER, LinfSetup

MAX_EXCHANGE_ROUNDS = 40
POINTS_PER_ROUND = 12
#: a column whose unit step moves the scaled error by less than this is relaxed to continuous
CONTINUOUS_COLUMN = 1e-7
#: HiGHS's feasibility tolerance on the scaled rows: bounds are lowered by it to stay valid
FEASIBILITY = 1e-7
MIP_REL_GAP = 1e-7
BOUND_ROWS_ABOVE = 2**51
#: the first HiGHS run of a round gets this many seconds, doubled while cut-short runs improve
FIRST_RUN_LIMIT = 1.0


@dataclass
class ExchangeState:
    """The best point found, the best lower bound, and a record of every round."""

    best: np.ndarray
    best_error: float
    lower_bound: float
    rounds: list = field(default_factory=list)
    nodes: int = 0
    cause: str = ""          # why the loop stopped without a proof ("" when it got one)


def exchange(setup: LinfSetup, incumbent: np.ndarray, U: np.ndarray, state: ExchangeState, deadline: float,
             rtol: float) -> ExchangeState:
    """Improve ``state`` by MILP exchange rounds until certified (gap ≤ rtol), stalled or out of time."""
    a0 = np.array([int(v) for v in incumbent], dtype=object)
    e0 = setup.errors(a0)
    E0 = float(np.max(np.abs(e0)))
    if E0 == 0.0:
        state.lower_bound = state.best_error = 0.0
        return state
    F = setup.frac_bits
    G = setup.vander @ setup.basis_times(U) * (2.0**-F / E0)
    r = e0 / E0
    n = setup.n
    colmax = np.max(np.abs(G), axis=0)
    integral = colmax >= CONTINUOUS_COLUMN
    # Relaxed columns are scaled to unit size: HiGHS drops entries below 1e-9, and a relaxed
    # variable may be large, so an unscaled tiny column would vanish from its model.
    col_scale = np.where(integral | (colmax == 0.0), 1.0, 1.0 / np.where(colmax > 0, colmax, 1.0))
    G = G * col_scale[None, :]
    bound_rows = max(abs(int(v)) for v in a0) > BOUND_ROWS_ABOVE
    subset = set(_spread(len(r), 2 * n + 4).tolist())
    subset.update(local_maxima(e0, 0.0, 2 * n).tolist())
    Uf = np.asarray(U, dtype=float)
    run_limit = FIRST_RUN_LIMIT
    for _ in range(MAX_EXCHANGE_ROUNDS):
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            state.cause = state.cause or "time limit reached before the exchange finished"
            break
        this_limit = min(remaining, run_limit)
        rows = np.array(sorted(subset))
        cutoff = state.best_error / E0 * (1 + 1e-9) + 1e-12
        A = np.vstack([np.hstack([G[rows], -np.ones((len(rows), 1))]),
                       np.hstack([-G[rows], -np.ones((len(rows), 1))])])
        lo = np.full(2 * len(rows), -np.inf)
        hi = np.concatenate([-r[rows], r[rows]])
        if bound_rows:
            A = np.vstack([A, np.hstack([Uf, np.zeros((n, 1))])])
            a0f = np.array([float(v) for v in a0])
            lo = np.concatenate([lo, -MAX_INTEGER - a0f])
            hi = np.concatenate([hi, MAX_INTEGER - a0f])
        cost = np.zeros(n + 1)
        cost[-1] = 1.0
        out = run_milp(cost, np.concatenate([integral.astype(float), [0.0]]),
                       np.concatenate([np.full(n, -np.inf), [0.0]]), np.concatenate([np.full(n, np.inf), [cutoff]]),
                       A, lo, hi, time_limit=this_limit, mip_rel_gap=MIP_REL_GAP)
        state.nodes += out.nodes
        record = {"points": int(len(rows)), "status": out.status, "message": out.message[:120]}
        if out.x is None:
            if out.dual_bound is not None and out.status != 2:
                state.lower_bound = max(state.lower_bound, (out.dual_bound - FEASIBILITY) * E0)
            state.rounds.append(record)
            state.cause = out.cause
            break
        v = np.rint(out.x[:n] * col_scale)
        a = a0 + np.array([int(s) for s in U.astype(object).dot(np.array([int(s) for s in v], dtype=object))],
                          dtype=object)
        if max(abs(int(s)) for s in a) > MAX_INTEGER and not bound_rows:
            bound_rows = True  # the bound binds after all: solve the round again with its rows
            state.rounds.append({**record, "note": "solution beyond 2^53: bound rows added"})
            continue
        err = setup.errors(a)
        E = float(np.max(np.abs(err)))
        subset_error = float(out.fun) * E0
        # HiGHS's point must satisfy its rows (up to the rounding of relaxed columns); if it does
        # not, its model was not ours and neither its optimum nor its bound can be trusted.
        exact_subset = float(np.max(np.abs(err[rows])))
        rounding = 0.5 * float(np.sum(colmax[~integral])) * E0 + FEASIBILITY * E0
        trusted = exact_subset <= subset_error + rounding + 1e-6 * E0
        record.update(subset_error=subset_error, grid_error=E)
        state.rounds.append(record)
        if trusted and out.dual_bound is not None:
            state.lower_bound = max(state.lower_bound, (out.dual_bound - FEASIBILITY) * E0)
        if not trusted:
            record["note"] = f"HiGHS's point has subset error {exact_subset:.3e} > its optimum {subset_error:.3e}"
            state.cause = ("HiGHS: numerical trouble (its solution violates its own rows: subset error "
                           f"{exact_subset:.3e} against its optimum {subset_error:.3e})")
        improved = E < state.best_error and max(abs(int(s)) for s in a) <= MAX_INTEGER
        if improved:
            state.best, state.best_error = a, E
        if not trusted:
            break
        new = [i for i in local_maxima(err, subset_error * (1 + 1e-9) + 1e-300, POINTS_PER_ROUND).tolist()
               if i not in subset]
        if not out.optimal:
            # A run cut short: go on (longer run, more points) while it still finds better points.
            if out.status != 1 or this_limit >= remaining or not improved:
                state.cause = out.cause if out.status != 1 or this_limit >= remaining else (
                    f"branch and bound stalled: no better point in a {this_limit:.3g} s run")
                break
            run_limit *= 2.0
            subset.update(new)
            continue
        if state.best_error - state.lower_bound <= rtol * state.best_error or not new:
            break
        subset.update(new)
    else:
        state.cause = state.cause or f"{MAX_EXCHANGE_ROUNDS} exchange rounds without closing the gap"
    return state


def local_maxima(err: np.ndarray, above: float, count: int) -> np.ndarray:
    """Indices of the ``count`` largest local maxima of |err| that exceed ``above``."""
    a = np.abs(err)
    left = np.concatenate([[-np.inf], a[:-1]])
    right = np.concatenate([a[1:], [-np.inf]])
    peaks = np.flatnonzero((a >= left) & (a >= right) & (a > above))
    return peaks[np.argsort(a[peaks])[::-1][:count]]


def _spread(m: int, count: int) -> np.ndarray:
    """``count`` indices spread over 0..m−1 at Chebyshev-like spacing (denser at the ends)."""
    u = chebyshev_extrema((0.0, 1.0), min(m, count))
    return np.unique(np.rint(u * (m - 1)).astype(int))
