"""Integer least squares (closest lattice vector) in numpy only: LLL + Schnorr–Euchner search.

Problem: given an upper-triangular, full-rank R (n×n) and a vector y,

    minimise  ‖R z − y‖²   over integer vectors z,   optionally with  lower ≤ z ≤ upper.

Method:

1. **LLL reduction** (δ = 0.99) of the columns of R, done on the triangular factor itself
   (size reduction by integer column operations, swaps repaired by a Givens rotation), so
   R U = Q' R' with U unimodular (integer, |det U| = 1): z = U w is a bijection of Zⁿ.
2. **Babai's nearest plane** point in the reduced basis gives the first incumbent (clipped
   into the box when there is one); its distance is the initial search radius.
3. **Schnorr–Euchner enumeration** (depth first, children in zig-zag order of distance from
   the level's centre) of every w with ‖R' w − Q'ᵀ y‖² ≤ radius², shrinking the radius to each
   better feasible point found. The box is checked on the leaves (z = U w), so the search is
   exact with and without bounds: the box optimum lies inside the first radius because the
   clipped incumbent is feasible.

When the search finishes, the best point is the certified global optimum (up to float64
rounding of the distances, a relative 1e-12 far below the gaps between lattice points the
solvers here care about). A node limit stops runaway searches; the result then says
``complete=False``.

No scipy: everything is numpy and Python integers, so importing this costs nothing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LLL_DELTA = 0.99
DEFAULT_MAX_NODES = 2_000_000
RADIUS_SLACK = 1e-10


@dataclass(frozen=True)
class LatticeSearchResult:
    """Outcome of :func:`closest_vector`.

    Attributes:
        z: best integer vector found (numpy int64).
        distance_sq: ‖R z − y‖² of ``z``.
        complete: True when the enumeration finished (``z`` is then the global optimum).
        nodes: search-tree nodes visited.
        leaves: complete candidate vectors visited.
        initial_radius_sq: squared radius the search started with (Babai incumbent).
        lll_swaps: swaps done by the LLL reduction.
    """

    z: np.ndarray
    distance_sq: float
    complete: bool
    nodes: int
    leaves: int
    initial_radius_sq: float
    lll_swaps: int


def lll_reduce_triangular(R: np.ndarray, delta: float = LLL_DELTA):
    """LLL-reduce the columns of an upper-triangular ``R``.

    Returns (R_reduced, Q_rot, U) with ``Q_rot @ R_reduced == R @ U`` (up to rounding),
    ``R_reduced`` upper triangular, ``Q_rot`` orthogonal (the product of the Givens
    rotations), ``U`` unimodular int64.
    """
    R = np.array(R, dtype=float)
    n = R.shape[1]
    U = np.eye(n, dtype=np.int64)
    Q = np.eye(n)
    swaps = 0
    k = 1
    limit = 100_000 + 1000 * n * n
    while k < n:
        for j in range(k - 1, -1, -1):  # size reduction of column k
            q = round(R[j, k] / R[j, j])
            if q:
                R[: j + 1, k] -= q * R[: j + 1, j]
                U[:, k] -= q * U[:, j]
        if delta * R[k - 1, k - 1] ** 2 > R[k - 1, k] ** 2 + R[k, k] ** 2:
            R[:, [k - 1, k]] = R[:, [k, k - 1]]
            U[:, [k - 1, k]] = U[:, [k, k - 1]]
            a, b = R[k - 1, k - 1], R[k, k - 1]
            r = math.hypot(a, b)
            c, s = a / r, b / r
            G = np.array([[c, s], [-s, c]])
            R[[k - 1, k], k - 1:] = G @ R[[k - 1, k], k - 1:]
            R[k, k - 1] = 0.0
            Q[:, [k - 1, k]] = Q[:, [k - 1, k]] @ G.T
            swaps += 1
            if swaps > limit:
                break
            k = max(k - 1, 1)
        else:
            k += 1
    if np.max(np.abs(U)) >= 2**52:
        raise OverflowError("LLL transformation entries exceed 2^52")
    return R, Q, U, swaps


def closest_vector(R, y, *, lower=None, upper=None, max_nodes: int = DEFAULT_MAX_NODES) -> LatticeSearchResult:
    """Integer z minimising ‖R z − y‖² (within ``lower ≤ z ≤ upper`` when given).

    Without bounds the search runs in the LLL-reduced basis. With bounds it runs in the
    original coordinates (U = I), where the box prunes every level of the tree directly;
    the caller drops bounds that provably do not bind (see :func:`ellipsoid_box`).

    Args:
        R: (n, n) upper-triangular matrix of full rank.
        y: (n,) target vector.
        lower, upper: optional integer bounds per coordinate (arrays or None).
        max_nodes: stop after this many visited search nodes (then ``complete=False``).

    >>> R = np.array([[1.0, 0.5], [0.0, 2.0]])
    >>> closest_vector(R, np.array([2.2, 3.9])).z.tolist()
    [1, 2]
    """
    R = np.asarray(R, dtype=float)
    y = np.asarray(y, dtype=float)
    n = R.shape[1]
    if n == 0:
        return LatticeSearchResult(np.zeros(0, dtype=np.int64), float(y @ y), True, 0, 0, float(y @ y), 0)
    boxed = lower is not None
    if boxed:
        lo = [int(v) for v in np.asarray(lower)]
        hi = [int(v) for v in np.asarray(upper)]
        if any(a > b for a, b in zip(lo, hi)):
            raise ValueError("empty box: some lower bound exceeds its upper bound")
        Rr, Q, U, swaps = R, np.eye(n), None, 0
    else:
        lo = [-math.inf] * n
        hi = [math.inf] * n
        Rr, Q, U, swaps = lll_reduce_triangular(R)
    yr = Q.T @ y
    rows = Rr.tolist()
    diag = [rows[k][k] for k in range(n)]
    target = yr.tolist()
    U_rows = None if U is None else U.tolist()

    def to_z(w):
        if U_rows is None:
            return list(w)
        return [sum(u * v for u, v in zip(row, w)) for row in U_rows]

    def distance_sq(z):
        r = R @ np.asarray(z, dtype=float) - y
        return float(r @ r)

    # Babai nearest plane (clipped into the box) gives the incumbent and the first radius.
    w = [0] * n
    for k in range(n - 1, -1, -1):
        c = (target[k] - sum(rows[k][j] * w[j] for j in range(k + 1, n))) / diag[k]
        w[k] = int(min(max(round(c), lo[k]), hi[k]))
    best_z = to_z(w)
    best = distance_sq(best_z)
    initial = best

    # Schnorr–Euchner depth-first enumeration: at each level the children come in order of
    # distance from the level's centre (two pointers, one each side, clipped to the box),
    # so the first child outside the sphere ends the level. The slack keeps the incumbent's
    # own leaf inside the sphere despite rounding differences between the two bases.
    radius = best * (1.0 + RADIUS_SLACK) + 1e-300
    centre = [0.0] * n
    up = [0] * n
    down = [0] * n
    partial = [0.0] * (n + 1)
    nodes = leaves = 0
    complete = True

    def start(k):
        c = (target[k] - sum(rows[k][j] * w[j] for j in range(k + 1, n))) / diag[k]
        centre[k] = c
        up[k] = max(math.ceil(c), lo[k])
        down[k] = min(math.ceil(c) - 1, hi[k])

    def take(k):
        """Next child of level k (nearest to the centre first), or None when exhausted."""
        c = centre[k]
        can_up = up[k] <= hi[k]
        can_down = down[k] >= lo[k]
        if can_up and (not can_down or up[k] - c <= c - down[k]):
            v = up[k]
            up[k] += 1
            return v
        if can_down:
            v = down[k]
            down[k] -= 1
            return v
        return None

    k = n - 1
    start(k)
    while True:
        v = take(k)
        if v is not None:
            nodes += 1
            if nodes > max_nodes:
                complete = False
                break
            e = diag[k] * (v - centre[k])
            d = partial[k + 1] + e * e
        if v is None or d > radius:
            k += 1  # this level is exhausted: back up
            if k == n:
                break
            continue
        w[k] = v
        if k == 0:
            leaves += 1
            if d < radius:
                z = to_z(w)
                dz = distance_sq(z)
                if dz < best:
                    best, best_z = dz, z
                radius = d
        else:
            partial[k] = d
            k -= 1
            start(k)
    return LatticeSearchResult(np.asarray(best_z, dtype=np.int64), best, complete, nodes, leaves, initial, swaps)


def ellipsoid_box(R, y, radius_sq: float, margin: int = 1):
    """Integer box containing every z with ‖R z − y‖² ≤ radius_sq.

    With z* = R⁻¹y the continuous optimum, ‖R(z − z*)‖ ≤ ρ implies
    |z_k − z*_k| ≤ ρ·‖row k of R⁻¹‖₂ (Cauchy–Schwarz). ``margin`` widens the box outward
    against rounding. Returns (lower, upper, z_star) as int64, int64, float arrays.
    """
    R = np.asarray(R, dtype=float)
    n = R.shape[1]
    inv = np.linalg.solve(R, np.eye(n))
    z_star = inv @ np.asarray(y, dtype=float)
    half = math.sqrt(max(radius_sq, 0.0)) * np.sqrt(np.sum(inv * inv, axis=1))
    lower = np.floor(z_star - half).astype(np.int64) - margin
    upper = np.ceil(z_star + half).astype(np.int64) + margin
    return lower, upper, z_star
