"""Training recipes of the four papers as composable pieces (see docs/torch_recipes.md).

- PILLAR: :func:`range_penalty`, :class:`ActivationPenalty`, :func:`pillar_warmup`,
  :class:`ClipInTraining`, :func:`check_clip_covered`, :class:`OutOfRangeMonitor`.
- HE-friendly AlexNet: :func:`transition_lambda`, :class:`SmoothTransition`,
  :func:`distillation_loss`.
"""
from .distill import distillation_loss, soft_cross_entropy
from .pillar import (PILLAR_WARMUP, ActivationPenalty, ClipInTraining, OutOfRangeMonitor, check_clip_covered,
                     pillar_warmup, range_penalty)
from .sites import HookSet, as_site_mapping, named_sites
from .transition import SmoothTransition, transition_lambda

__all__ = [
    "PILLAR_WARMUP", "ActivationPenalty", "ClipInTraining", "HookSet", "OutOfRangeMonitor", "SmoothTransition",
    "as_site_mapping", "check_clip_covered", "distillation_loss", "named_sites", "pillar_warmup", "range_penalty",
    "soft_cross_entropy", "transition_lambda",
]
