"""Quantized L∞ fit (``method="minimax"``, ``bits=F``): setup → incumbents → exchange → artifact.

    minimise max_i |Σ_k a_k 2^-F t_i^k − f(x_i)|   over integers |a_k| ≤ 2^53

(:mod:`.linf_setup` states it). The steps:

1. the float minimax (Remez) and the de la Vallée Poussin lower bound on the grid
   (:mod:`.linf_incumbent`);
2. incumbents: the rounded float minimax and the closest lattice vector to it; the better one
   is always a valid answer;
3. MILP exchange rounds around it (:mod:`.linf_exchange`) within ``time_limit``.

Whatever step 3 does (time-out, HiGHS failure), the result is the best polynomial found with
its certificate: ``value`` its max error on the grid, ``bound`` the best proven lower bound,
``gap`` = (value − bound)/value; certified when the gap is ≤ 10⁻⁶ (relative).
"""
from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from ...approximation import Stage
from ...basis import monomial_eval
from ...certificate import Certificate
from ...problem import FitProblem
from ...reports import Stopwatch, assemble
from .linf_exchange import ExchangeState, exchange
from .linf_incumbent import alternation_lower_bound, best_lattice_start, float_reference, rounded_integers
from .linf_setup import MAX_INTEGER, build_setup

DEFAULT_LINF_TIME_LIMIT = 10.0
#: certified: no polynomial of the class beats the result by more than this fraction of its error
CERTIFY_RTOL = 1e-6
#: a plain float64 Horner evaluation that differs from the exact error by more than this is reported
HORNER_WARNING = 1e-3


def solve_linf(problem: FitProblem):
    """Integer L∞ fit with a certificate (see the module docstring)."""
    F = problem.frac_bits
    time_limit = float(problem.options.get("time_limit", DEFAULT_LINF_TIME_LIMIT))
    deadline = time.perf_counter() + time_limit
    notes = []
    with Stopwatch() as sw:
        setup = build_setup(problem)
        reference = float_reference(setup, time_limit)
        if reference.note:
            notes.append(reference.note)
        reference_errors = setup.vander @ reference.chebyshev[setup.powers] - setup.g
        grid_float_error = float(np.max(np.abs(reference_errors)))
        lower = alternation_lower_bound(reference_errors, setup.n)
        rounded = rounded_integers(setup, reference)
        naive_error = setup.max_error(rounded)
        start, _ = best_lattice_start(setup, reference, grid_float_error)
        if start.note:
            notes.append(start.note)
        candidates = [(naive_error, "rounded float minimax", rounded)]
        if start.integers is not None:
            candidates.append((setup.max_error(start.integers), "closest lattice vector", start.integers))
        if max(abs(int(v)) for v in rounded) >= MAX_INTEGER:
            candidates.extend(_lower_degree_starts(problem, setup, deadline))
        first_error, first_kind, first = min(candidates, key=lambda c: c[0])
        state = ExchangeState(best=first, best_error=first_error, lower_bound=lower)
        if first_error - lower > CERTIFY_RTOL * first_error:
            state = exchange(setup, first, start.U, state, deadline, CERTIFY_RTOL)
        gap_abs = max(state.best_error - state.lower_bound, 0.0)
        certified = gap_abs <= CERTIFY_RTOL * state.best_error
        integers = setup.full_integers(state.best)
        exact_error = setup.full_grid_error(state.best)
    stage = Stage.quantized_monomial(integers, F)
    # The artifact's own evaluation is accurate (basis.monomial_eval_accurate); plain float64
    # Horner, what a re-evaluation with numpy.polyval computes, may not be: say so when it matters.
    horner_error = float(np.max(np.abs(monomial_eval(stage.coefficients, setup.t) - setup.f)))
    if abs(horner_error - exact_error) > HORNER_WARNING * max(exact_error, 1e-300):
        notes.append(f"plain float64 Horner evaluation of these integers loses accuracy: it measures {horner_error:.3e} "
                     f"where the polynomial's exact grid error (the artifact's metrics) is {exact_error:.3e} "
                     f"(largest |a_k| 2^{max(abs(a) for a in integers).bit_length()}); evaluate in fixed point, with "
                     "compensated Horner or in extended precision (docs/artifact.md)")
    bound = min(state.lower_bound, exact_error)
    if certified:
        message = "MILP optimum proven on the grid (HiGHS), within the parity class" if state.rounds else \
            "the incumbent meets the float lower bound"
    else:
        cause = state.cause or "the exchange stopped"
        if time.perf_counter() >= deadline:  # the last run's own limit was only what was left of the total
            cause = f"time limit {time_limit:g} s reached (option time_limit; --time-limit on the CLI)"
        message = f"optimality not certified: {cause}; gap {gap_abs / max(state.best_error, 1e-300):.2e} to the proven lower bound"
        notes.append(message + "; the result is the best found")
    certificate = Certificate("milp", certified, exact_error, bound, message)
    grid_extra = {} if problem.samples is not None else {"grid": {"kind": problem.grid, "points": int(setup.x.size)}}
    objective = problem.objective_dict(
        **grid_extra,
        quantization={"frac_bits": F, "variable": "t = input_scale * x", "coefficients": "a_k * 2^-F, a_k integers"},
        integer_bounds={"lower": [-MAX_INTEGER] * len(integers), "upper": [MAX_INTEGER] * len(integers),
                        "kind": "representable: |a_k| <= 2^53 so every a_k * 2^-F is exact in float64",
                        "binding": bool(max(abs(a) for a in integers) >= MAX_INTEGER)},
        target_rounding="none",
        parity=None if setup.parity is None else {
            "kind": setup.parity, "shift": setup.shift,
            "fixed": "a_0 = shift * 2^F" if setup.parity == "odd" else "odd a_k = 0"},
        formula="minimise max_i |sum_k a_k 2^-F t_i^k - f(x_i)|",
    )
    provenance = {
        "solver": "quantized-linf", "backend": "highs", "elapsed_s": sw.elapsed,
        "options": {"frac_bits": F, "time_limit": time_limit, **problem.options},
        "objective_value": exact_error,
        "lower_bound": bound,
        "mip_gap": certificate.gap,
        "certified": bool(certified),
        "certificate": certificate.to_dict(),
        "float_minimax_error": reference.error,
        "float_minimax_source": reference.source,
        "float_grid_error": grid_float_error,
        "naive_rounding_error": naive_error,
        "first_incumbent": {"kind": first_kind, "error": first_error},
        "exchange_rounds": state.rounds,
        "nodes": state.nodes,
    }
    if notes:
        provenance["warnings"] = notes
    return assemble(problem.target, problem.domain, [stage], objective=objective, provenance=provenance,
                    input_scale=problem.input_scale, exclude=problem.exclude, frac_bits=F)


def _lower_degree_starts(problem: FitProblem, setup, deadline: float, step: int = 8):
    """Lattice incumbents of degree d − 8, d − 16, … (zeros above), while they improve.

    When the float minimax of degree d needs integers beyond 2^53, its ridge-limited closest
    vector can be worse than the closest vector of a lower degree whose minimax fits."""
    out, previous = [], None
    for degree in range(problem.degree - step, max(problem.degree // 2, 1) - 1, -step):
        if time.perf_counter() > deadline:
            break
        sub = build_setup(replace(problem, degree=degree))
        sub_reference = float_reference(sub, 1.0)
        errors = sub.vander @ sub_reference.chebyshev[sub.powers] - sub.g
        start, _ = best_lattice_start(sub, sub_reference, float(np.max(np.abs(errors))))
        if start.integers is None:
            continue
        full = sub.full_integers(start.integers)
        integers = np.array([full[k] if k <= degree else 0 for k in setup.powers.tolist()], dtype=object)
        error = setup.max_error(integers)
        out.append((error, f"closest lattice vector at degree {degree}", integers))
        if previous is not None and error >= previous:
            break
        previous = error
    return out
