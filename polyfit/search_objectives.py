"""Objectives of :func:`polyfit.search` — kept importable here (``polyfit.search_objectives``)
as the docs and examples show them; they live beside the search, in
:mod:`polyfit.solvers.search.objectives`, :mod:`~polyfit.solvers.search.distributions` and
:mod:`~polyfit.solvers.search.network`."""
from __future__ import annotations

from .solvers.search.distributions import (DEFAULT_QUADRATURE_POINTS, DISTRIBUTIONS, QUADRATURE_RTOL,
                                           InputDistribution, gaussian_support_sigmas, load_samples)
from .solvers.search.network import NetworkAccuracy, top1_correct
from .solvers.search.objectives import (DIRECTIONS, ERRORS, CallableObjective, ExpectedError, parse_objective,
                                        resolve_objective)

__all__ = ["DEFAULT_QUADRATURE_POINTS", "DIRECTIONS", "DISTRIBUTIONS", "ERRORS", "QUADRATURE_RTOL", "CallableObjective",
           "ExpectedError", "InputDistribution", "NetworkAccuracy", "gaussian_support_sigmas", "load_samples",
           "parse_objective", "resolve_objective", "top1_correct"]
