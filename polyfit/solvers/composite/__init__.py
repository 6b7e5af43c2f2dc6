"""Composite minimax approximations of sign, ReLU, |x|, step and max (Lee, Lee, No, Kim).

A composite s = p_k ∘ … ∘ p_1 of odd polynomials approximates sign on [−1, −ε] ∪ [ε, 1]:

- p_1 is the odd minimax approximation of sign on [−1, −ε] ∪ [ε, 1] (multi-interval Remez,
  :mod:`.sign`, on the project's Remez engine :mod:`polyfit.solvers.remez`), with error τ_1, so p_1 maps [ε, 1] onto
  [1 − τ_1, 1 + τ_1] (the lower end p_1(ε) is computed directly);
- p_{i+1} is refitted on that image (and its mirror), the minimax on [lo_i, hi_i]; the
  ratio ε_{i+1} = lo_i/hi_i is all that matters, since sign is scale invariant.

The final error τ_k is the sign error on |x| ≥ ε. In logit coordinates z = ln(ε/(1 − ε)) each
stage of degree d is a map z ↦ z′ = F_d(z) (tabulated by Remez on a grid of z and interpolated
by a cubic spline; asymptotically linear, slope 1 for ε → 0 and (d + 1)/2 for ε → 1), and
τ = 1/(1 + 2e^z′).

Degree sets (Lee et al.'s dynamic programme). A stage of degree d costs depth(d) levels and
mult(d) ciphertext products, both read off the project's evaluation plan
(``polyfit.plan.stage_plan(coefficients)``). States (depth, mults) keep the largest z
reachable; transitions add one stage; a state dominated by one with ≤ depth, ≤ mults and
≥ z is not expanded. Candidates reaching the target are ordered by (depth, mults) (or
(mults, depth) for ``order="multiplications"``) and verified by actually computing the stages:
the first that meets the target is returned, so the reported error is always the computed one.

ReLU, |x|. relu(x) ≈ x(1 + s(x))/2 has error |x|·|s(x) − sign(x)|/2 on all of [−1, 1], so the
gap need not be tiny: ε is a design parameter, chosen to minimise the measured ReLU error
(coarse scan then Brent in log2 ε) unless the caller fixes it. Candidates come from the DP
started at the model ε = 2^(4 − α) with the necessary condition τ ≤ 2^(1 − α).

Inputs in [−B, B] are scaled by ``input_scale`` = 1/B, which the plan folds into the first
stage's coefficients (no extra level).

Modules: :mod:`.sign` (one stage, on the Remez engine), :mod:`.costs` (plan costs, logits),
:mod:`.degree_sets` (stage maps, DP, Pareto front), :mod:`.epsilon` (gap errors and ε searches),
:mod:`.assembly` (artifact stages, objective, provenance), :mod:`.design` (the entry point
:func:`composite`), :mod:`.maximum` (max(a, b)); inputs are checked by :mod:`polyfit.validate`.
"""
from .assembly import stage_from_fit, stage_image
from .costs import error_from_logit, logit, logit_for_error, representative_odd_coefficients, stage_cost
from ...validate import ALPHA_RANGE
from ...validate import COMPOSITE_FUNCTIONS as FUNCTIONS
from ...validate import MAX_STAGE_DEGREE as MAX_DEGREE_LIMIT
from .degree_sets import DEFAULT_MAX_DEGREE, DegreeSet, StageMap, candidate_degrees, pareto_front, search_degree_sets, stage_map, stage_maps
from .design import ORDERS, composite
from .epsilon import balanced_epsilon, best_relu_epsilon, sign_error_outside_gap, sign_stages, weighted_sign_error
from .maximum import MaxApproximation, max_approximation
from .sign import SignStageFit, sign_stage
from .table import stage_table

__all__ = ["ALPHA_RANGE", "DEFAULT_MAX_DEGREE", "DegreeSet", "FUNCTIONS", "MAX_DEGREE_LIMIT", "MaxApproximation",
           "ORDERS", "SignStageFit", "StageMap", "balanced_epsilon", "best_relu_epsilon", "candidate_degrees",
           "composite", "error_from_logit", "logit", "logit_for_error", "max_approximation", "pareto_front",
           "representative_odd_coefficients", "search_degree_sets", "sign_error_outside_gap", "sign_stage",
           "sign_stages", "stage_cost", "stage_from_fit", "stage_image", "stage_map", "stage_maps", "stage_table",
           "weighted_sign_error"]
