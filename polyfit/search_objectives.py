"""Objectives of :func:`polyfit.search` — kept importable here (``polyfit.search_objectives``)
as the docs and examples show them. They live beside the search, in
:mod:`polyfit.solvers.search.objectives` and :mod:`~polyfit.solvers.search.distributions`, except
the network objective, which needs the torch adapter (:mod:`polyfit.torch.search_objective`)
and loads on first use, so that the others never import torch."""
from __future__ import annotations

from .solvers.search.distributions import (DEFAULT_QUADRATURE_POINTS, DISTRIBUTIONS, QUADRATURE_RTOL,
                                           InputDistribution, gaussian_support_sigmas, load_samples)
from .solvers.search.objectives import (DIRECTIONS, ERRORS, CallableObjective, ExpectedError, parse_objective,
                                        resolve_objective)

__all__ = ["DEFAULT_QUADRATURE_POINTS", "DIRECTIONS", "DISTRIBUTIONS", "ERRORS", "QUADRATURE_RTOL", "CallableObjective",
           "ExpectedError", "InputDistribution", "NetworkAccuracy", "gaussian_support_sigmas", "load_samples",
           "parse_objective", "resolve_objective", "top1_correct"]


def __getattr__(name):
    if name in ("NetworkAccuracy", "top1_correct"):
        from .torch import search_objective

        return getattr(search_objective, name)
    raise AttributeError(f"module 'polyfit.search_objectives' has no attribute {name!r}")
