"""Training recipes of the four papers as composable pieces (see docs/torch_recipes.md).

- PILLAR: :func:`range_penalty`, :class:`ActivationPenalty`, :func:`pillar_warmup`,
  :class:`ClipInTraining`, :func:`check_clip_covered`, :class:`OutOfRangeMonitor`.
- HE-friendly AlexNet: :func:`transition_lambda`, :class:`SmoothTransition`,
  :func:`distillation_loss`.
- SmartPAF: :func:`static_scale`, :func:`scaled_approximation`, :func:`tune_lstsq`,
  :func:`tune_gradient`, :func:`progressive_replacement`, :class:`AlternateTraining`.
- Sisyphus: :func:`imitate` (QuaIL layer by layer), :func:`gradual_unfreeze`.
- Plumbing: :func:`named_sites`, :func:`execution_order`, :func:`parameters_between`, :class:`frozen`.
"""
from .distill import distillation_loss, soft_cross_entropy
from .pillar import (PILLAR_WARMUP, ActivationPenalty, ClipInTraining, OutOfRangeMonitor, check_clip_covered,
                     pillar_warmup, range_penalty)
from .quail import gradual_unfreeze, imitate, representation, segments
from .sites import HookSet, as_site_mapping, execution_order, frozen, named_sites, parameters_between
from .smartpaf import (AlternateTraining, coefficient_parameters, progressive_replacement, scaled_approximation,
                       static_scale, tune_gradient, tune_lstsq)
from .transition import SmoothTransition, transition_lambda

__all__ = [
    "PILLAR_WARMUP", "ActivationPenalty", "AlternateTraining", "ClipInTraining", "HookSet", "OutOfRangeMonitor",
    "SmoothTransition", "as_site_mapping", "check_clip_covered", "coefficient_parameters", "distillation_loss",
    "execution_order", "frozen", "gradual_unfreeze", "imitate", "named_sites", "parameters_between",
    "pillar_warmup", "progressive_replacement", "range_penalty", "representation", "scaled_approximation",
    "segments", "soft_cross_entropy", "static_scale", "transition_lambda", "tune_gradient", "tune_lstsq",
]
