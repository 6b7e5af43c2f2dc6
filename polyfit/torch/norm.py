"""ApproxMinMaxNorm (Sisyphus §3.2.2): per-channel min-max normalisation onto [−1, 1].

    x̂ = (x − m) / (M − m + eps),     y = alpha·x̂ − beta      (defaults alpha = 2, beta = 1: y ∈ [−1, 1])

with m, M the per-channel minimum and maximum over every dimension but ``channel_dim``.

Training always normalises with the batch's own m, M (so the following polynomial sees
bounded inputs) and updates running estimates; evaluation uses, by ``mode``:

- ``"momentum"`` (Sisyphus' ApproxMinMax): running ← (1 − momentum)·running + momentum·batch,
  momentum 0.1 (Sisyphus' smoothing factor 1/10); the first batch initialises them;
- ``"extremes"``: running min/max of everything seen (inputs seen in training stay in range);
- ``"batch"``: the evaluated batch's own m, M (Sisyphus' TrueMinMax, "QuaIL+MM"; needs a max
  at inference, so it is a reference, not an HE deployment).

In eval mode with running statistics the layer is the affine map y = a·x + b per channel,
which HE evaluates as one plaintext multiply and add (see :meth:`affine`).
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError

MODES = ("momentum", "extremes", "batch")


class ApproxMinMaxNorm(nn.Module):
    """Per-channel approximate min-max normalisation, output ``alpha·x̂ − beta``.

    Args:
        num_channels: C.
        channel_dim: the channel dimension of the input (1 for NCHW and for [N, C]).
        mode: ``"momentum"``, ``"extremes"`` or ``"batch"`` (see the module docstring).
        momentum: weight of the new batch in the moving average.
        alpha, beta: output scale and shift (2, 1 → [−1, 1]).
        eps: added to M − m against division by zero.
    """

    def __init__(self, num_channels: int, channel_dim: int = 1, mode: str = "momentum", momentum: float = 0.1,
                 alpha: float = 2.0, beta: float = 1.0, eps: float = 1e-5):
        super().__init__()
        if mode not in MODES:
            raise InputError(f"ApproxMinMaxNorm mode {mode!r} is unknown; allowed: {', '.join(MODES)}")
        if not 0.0 < momentum <= 1.0:
            raise InputError(f"ApproxMinMaxNorm momentum must be in (0, 1], got {momentum!r}")
        if int(num_channels) != num_channels or num_channels < 1:
            raise InputError(f"num_channels must be a positive integer, got {num_channels!r}")
        self.num_channels = int(num_channels)
        self.channel_dim = int(channel_dim)
        self.mode = mode
        self.momentum = float(momentum)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.eps = float(eps)
        self.register_buffer("running_min", torch.zeros(self.num_channels))
        self.register_buffer("running_max", torch.ones(self.num_channels))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def _dims(self, x: torch.Tensor) -> tuple[int, list[int]]:
        dim = self.channel_dim % x.dim() if -x.dim() <= self.channel_dim < x.dim() else None
        if dim is None or x.shape[dim] != self.num_channels:
            raise InputError(f"ApproxMinMaxNorm: input of shape {tuple(x.shape)} has no {self.num_channels} channels "
                             f"along dim {self.channel_dim}")
        return dim, [d for d in range(x.dim()) if d != dim]

    def _view(self, v: torch.Tensor, x: torch.Tensor, dim: int) -> torch.Tensor:
        shape = [1] * x.dim()
        shape[dim] = self.num_channels
        return v.reshape(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dim, others = self._dims(x)
        if self.training or self.mode == "batch":
            low, high = x.amin(dim=others), x.amax(dim=others)
            if self.training:
                self._update(low.detach(), high.detach())
        else:
            low, high = self.running_min.to(x.dtype), self.running_max.to(x.dtype)
        scale = self.alpha / (high - low + self.eps)
        return (x - self._view(low, x, dim)) * self._view(scale, x, dim) - self.beta

    @torch.no_grad()
    def _update(self, low: torch.Tensor, high: torch.Tensor) -> None:
        low, high = low.to(self.running_min.dtype), high.to(self.running_max.dtype)
        if int(self.num_batches_tracked) == 0:
            self.running_min.copy_(low)
            self.running_max.copy_(high)
        elif self.mode == "extremes":
            torch.minimum(self.running_min, low, out=self.running_min)
            torch.maximum(self.running_max, high, out=self.running_max)
        else:
            self.running_min.lerp_(low, self.momentum)
            self.running_max.lerp_(high, self.momentum)
        self.num_batches_tracked += 1

    def affine(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) with y = a·x + b per channel in eval mode (running statistics)."""
        if self.mode == "batch":
            raise InputError("ApproxMinMaxNorm(mode='batch') is not affine: it needs the batch's min and max")
        a = self.alpha / (self.running_max - self.running_min + self.eps)
        return a, -a * self.running_min - self.beta

    def extra_repr(self) -> str:
        return (f"{self.num_channels}, channel_dim={self.channel_dim}, mode={self.mode!r}, momentum={self.momentum:g}, "
                f"alpha={self.alpha:g}, beta={self.beta:g}")
