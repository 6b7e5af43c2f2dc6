"""Quantization-aware fits: integer coefficients × 2^-F chosen by the solver (``bits=F``).

The polynomial is in the stage variable t = s·x (s = ``input_scale``):

    p(t) = Σ_k a_k 2^-F t^k,   a_k integers.

- **L2** (``method="lstsq"``): certified integer least squares by lattice reduction and
  enumeration (:mod:`.l2`, :mod:`.lattice`), or PILLAR's MINLP in GEKKO (:mod:`.gekko`).
- **L∞** (``method="minimax"``): the mixed-integer LP solved by HiGHS in an exchange loop around
  a lattice-reduced incumbent, with a certificate (:mod:`.linf` and its steps
  :mod:`.linf_setup`, :mod:`.linf_incumbent`, :mod:`.linf_exchange`, :mod:`.highs`).

See docs/solvers/quantized.md for the math and the measurements.
"""
from __future__ import annotations

from types import MappingProxyType

from ...errors import InputError
from ...problem import FitProblem
from ...validate import check_integer, check_positive_number
from .l2 import PILLAR_STEP, l2_formulation, lattice_factor, pillar_grid, solve_l2, stated_bounds
from .linf import CERTIFY_RTOL, DEFAULT_LINF_TIME_LIMIT, solve_linf
from .linf_setup import LINF_DEFAULT_POINTS, MAX_INTEGER, parity_reduction

__all__ = ["solve", "solve_l2", "solve_linf", "OPTIONS", "l2_formulation", "lattice_factor", "pillar_grid",
           "stated_bounds", "parity_reduction", "PILLAR_STEP", "DEFAULT_LINF_TIME_LIMIT", "LINF_DEFAULT_POINTS",
           "MAX_INTEGER", "CERTIFY_RTOL"]

OPTIONS = MappingProxyType({
    "integer_bound": "B ≥ 1: integers restricted to [-B, B] (L2; default: derived, non-binding; pillar: 2^(F-1))",
    "max_nodes": "node limit of the exact L2 search (default 2,000,000)",
    "time_limit": f"seconds for GEKKO (L2; default: none) or the L∞ search (default {DEFAULT_LINF_TIME_LIMIT:g})",
    "parity": "L∞ only: 'auto' (default), True or False — fit f − shift with an odd/even polynomial",
})


def solve(problem: FitProblem):
    """Quantization-aware fit of ``problem`` (``problem.frac_bits`` set)."""
    _check_options(problem)
    if problem.frac_bits is None:
        raise InputError("the quantized solver needs bits (fractional bits F, 1 to 52)")
    if problem.basis != "monomial":
        raise InputError(f"basis {problem.basis!r} is not allowed with bits; quantized coefficients are monomial")
    if problem.grid == "continuous":
        raise InputError("grid 'continuous' is not available with bits; use uniform or chebyshev")
    if problem.norm == "linf":
        if problem.solver == "gekko":
            raise InputError("solver 'gekko' solves PILLAR's L2 problem; use method lstsq with it, "
                             "or solver exact for method minimax")
        if problem.compat is not None:
            raise InputError("compat 'pillar' is an L2 formulation; use method lstsq with it")
        if "integer_bound" in problem.options or "max_nodes" in problem.options:
            name = "integer_bound" if "integer_bound" in problem.options else "max_nodes"
            raise InputError(f"{name} is an option of the L2 solver (method lstsq); method minimax allows "
                             "time_limit and parity")
        return solve_linf(problem)
    if "parity" in problem.options:
        raise InputError("parity is an option of method minimax with bits; the L2 solver has no parity restriction")
    if "time_limit" in problem.options and problem.solver == "exact":
        raise InputError("time_limit bounds GEKKO (solver gekko) or the L∞ search (method minimax); the exact L2 "
                         "search is bounded by max_nodes")
    return solve_l2(problem)


def _check_options(problem: FitProblem) -> None:
    unknown = sorted(set(problem.options) - set(OPTIONS))
    if unknown:
        raise InputError(f"unknown option(s) {', '.join(map(repr, unknown))} for bits fits; allowed: {', '.join(sorted(OPTIONS))}")
    opts = problem.options
    for name in ("integer_bound", "max_nodes"):
        if name in opts:
            check_integer(opts[name], name, 1)
    if "time_limit" in opts:
        check_positive_number(opts["time_limit"], "time_limit", "a number of seconds > 0")
    if "parity" in opts and opts["parity"] not in ("auto", True, False):
        raise InputError(f"parity {opts['parity']!r} is not allowed; allowed: 'auto', True, False")
