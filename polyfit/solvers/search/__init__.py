"""Bayesian optimisation of polynomial degree and fit range (Sisyphus): ``pf.search``.

Search space: degree d from a finite set (a range such as 2..9, or depth-efficient values
3, 7, 15, 31) × fit range a ∈ [a_lo, a_hi] on a log scale (the fit domain is [−a, a]),
optionally × fractional bits and × fitting method. Each point is fitted with
:func:`polyfit.fit` and scored by an objective (:mod:`.objectives`; importable as
:mod:`polyfit.search_objectives`).

The search, in order:

- degrees that fit the same polynomial as a lower degree because of the target's parity
  (ReLU, SiLU, GELU: 2k and 2k + 1) are left out and reported (:mod:`.twins`);
- the first ``n_initial`` points are a scrambled Sobol sequence (seeded), discrete
  coordinates mapped to equal-mass bins;
- global phase: per round a ``SingleTaskGP`` (Standardize, warm-started hyper-parameters)
  and LogEI, maximised exactly over the discrete cells on a batched grid of the range,
  never within ``separation`` of an evaluated point (:mod:`.proposal`); objectives whose
  scores span decades (``log_scale``) are modelled as ±log10(score); ``pareto=True`` models
  (score, CKKS levels) with qLogNEHVI;
- refinement: the last ``refine`` evaluations (default budget // 3) run a bracketed
  golden-section/parabolic search on ln a in the most promising cells, which lands on
  optima at cliffs a GP smooths away (:mod:`.refine`);
- batches of q = ``batch_size`` points are evaluated with ``executor.map`` (any
  ``concurrent.futures.Executor``, or ``workers`` processes).

The run is reproducible for a given ``seed`` (torch's global RNG state is saved and
restored). ``strategy="random"`` draws every point uniformly in the unit cube instead
(the baseline the benchmark compares against).

Modules: :mod:`.space` (the search space and its unit-cube encoding), :mod:`.twins`,
:mod:`.evaluate` (fit and score one point), :mod:`.proposal` (the BoTorch model and
acquisition), :mod:`.refine`, :mod:`.loop` (:func:`search` itself), :mod:`.result`
(:class:`SearchResult`, the history JSON), :mod:`.plots` (its figures), and the objectives:
:mod:`.distributions` (input distributions and their quadrature), :mod:`.objectives`,
:mod:`.network`.
"""
from __future__ import annotations

from .evaluate import evaluate_point, portable_target
from .loop import STRATEGIES, search
from .proposal import DEFAULT_ACQUISITION
from .result import SCHEMA, SCHEMA_VERSION, Evaluation, SearchResult, best_index, best_so_far, load_result, pareto_indices
from .refine import refinement_points
from .space import METHODS, SearchSpace, parse_degrees
from .twins import Twins, find_twins

__all__ = ["DEFAULT_ACQUISITION", "METHODS", "SCHEMA", "SCHEMA_VERSION", "STRATEGIES", "Evaluation", "SearchResult",
           "SearchSpace", "Twins", "best_index", "best_so_far", "evaluate_point", "find_twins", "load_result",
           "pareto_indices", "parse_degrees", "portable_target", "refinement_points", "search"]
