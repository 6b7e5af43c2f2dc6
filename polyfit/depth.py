"""Depth reports (SPEC §4): CKKS levels, per-backend levels and MPC rounds.

- ``ckks_levels`` and ``ct_ct_multiplications`` are counted on the project's own evaluation
  plan (:mod:`polyfit.plan`), the same plan ``polyfit verify --backend ckks`` executes.
- ``backends``: what other libraries consume for the same stages (derivations and sources in
  docs/reports.md). Stages add; ``combine`` relu/abs adds one product by x.

  * Lattigo (``polynomial.Evaluator``, BSGS with power-of-two giant steps): ⌈log2(d+1)⌉ =
    ``bits.Len64(d)`` levels for a monomial stage (its simulator's ``PolynomialDepth`` is
    ``bits.Len64(d) − 1`` for the giant steps, plus one level for the baby-step scalars).
  * OpenFHE ``EvalChebyshevSeries`` as :mod:`polyfit.backends.openfhe` runs it: every change
    of variable is folded into the encoding or the previous stage's coefficients, so each
    stage runs on (−1, 1): the FUNCTION_EVALUATION.md table (degree 3–5 → 4, 6–13 → 5,
    14–27 → 6, 28–59 → 7, …, 1008–2031 → 12) minus one; degrees 1 and 2 use the linear
    method: ⌈log2 d⌉ + 1. d is the degree after trailing zero coefficients (OpenFHE's
    ``Degree``). Measured by ``polyfit verify --backend openfhe``.
  * TenSEAL ``CKKSVector.polyval``: ⌈log2(d+1)⌉, measured with TenSEAL 0.3.18 by finding the
    shortest coefficient chain on which ``polyval`` succeeds (bench/bench_verify.py).
- ``mpc_rounds`` with Beaver multiplication and public coefficients (products by a public
  constant are local): Horner d − 1 rounds per stage of degree d ≥ 1 (one secret product per
  step after the first), a power tree ⌈log2 d⌉ (round r doubles the available powers),
  single-round exponentiation (ESPN/HoneyBadger: open x − r once, expand binomially) 1 per
  stage of degree ≥ 2; relu/abs combines add one round.

Every count uses the **effective degree** of a stage: the index of its highest non-zero
coefficient (:func:`effective_degree`). Trailing zero coefficients are never evaluated — the
plan drops them — so a degree-15 fit whose x^2 … x^15 are all zero costs what a degree-1
polynomial costs, everywhere in the report. ``degrees`` holds the effective degrees; when one
differs from the stored degree, ``stored_degrees`` and ``note`` say so.
"""
from __future__ import annotations

import math

from .plan import approximation_plan, effective_degree, stage_input_ranges  # noqa: F401 (part of this module's API)

# OpenFHE FUNCTION_EVALUATION.md: (highest degree of the bracket, multiplicative depth) for an
# interval other than [-1, 1]; on [-1, 1] the depth is one less.
OPENFHE_CHEBYSHEV_TABLE = (
    (5, 4), (13, 5), (27, 6), (59, 7), (119, 8), (247, 9), (495, 10), (1007, 11), (2031, 12),
)


def effective_degrees(approximation) -> list[int]:
    """:func:`effective_degree` of every stage, first to last."""
    return [effective_degree(s) for s in approximation.stages]


def optimal_levels(degree: int) -> int:
    """⌈log2(d+1)⌉ = bitlength(d): the fewest CKKS levels any plan for degree d can use."""
    return int(degree).bit_length() if degree > 0 else 0


def lattigo_levels(degree: int) -> int:
    """Levels of Lattigo's polynomial evaluator for a monomial stage: bits.Len64(d) = ⌈log2(d+1)⌉."""
    return optimal_levels(degree)


def openfhe_levels(degree: int, unit_interval: bool = False) -> int:
    """Depth of OpenFHE's EvalChebyshevSeries for one polynomial of this degree.

    ``unit_interval``: the stage's input already lies in [−1, 1], so no affine change of
    variable (one level) is needed.
    """
    if degree <= 0:
        return 0
    shift = 0 if unit_interval else 1
    if degree <= 2:  # linear method: T_k up to d, then one scalar level
        return math.ceil(math.log2(degree)) + 1 + shift
    for top, depth in OPENFHE_CHEBYSHEV_TABLE:
        if degree <= top:
            return depth - 1 + shift
    # beyond the table (degree > 2031; polyfit caps degree at 1000) assume the optimum
    return optimal_levels(degree) + shift


def tenseal_levels(degree: int) -> int:
    """Levels TenSEAL's CKKSVector.polyval consumes for one polynomial (measured: ⌈log2(d+1)⌉)."""
    return optimal_levels(degree)


THREE_PARTY_TRUNCATION_ROUNDS = 2  # CrypTen (TFP) truncation with > 2 parties: scatter + gather


def mpc_rounds(degrees, combine: str) -> dict:
    """Beaver-multiplication rounds: Horner, power tree, single-round exponentiation.

    The top-level counts assume 2 parties (``parties``: truncation is local). ``three_party``
    counts CrypTen with 3 parties, where each truncation costs 2 more rounds: Horner 3d − 1
    per stage (d − 1 products, each truncated, and the truncated first product c_d·x), power
    tree 3⌈log2 d⌉ + 2 (the coefficient products truncated in one batch), single round 3.
    """
    extra = 1 if combine in ("relu", "abs") else 0
    t = THREE_PARTY_TRUNCATION_ROUNDS
    return {
        "parties": 2,
        "horner": sum(max(d - 1, 0) for d in degrees) + extra,
        "power_tree": sum(math.ceil(math.log2(d)) if d > 1 else 0 for d in degrees) + extra,
        "single_round": sum(1 if d > 1 else 0 for d in degrees) + extra,
        "three_party": {
            "horner": sum((1 + t) * (d - 1) + t for d in degrees if d >= 1) + (1 + t) * extra,
            "power_tree": sum((1 + t) * math.ceil(math.log2(d)) + t if d > 1 else t for d in degrees if d >= 1)
            + (1 + t) * extra,
            "single_round": sum(1 + t if d > 1 else t for d in degrees if d >= 1) + (1 + t) * extra,
        },
    }


def backend_levels(approximation) -> dict:
    """Levels Lattigo, OpenFHE and TenSEAL consume for the stages (+1 for relu/abs)."""
    degrees = effective_degrees(approximation)
    extra = 1 if approximation.combine in ("relu", "abs") else 0
    return {
        "lattigo": sum(lattigo_levels(d) for d in degrees) + extra,
        "openfhe": sum(openfhe_levels(d, unit_interval=True) for d in degrees) + extra,
        "tenseal": sum(tenseal_levels(d) for d in degrees) + extra,
    }


def depth_report(approximation) -> dict:
    """The ``depth`` dict of the artifact (SPEC §3–4), counted at the effective degrees."""
    degrees = effective_degrees(approximation)
    stored = [s.degree for s in approximation.stages]
    plan = approximation_plan(approximation)
    out = {
        "degrees": degrees,
        "ckks_levels": plan.depth,
        "ct_ct_multiplications": plan.ct_ct_multiplications,
        "scalar_multiplications": plan.scalar_multiplications,
        "backends": backend_levels(approximation),
        "mpc_rounds": mpc_rounds(degrees, approximation.combine),
    }
    if degrees != stored:
        out["stored_degrees"] = stored
        out["note"] = (f"trailing zero coefficients are not evaluated: effective degrees {degrees} of the "
                       f"stored {stored}; every count above is for the effective degrees")
    return out
