"""One Remez exchange engine for every L∞ fit of the project.

Problem (:class:`RemezProblem`): given g on a compact set S = ∪ [a_j, b_j] ⊂ [-1, 1] (the
window variable u), a weight w > 0 and a set K of Chebyshev degrees, find

    p*(u) = Σ_{k∈K} c_k T_k(u)   minimising   E(p) = max_{u∈S} |w(u)·p(u) − g(u)|.

When the w·T_k span a Haar space on S, p* is unique and its error equioscillates on n + 1
points of S (n = |K|, Chebyshev's alternation theorem), which may lie in different pieces.

The engine, in float64 or mpmath (:class:`Arithmetic`):

- :mod:`.exchange` — the loop: levelled solve on a reference, extrema, exchange by the
  |e| ≥ |h| rule and the window containing the global maximum, the de la Vallée Poussin
  certificate lower = min |e(reference)| ≤ E* ≤ upper = max |e|;
- :mod:`.extrema` — the alternating extrema of e on a grid of each piece, refined by
  Illinois steps on e′ (when derivatives are given) or by golden-section search;
- :mod:`.problem` — the weighted Chebyshev space and its grids; :mod:`.arithmetic`.

Callers: :mod:`polyfit.solvers.minimax` (parity-reduced Chebyshev problems of any continuous
target), :mod:`polyfit.solvers.composite.sign` (the odd sign stages, w(t) = x(t), float64
then mpmath), and :func:`discrete_minimax`, the same exchange on a finite set of rows (the
quantized solver's float start).
"""
from .arithmetic import EPS, FLOAT64, ROUNDING_FACTOR, Arithmetic
from .exchange import NotConverged, RemezResult, choose_reference, discrete_minimax, least_squares, levelled_solution, remez
from .extrema import alternating_extrema, merge_same_sign
from .problem import RemezProblem, dense_grid

__all__ = ["Arithmetic", "EPS", "FLOAT64", "NotConverged", "ROUNDING_FACTOR", "RemezProblem", "RemezResult", "alternating_extrema",
           "choose_reference", "dense_grid", "discrete_minimax", "least_squares", "levelled_solution",
           "merge_same_sign", "remez"]
