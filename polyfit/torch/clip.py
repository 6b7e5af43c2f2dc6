"""ClipInTraining: clamp(x, lo, hi) in training, the identity in eval (PILLAR's clipping).

A module of its own (not a recipe) so that :func:`polyfit.torch.finalize` can drop it
without importing the recipes; :mod:`polyfit.torch.recipes` re-exports it.
"""
from __future__ import annotations

import math

from torch import nn

from ..errors import InputError


class ClipInTraining(nn.Module):
    """clamp(x, lo, hi) while ``self.training``, identity in eval (PILLAR's clipping).

    Put it in front of an activation (or use PolyActivation's own ``clip``); the penalty's
    pre-hook on the activation then sees clipped values, so prefer ``clip=`` inside the
    activation when both are used.
    """

    def __init__(self, lo: float, hi: float):
        super().__init__()
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise InputError(f"clip range must be finite with lo < hi, got ({lo!r}, {hi!r})")
        self.lo, self.hi = float(lo), float(hi)

    def forward(self, x):
        return x.clamp(self.lo, self.hi) if self.training else x

    def extra_repr(self) -> str:
        return f"lo={self.lo:g}, hi={self.hi:g}"
