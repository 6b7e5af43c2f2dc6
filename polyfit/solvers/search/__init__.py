"""Bayesian optimisation of polynomial degree and fit range (Sisyphus): ``pf.search``.

Search space: degree d from a finite set (a range such as 2..9, or depth-efficient values
3, 7, 15, 31) × fit range a ∈ [a_lo, a_hi] on a log scale (the fit domain is [−a, a]),
optionally × fractional bits and × fitting method. Each point is fitted with
:func:`polyfit.fit` and scored by an objective (:mod:`polyfit.search_objectives`).

Optimiser (BoTorch, used as it is):

- every point is encoded in the unit cube: discrete values by their index i ↦ i/(n−1),
  the range by u = (ln a − ln a_lo)/(ln a_hi − ln a_lo) — the GP sees normalised inputs;
- the first ``n_initial`` points are a scrambled Sobol sequence (seeded), discrete
  coordinates mapped to equal-mass bins;
- then, per iteration, a ``SingleTaskGP`` (Standardize outcome transform) is fitted by
  maximising the marginal likelihood, and ``qLogNoisyExpectedImprovement`` is maximised by
  ``optimize_acqf_mixed`` with one fixed-feature set per combination of discrete values, so
  the degree is handled exactly (never rounded from a continuous value);
- objectives whose scores span decades (``log_scale``) are modelled as ±log10(score); the
  GP always maximises (minimised scores are negated); failed points (NaN/±inf) enter the
  model at the worst value seen;
- ``pareto=True`` models (score, CKKS levels) with a two-output GP and maximises
  ``qLogNoisyExpectedHypervolumeImprovement`` (reference point just below the worst
  observed values);
- batches of q = ``batch_size`` points are proposed jointly (sequential greedy) and
  evaluated with ``executor.map`` (any ``concurrent.futures.Executor``).

The run is reproducible for a given ``seed`` (torch's global RNG state is saved and
restored). ``strategy="random"`` draws every point uniformly in the unit cube instead
(the baseline the benchmark compares against).

Modules: :mod:`.space` (the search space and its unit-cube encoding), :mod:`.evaluate`
(fit and score one point), :mod:`.proposal` (the BoTorch model and acquisition),
:mod:`.loop` (:func:`search` itself), :mod:`.result` (:class:`SearchResult`, the history
JSON) and :mod:`.plots` (its figures).
"""
from __future__ import annotations

from .evaluate import evaluate_point, portable_target
from .loop import STRATEGIES, search
from .proposal import DEFAULT_ACQUISITION
from .result import SCHEMA, SCHEMA_VERSION, Evaluation, SearchResult, best_index, best_so_far, load_result, pareto_indices
from .space import METHODS, SearchSpace, parse_degrees

__all__ = ["DEFAULT_ACQUISITION", "METHODS", "SCHEMA", "SCHEMA_VERSION", "STRATEGIES", "Evaluation", "SearchResult",
           "SearchSpace", "best_index", "best_so_far", "evaluate_point", "load_result", "pareto_indices",
           "parse_degrees", "portable_target", "search"]
