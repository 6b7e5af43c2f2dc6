"""Depth reports (SPEC §4): CKKS levels, per-backend levels and MPC rounds.

- ``ckks_levels`` and ``ct_ct_multiplications`` are counted on the project's own evaluation
  plan (:mod:`polyfit.plan`), the same plan ``polyfit verify`` executes.
- ``backends`` are what other libraries consume for the same stages (see docs/reports.md):
  Lattigo's BSGS evaluator ⌈log2(d+1)⌉ per stage; OpenFHE's EvalChebyshevSeries depth table;
  TenSEAL's ``polyval`` ⌈log2(d)⌉ + 1 (it multiplies every coefficient into its power after
  the power is built). Composite stages add; relu/abs combines add one.
- ``mpc_rounds`` with Beaver multiplication and public coefficients (products by a public
  constant are local): Horner d − 1 rounds per stage of degree d ≥ 1, a power tree ⌈log2 d⌉,
  single-round exponentiation (ESPN/HoneyBadger) 1 per stage of degree ≥ 2; relu/abs combines
  add one round.
"""
from __future__ import annotations

import math

from .plan import approximation_plan

# OpenFHE EvalChebyshevSeries (Paterson–Stockmeyer): multiplicative depth by degree bracket,
# from OpenFHE's FUNCTION_EVALUATION.md table.
_OPENFHE_CHEBYSHEV_TABLE = (
    (5, 3), (13, 4), (27, 5), (59, 6), (119, 7), (247, 8), (495, 9), (1007, 10), (2031, 11),
)


def optimal_levels(degree: int) -> int:
    """⌈log2(d+1)⌉: the fewest CKKS levels any plan for degree d can use."""
    return math.ceil(math.log2(degree + 1)) if degree > 0 else 0


def openfhe_levels(degree: int) -> int:
    """Depth of OpenFHE's EvalChebyshevSeries for one polynomial of this degree."""
    if degree <= 0:
        return 0
    for top, depth in _OPENFHE_CHEBYSHEV_TABLE:
        if degree <= top:
            return depth
    return optimal_levels(degree) + 1


def tenseal_levels(degree: int) -> int:
    """Levels TenSEAL's CKKSVector.polyval consumes for one polynomial of this degree."""
    if degree <= 0:
        return 0
    return math.ceil(math.log2(degree)) + 1


def mpc_rounds(degrees, combine: str) -> dict:
    extra = 1 if combine in ("relu", "abs") else 0
    return {
        "horner": sum(max(d - 1, 0) for d in degrees) + extra,
        "power_tree": sum(math.ceil(math.log2(d)) if d > 1 else 0 for d in degrees) + extra,
        "single_round": sum(1 if d > 1 else 0 for d in degrees) + extra,
    }


def depth_report(approximation) -> dict:
    """The ``depth`` dict of the artifact (SPEC §3–4)."""
    degrees = [s.degree for s in approximation.stages]
    plan = approximation_plan(approximation)
    extra = 1 if approximation.combine in ("relu", "abs") else 0
    return {
        "degrees": degrees,
        "ckks_levels": plan.depth,
        "ct_ct_multiplications": plan.ct_ct_multiplications,
        "backends": {
            "lattigo": sum(optimal_levels(d) for d in degrees) + extra,
            "openfhe": sum(openfhe_levels(d) for d in degrees) + extra,
            "tenseal": sum(tenseal_levels(d) for d in degrees) + extra,
        },
        "mpc_rounds": mpc_rounds(degrees, approximation.combine),
    }
