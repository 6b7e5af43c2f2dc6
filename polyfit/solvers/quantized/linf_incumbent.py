"""Starting points and lower bounds of the quantized L∞ problem (see :mod:`.linf_setup`).

1. **Float reference**: the true (continuous) minimax polynomial from the project's Remez
   (:func:`polyfit.solvers.minimax.solve`); when Remez does not apply (samples, a jump), the
   minimax on the grid by the same engine's discrete exchange
   (:func:`polyfit.solvers.remez.discrete_minimax`, Chebyshev columns), with an LP (HiGHS)
   only where that exchange fails (:func:`grid_minimax` says when).
2. **Lower bound** (de la Vallée Poussin on the grid): if the reference's error alternates in
   sign on n + 1 kept grid points (n free integers; the parity class is a Haar system on
   t ≥ 0), every polynomial of the class, integer or not, has error ≥ min |e| there.
3. **Incumbents**: the reference's monomial integers rounded (exactly: back substitution in
   rationals), and the closest lattice vector (LLL + Schnorr–Euchner, :mod:`.lattice`) to the
   reference in Chebyshev coordinates with a ridge λ‖a‖ that keeps |a_k| within 2^53 — the
   L2 proxy of the sup norm behind Sollya's fpminimax. The LLL transform U it computes makes
   the MILP's columns short (:mod:`.linf_exchange`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ...errors import ComputationError, InputError
from ..remez import NotConverged, discrete_minimax
from . import lattice as _lattice
from .highs import run_lp
from .linf_setup import MAX_INTEGER, LinfSetup

LATTICE_MAX_NODES = 20_000
#: relative gaps the grid exchange is asked for in turn: the second only when the first does not
#: converge
#: (tanh d31 on 5000 clustered samples stalls at 2.6e-8 and meets 1e-7 in 5 iterations)
GRID_EXCHANGE_TOLS = (1e-9, 1e-7)


@dataclass(frozen=True)
class FloatReference:
    """Chebyshev coefficients (value units, over ``setup.interval``, all d + 1) of the float
    minimax, its continuous max error (None when only the grid LP ran), and where it came from."""

    chebyshev: np.ndarray
    error: float | None
    source: str
    note: str = ""


def float_reference(setup: LinfSetup, time_limit: float) -> FloatReference:
    """The continuous minimax from Remez, else the grid minimax by LP."""
    from .. import minimax

    p = setup.problem
    float_problem = replace(p, frac_bits=None, points=None, grid="uniform", samples=None, weight=None,
                            basis="chebyshev", solver="exact", compat=None, options={})
    try:
        approx = minimax.solve(float_problem)
    except (InputError, ComputationError) as exc:
        cheb, source, note = grid_minimax(setup, time_limit)
        why = f"Remez does not apply ({' '.join(str(exc).split())[:120]}); the float reference is the minimax on the grid"
        return FloatReference(cheb, None, source, f"{why} ({note})" if note else why)
    stage = approx.stages[0]
    prov = approx.provenance
    cert = prov.get("certificate") or {}
    error = cert.get("value", prov.get("upper_bound", approx.metrics.get("max_abs_error")))
    cheb = rebase(np.asarray(stage.coefficients, dtype=float), stage.interval, setup.interval)
    return FloatReference(cheb, None if error is None else float(error), "remez")


def rebase(cheb, old_interval, new_interval) -> np.ndarray:
    """The same polynomial in Chebyshev coefficients over ``new_interval`` (interpolation at
    d + 1 Chebyshev points, exact for a polynomial of degree d up to rounding)."""
    cheb = np.asarray(cheb, dtype=float)
    if tuple(old_interval) == tuple(new_interval):
        return cheb.copy()
    d = len(cheb) - 1
    from ...basis import to_window

    u = np.cos(np.pi * (np.arange(d + 1) + 0.5) / (d + 1))
    lo, hi = new_interval
    t = 0.5 * (hi + lo) + 0.5 * (hi - lo) * u
    values = np.polynomial.chebyshev.chebval(to_window(t, old_interval), cheb)
    return np.linalg.solve(np.polynomial.chebyshev.chebvander(u, d), values)


def grid_minimax(setup: LinfSetup, time_limit: float) -> tuple[np.ndarray, str, str]:
    """Float minimax of the parity class on the kept grid points: (Chebyshev coefficients over
    ``setup.interval``, all d + 1; source; note).

    min_c max_i |Σ_k c_k T_k(u_i) − g_i| by the Remez engine's discrete exchange (source
    "grid exchange"): wherever it converges (jumps to degree 63 on the grid, clustered samples
    to degree 31) its error is never above the LP's and up to 9 % below it, in 0.01–0.95× the
    LP's time (docs/solvers/quantized.md). Where it fails — samples clustered near 0 at high
    degree, whose levelled systems have condition numbers up to 1e17 in float64 (the error
    loses its alternation) — the LP below runs instead (source "grid LP", the exchange's message
    as the note): HiGHS still returns a valid polynomial there, which is all the reference needs.
    """
    for tol in GRID_EXCHANGE_TOLS:
        try:
            result = discrete_minimax(setup.vander, setup.g, tol=tol, label="the grid minimax")
        except NotConverged as exc:
            failure = exc
            continue
        except ComputationError as exc:
            failure = exc
            break
        return _full_chebyshev(setup, np.asarray(result.coefficients, dtype=float)), "grid exchange", ""
    note = f"LP fallback: {' '.join(str(failure).split())[:160]}"
    return _full_chebyshev(setup, _grid_lp(setup, time_limit)), "grid LP", note


def _grid_lp(setup: LinfSetup, time_limit: float) -> np.ndarray:
    """The fallback of :func:`grid_minimax`: least squares, then an LP in the offsets from it
    scaled by its max residual (so HiGHS sees O(1) rows and values); the free coefficients."""
    V, g = setup.vander, setup.g
    c_ls = np.linalg.lstsq(V, g, rcond=None)[0]
    r = g - V @ c_ls
    scale = float(np.max(np.abs(r)))
    coef = c_ls
    if scale > 0:
        m, n = V.shape
        ones = np.ones((m, 1))
        A = np.vstack([np.hstack([V, -ones]), np.hstack([-V, -ones])])
        b = np.concatenate([r / scale, -r / scale])
        cost = np.zeros(n + 1)
        cost[-1] = 1.0
        out = run_lp(cost, A, b, [(None, None)] * n + [(0, None)], time_limit=time_limit)
        if out.x is not None:
            coef = c_ls + scale * out.x[:n]
    return coef


def _full_chebyshev(setup: LinfSetup, coef: np.ndarray) -> np.ndarray:
    """All d + 1 Chebyshev coefficients from the free ones (the fixed a_0 of odd parity added)."""
    full = np.zeros(setup.problem.degree + 1)
    full[setup.powers] = coef
    if setup.parity == "odd":
        full[0] = setup.fixed_a0 * 2.0 ** -setup.frac_bits
    return full


def alternation_lower_bound(errors: np.ndarray, n: int) -> float:
    """max over windows of n + 1 consecutive sign-alternating extrema of min |e| (0 if fewer).

    De la Vallée Poussin: on points where a class member's error alternates in sign, every
    member of an n-dimensional Haar class has max error ≥ the smallest |e| among them.
    """
    e = np.asarray(errors, dtype=float)
    nonzero = np.flatnonzero(e != 0.0)
    if nonzero.size == 0:
        return 0.0
    signs = np.sign(e[nonzero])
    breaks = np.flatnonzero(np.diff(signs) != 0) + 1
    segments = np.split(np.abs(e[nonzero]), breaks)
    peaks = np.array([float(np.max(s)) for s in segments])
    if peaks.size < n + 1:
        return 0.0
    windows = np.lib.stride_tricks.sliding_window_view(peaks, n + 1)
    return float(np.max(np.min(windows, axis=1)))


def rounded_integers(setup: LinfSetup, reference: FloatReference) -> np.ndarray:
    """round(2^F × the reference's monomial coefficients) of the free powers, within ±2^53."""
    z = reference.chebyshev[setup.powers] * 2.0**setup.frac_bits
    real = setup.real_integers(z)
    return np.array([max(-MAX_INTEGER, min(MAX_INTEGER, round(v))) for v in real], dtype=object)


@dataclass(frozen=True)
class LatticeStart:
    """Closest-vector incumbent (None when LLL could not run in float64) and the LLL transform
    U of the ridge-embedded basis (identity when not available), with a note on what failed."""

    integers: np.ndarray | None
    U: np.ndarray
    note: str = ""


def lattice_start(setup: LinfSetup, reference: FloatReference, error_scale: float,
                  max_nodes: int = LATTICE_MAX_NODES) -> LatticeStart:
    """CVP: min ‖B a − 2^F c*‖² + λ²‖a‖² over integers a, λ = 2^F·error_scale / 2^50.

    B (exact Chebyshev coordinates of the free monomials, integer units) is triangular; the
    ridge rows λI make vectors with huge monomial integers long, so the reduced basis and the
    incumbent stay within the 2^53 bound. The transform U (a = U w) is returned for the MILP.
    """
    n = setup.n
    B = np.array([[int(v) / (1 << setup.denominator_bits) for v in row] for row in setup.basis_int], dtype=float)
    z = reference.chebyshev[setup.powers] * 2.0**setup.frac_bits
    lam = max(error_scale * 2.0**setup.frac_bits, 1e-300) / 2.0**50
    Q, R = np.linalg.qr(np.vstack([B, lam * np.eye(n)]))
    R, Q = _positive_diagonal(R, Q)
    y = Q.T @ np.concatenate([z, np.zeros(n)])
    try:
        R_red, Q_rot, U, _ = _lattice.lll_reduce_triangular(R)
        found = _lattice.closest_vector(R_red, Q_rot.T @ y, max_nodes=max_nodes)
    except (OverflowError, np.linalg.LinAlgError, ValueError) as exc:
        return LatticeStart(None, np.eye(n, dtype=np.int64), f"lattice reduction skipped ({exc})")
    a = np.array([int(v) for v in U.astype(object).dot(np.array([int(w) for w in found.z], dtype=object))],
                 dtype=object)
    if max(abs(int(v)) for v in a) > MAX_INTEGER:
        return LatticeStart(None, U, "closest vector exceeds 2^53")
    return LatticeStart(a, U)


def best_lattice_start(setup: LinfSetup, reference: FloatReference, float_error: float, max_tries: int = 6):
    """:func:`lattice_start` over ridge scales float_error·10^k, k = 0, 1, …: a small ridge
    lets the integers grow towards the float minimax's (best when they fit in 2^53); a larger
    one trades error for smaller integers (needed at high degree). Stops once the error stops
    improving after a valid point; returns (best start, errors tried)."""
    best, tried = None, []
    scale = max(float_error, 2.0 ** -setup.frac_bits * 1e-9)
    for _ in range(max_tries):
        start = lattice_start(setup, reference, scale)
        err = setup.max_error(start.integers) if start.integers is not None else None
        tried.append(err)
        if err is not None and (best is None or err < best[0]):
            best = (err, start)
        elif best is not None:
            break
        if start.integers is None and start.note.startswith("lattice reduction skipped"):
            break
        scale *= 10.0
    return (best[1] if best else start), tried


def _positive_diagonal(R, Q):
    signs = np.where(np.diag(R) < 0, -1.0, 1.0)
    return R * signs[:, None], Q * signs[None, :]
