"""The problem the exchange solves: a weighted Chebyshev space on a union of intervals.

    minimise over c   E(c) = max_{u ∈ S} |e(u)|,   e(u) = w(u)·Σ_{k∈K} c_k T_k(u) − g(u),

with S = ∪ [a_j, b_j] ⊂ [-1, 1] (sorted, disjoint pieces), K a set of Chebyshev degrees,
w > 0 a weight (1 when absent) and g the target. The n = |K| functions w·T_k must span a Haar
space on S (all degrees 0..d on any S; the even degrees on S ⊂ [0, 1]; the odd degrees on
S ⊂ (0, 1]; any of these times a positive w), so the best approximation is unique and its
error equioscillates on n + 1 points of S, possibly spread over several pieces.

When the target's derivative g′ (and the weight's w′) are given, the engine refines extrema
by solving e′ = 0 (Illinois steps); without them, by golden-section search on |e|, which is
exact at kinks too. Callables receive arrays in the run's arithmetic (float or mpmath objects).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numpy.polynomial import chebyshev as C

from ... import basis as _basis
from ...basis import chebyshev_extrema


@dataclass(frozen=True)
class RemezProblem:
    """A minimax problem for :func:`polyfit.solvers.remez.remez` (see module docstring).

    Attributes:
        target: g(u), array in, array out.
        pieces: sorted disjoint (a, b) with −1 ≤ a < b ≤ 1: the set S.
        degrees: the Chebyshev degrees K (coefficients are returned in this order).
        breakpoints: points of S where g or a derivative jumps (always sampled).
        weight: u ↦ (w(u), w′(u)), w > 0 on S; None for w ≡ 1.
        target_slope: g′(u); given, extrema are refined on e′ = 0, else by golden section.
    """

    target: Callable
    pieces: tuple
    degrees: tuple
    breakpoints: tuple = ()
    weight: Callable | None = None
    target_slope: Callable | None = None

    def __post_init__(self):
        object.__setattr__(self, "degrees", tuple(int(k) for k in self.degrees))
        object.__setattr__(self, "pieces", tuple((a, b) for a, b in self.pieces))
        object.__setattr__(self, "breakpoints", tuple(float(b) for b in self.breakpoints))

    @property
    def size(self) -> int:
        """n = |K|: unknowns; a reference has n + 1 points."""
        return len(self.degrees)

    @property
    def smooth(self) -> bool:
        """The derivative e′ is available (extrema refined by Illinois on e′)."""
        return self.target_slope is not None

    def _weight(self, u):
        if self.weight is None:
            return None, None
        return self.weight(u)

    def columns(self, u):
        """(Φ, Φ′): matrices len(u) × n of w·T_k and d/du (w·T_k) at the points u."""
        vander, slopes = _basis.chebyshev_vander(u, self.degrees, slopes=True)
        w, dw = self._weight(u)
        if w is None:
            return vander, slopes
        return vander * w[:, None], slopes * w[:, None] + vander * dw[:, None]

    def rows(self, u):
        """Φ only (the levelled system's matrix without the alternating column)."""
        vander = _basis.chebyshev_vander(u, self.degrees)
        w, _ = self._weight(u)
        return vander if w is None else vander * w[:, None]

    def error(self, coefficients, u, target_values=None, weight_values=None):
        """e(u) = w·p − g; ``target_values``/``weight_values`` reuse g(u) and w(u) when known."""
        p = _basis.chebyshev_series(coefficients, self.degrees, u)
        if self.weight is not None:
            p = p * (weight_values if weight_values is not None else self.weight(u)[0])
        return p - (target_values if target_values is not None else self.target(u))

    def evaluate(self, coefficients, u):
        """(e, e′) at the points u (e′ needs ``target_slope``)."""
        return self.error(coefficients, u), self.slope_of(coefficients)(u)

    def slope_of(self, coefficients):
        """u ↦ e′(u) for fixed coefficients (the series and its derivative formed once)."""
        full = _basis.chebyshev_full(coefficients, self.degrees)
        derivative = C.chebder(full) if full.size > 1 else full[:1] * 0
        target_slope, weight = self.target_slope, self.weight

        def slope(u):
            u = u if u.dtype == object else np.asarray(u, dtype=float)
            dp = C.chebval(u, derivative)
            if weight is None:
                return dp - target_slope(u)
            w, dw = weight(u)
            return dw * C.chebval(u, full) + w * dp - target_slope(u)

        return slope

    def slope(self, coefficients, u):
        """e′(u)."""
        return self.slope_of(coefficients)(np.asarray(u))


def dense_grid(pieces, points_per_piece: int, breakpoints=()) -> tuple[np.ndarray, np.ndarray]:
    """Chebyshev–Lobatto points of each piece (ends included) plus interior breakpoints.

    Returns (u, piece_index), sorted by u (float64).
    """
    us, ids = [], []
    for index, (a, b) in enumerate(pieces):
        a, b = float(a), float(b)
        u = chebyshev_extrema((a, b), points_per_piece)
        inner = [float(p) for p in breakpoints if a < p < b]
        u = np.unique(np.concatenate([u, inner, [a, b]]))
        us.append(u)
        ids.append(np.full(u.size, index))
    u = np.concatenate(us)
    order = np.argsort(u, kind="stable")
    return u[order], np.concatenate(ids)[order]


def piece_of(points, pieces) -> np.ndarray:
    """Index of the piece holding each point (float comparison)."""
    values = np.asarray(points, dtype=float)
    out = np.zeros(values.size, dtype=int)
    for index, (a, b) in enumerate(pieces):
        out[(values >= float(a)) & (values <= float(b))] = index
    return out


def spread_reference(pieces, count: int) -> np.ndarray:
    """``count`` Chebyshev extrema spread over the pieces in proportion to their lengths."""
    pieces = [(float(a), float(b)) for a, b in pieces]
    total = sum(b - a for a, b in pieces)
    s = chebyshev_extrema((0.0, total), count)
    out = []
    offset = 0.0
    for a, b in pieces:
        length = b - a
        inside = s[(s >= offset) & (s <= offset + length)]
        out.extend(a + inside - offset)
        offset += length
    return np.unique(np.asarray(out[:count]))
