"""Blended: (1 − λ)·original(x) + λ·polynomial(x), the smooth transition of HE-friendly AlexNet.

λ is a persistent float64 buffer (saved in the state dict, moved with the module). At
λ = 0 only ``original`` runs and at λ = 1 only ``polynomial`` runs, so a polynomial that
overflows to inf/NaN outside its range cannot poison the output through 0·inf = NaN.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import InputError


class LinearRamp:
    """λ_e = clamp((e − start)/duration, 0, 1): the smooth transition schedule.

    ``duration = 0`` switches at once at ``start``.

    >>> LinearRamp(start=2, duration=4)(4)
    0.5
    """

    def __init__(self, start: float = 0.0, duration: float = 1.0):
        if not (math.isfinite(start) and math.isfinite(duration) and duration >= 0):
            raise InputError(f"LinearRamp needs finite start and duration ≥ 0, got start={start!r}, duration={duration!r}")
        self.start = float(start)
        self.duration = float(duration)

    def __call__(self, epoch: float) -> float:
        try:
            value = float(epoch)
        except (TypeError, ValueError):
            value = math.nan
        if isinstance(epoch, str) or not math.isfinite(value):
            raise InputError(f"LinearRamp epoch must be a finite number, got {epoch!r}")  # NaN gave λ = 0
        epoch = value
        if self.duration == 0.0:
            return 1.0 if epoch >= self.start else 0.0
        return min(1.0, max(0.0, (epoch - self.start) / self.duration))

    def __repr__(self) -> str:
        return f"LinearRamp(start={self.start:g}, duration={self.duration:g})"


class Blended(nn.Module):
    """y = (1 − λ)·original(x) + λ·polynomial(x).

    Args:
        original: the module being replaced (e.g. ``nn.ReLU()``).
        polynomial: its replacement (e.g. a :class:`~polyfit.torch.PolyActivation`).
        lam: initial λ in [0, 1].
    """

    def __init__(self, original: nn.Module, polynomial: nn.Module, lam: float = 0.0):
        super().__init__()
        for label, mod in (("original", original), ("polynomial", polynomial)):
            if not isinstance(mod, nn.Module):
                raise InputError(f"Blended {label} must be a torch.nn.Module, got {type(mod).__name__}")
        if getattr(original, "inplace", False):
            # An in-place original would overwrite x before the polynomial (or autograd) reads it.
            import copy

            original = copy.deepcopy(original)
            original.inplace = False
        self.original = original
        self.polynomial = polynomial
        self.register_buffer("lam", torch.tensor(0.0, dtype=torch.float64))
        self.set_lambda(lam)

    def set_lambda(self, value: float) -> None:
        """Set λ ∈ [0, 1] (in place, so the buffer keeps its device)."""
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"Blended λ must be a number in [0, 1], got {value!r}") from None
        if not 0.0 <= value <= 1.0:
            raise InputError(f"Blended λ must be in [0, 1], got {value!r}")
        self.lam.fill_(value)

    def step(self, schedule, epoch: float) -> float:
        """Set λ = schedule(epoch) (e.g. a :class:`LinearRamp`); returns λ."""
        value = float(schedule(epoch))
        self.set_lambda(value)
        return value

    @property
    def lambda_(self) -> float:
        return float(self.lam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lam = float(self.lam)
        if lam == 0.0:
            return self.original(x)
        if lam == 1.0:
            return self.polynomial(x)
        return (1.0 - lam) * self.original(x) + lam * self.polynomial(x)

    def extra_repr(self) -> str:
        return f"lambda={float(self.lam):g}"
