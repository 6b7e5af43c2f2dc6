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

    Returns (R_reduced, Q_rot, U, swaps) with ``Q_rot @ R_reduced == R @ U`` (up to
    rounding), ``R_reduced`` upper triangular, ``Q_rot`` orthogonal (the product of the Givens
    rotations), ``U`` unimodular int64, ``swaps`` the number of column swaps.
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
            if abs(q) >= 2**52:
                raise OverflowError("LLL size-reduction multiplier exceeds 2^52: the basis spans "
                                    "more scales than float64 resolves")
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


def closest_vector(R, y, *, lower=None, upper=None, max_nodes: int = DEFAULT_MAX_NODES,
                   start=None) -> LatticeSearchResult:
    """Integer z minimising ‖R z − y‖² (within ``lower ≤ z ≤ upper`` when given).

    Without bounds the search runs in the LLL-reduced basis. With bounds, the coordinates
    the box holds (the incumbent sits on a bound, or the continuous optimum lies outside)
    are moved to the top of the tree, where the box prunes each level directly; the other
    coordinates are LLL-reduced beneath them and checked against the box at the leaves.
    Callers drop bounds that provably do not bind (see :func:`ellipsoid_box`).

    Args:
        R: (n, n) upper-triangular matrix of full rank.
        y: (n,) target vector.
        lower, upper: optional integer bounds per coordinate (arrays or None).
        max_nodes: stop after this many visited search nodes (then ``complete=False``).
        start: optional integer point; with bounds it is clipped into the box and improved
            by coordinate descent, and the better of it and Babai's point is the incumbent.

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
    box_lo = [int(v) for v in np.asarray(lower)] if boxed else None
    box_hi = [int(v) for v in np.asarray(upper)] if boxed else None
    if boxed and any(a > b for a, b in zip(box_lo, box_hi)):
        raise ValueError("empty box: some lower bound exceeds its upper bound")

    def distance_sq(z):
        r = R @ np.asarray(z, dtype=float) - y
        return float(r @ r)

    def feasible(z):
        return not boxed or all(a <= v <= b for a, v, b in zip(box_lo, z, box_hi))

    if boxed:
        # Incumbent: Babai in the original coordinates, clipped, then coordinate descent.
        z0 = [0] * n
        for k in range(n - 1, -1, -1):
            c = (y[k] - sum(R[k, j] * z0[j] for j in range(k + 1, n))) / R[k, k]
            z0[k] = int(min(max(round(c), box_lo[k]), box_hi[k]))
        best_z = _coordinate_descent(R, y, z0, box_lo, box_hi)
        if start is not None:
            clipped = [int(min(max(int(v), a), b)) for v, a, b in zip(start, box_lo, box_hi)]
            other = _coordinate_descent(R, y, clipped, box_lo, box_hi)
            if distance_sq(other) < distance_sq(best_z):
                best_z = other
        # Coordinates the box holds (incumbent on a bound, or continuous optimum outside)
        # become the top levels of the tree, where the box prunes directly; the others are
        # LLL-reduced below them and checked against the box at the leaves.
        z_star = np.linalg.solve(R, y)
        held = [k for k in range(n) if best_z[k] in (box_lo[k], box_hi[k])
                or not box_lo[k] <= z_star[k] <= box_hi[k]]
    else:
        best_z, held = None, []
    free = [k for k in range(n) if k not in held]
    order = free + held
    if order == list(range(n)):
        R1, y1 = R.copy(), y.copy()
    else:
        Q1, R1 = np.linalg.qr(R[:, order])
        y1 = Q1.T @ y
    n_free = len(free)
    U_free = np.eye(n_free, dtype=np.int64)
    swaps = 0
    if n_free:
        Rf, Qf, U_free, swaps = lll_reduce_triangular(R1[:n_free, :n_free])
        R1[:n_free, n_free:] = Qf.T @ R1[:n_free, n_free:]
        R1[:n_free, :n_free] = Rf
        y1[:n_free] = Qf.T @ y1[:n_free]
    lo = [-math.inf] * n_free + ([box_lo[k] for k in held] if boxed else [])
    hi = [math.inf] * n_free + ([box_hi[k] for k in held] if boxed else [])
    rows = R1.tolist()
    diag = [rows[k][k] for k in range(n)]
    target = y1.tolist()
    U_rows = U_free.tolist()

    def to_z(w):
        z = [0] * n
        for i, row in enumerate(U_rows):
            z[order[i]] = sum(u * v for u, v in zip(row, w[:n_free]))
        for i in range(n_free, n):
            z[order[i]] = w[i]
        return z

    w = [0] * n
    if best_z is None:
        # Babai nearest plane in the reduced basis gives the incumbent and the first radius.
        for k in range(n - 1, -1, -1):
            c = (target[k] - sum(rows[k][j] * w[j] for j in range(k + 1, n))) / diag[k]
            w[k] = int(round(c))
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
                if feasible(z):
                    dz = distance_sq(z)
                    if dz < best:
                        best, best_z = dz, z
                    radius = d
        else:
            partial[k] = d
            k -= 1
            start(k)
    return LatticeSearchResult(np.asarray(best_z, dtype=np.int64), best, complete, nodes, leaves, initial, swaps)


def _coordinate_descent(R, y, z, lo, hi, max_passes: int = 200):
    """Improve an integer point inside the box one coordinate at a time (exact 1-D minimum).

    Only a better incumbent for the box-constrained search (a smaller first radius); the
    enumeration afterwards is what makes the answer optimal.
    """
    z = np.asarray(z, dtype=float)
    r = R @ z - y
    norms = np.sum(R * R, axis=0)
    for _ in range(max_passes):
        changed = False
        for k in range(len(z)):
            step = -(R[:, k] @ r) / norms[k]
            new = min(max(round(z[k] + step), lo[k]), hi[k])
            if new != z[k]:
                delta = new - z[k]
                trial = r + delta * R[:, k]
                if trial @ trial < r @ r:
                    r, z[k], changed = trial, new, True
        if not changed:
            break
    return [int(v) for v in z]


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
