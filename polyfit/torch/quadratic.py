"""TrainableQuadratic: y = a·x² + b·x (+ c), starting as the identity (a = 0, b = 1).

HE-friendly AlexNet's trainable activation. The coefficients are parameterised directly:
∂y/∂a = x² is non-zero at a = 0, whereas the form (a·x)² would have ∂y/∂a = 2a·x² = 0
there and never leave the start.
"""
from __future__ import annotations

from numbers import Integral

import torch
from torch import nn

from ..errors import InputError


class TrainableQuadratic(nn.Module):
    """y = a·x² + b·x + c with trainable scalars (or per-channel vectors) a, b and optional c.

    Args:
        bias: also learn the constant c (starts at 0); else c is absent.
        a, b: initial values (defaults 0 and 1: the identity).
        channel_dim, num_channels: one (a, b, c) per channel along ``channel_dim``.

    >>> q = TrainableQuadratic()
    >>> q(torch.tensor([2.0])).item()
    2.0
    """

    def __init__(self, bias: bool = False, a: float = 0.0, b: float = 1.0,
                 channel_dim: int | None = None, num_channels: int | None = None):
        super().__init__()
        if (channel_dim is None) != (num_channels is None):
            raise InputError(f"give channel_dim and num_channels together (per-channel), or neither (per-layer); "
                             f"got channel_dim={channel_dim!r}, num_channels={num_channels!r}")
        if num_channels is not None and (isinstance(num_channels, bool) or not isinstance(num_channels, Integral)
                                         or num_channels < 1):
            raise InputError(f"num_channels must be a positive integer, got {num_channels!r}")  # 0 built an empty layer
        shape = () if num_channels is None else (int(num_channels),)
        self.channel_dim = channel_dim
        self.num_channels = num_channels
        self.a = nn.Parameter(torch.full(shape, float(a)))
        self.b = nn.Parameter(torch.full(shape, float(b)))
        self.c = nn.Parameter(torch.zeros(shape)) if bias else None

    def _view(self, p: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.channel_dim is None:
            return p
        dim = self.channel_dim % x.dim()
        if x.shape[dim] != self.num_channels:
            raise InputError(f"TrainableQuadratic: input has {x.shape[dim]} channels along dim {self.channel_dim}, "
                             f"built for num_channels={self.num_channels}")
        shape = [1] * x.dim()
        shape[dim] = self.num_channels
        return p.reshape(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self._view(self.a, x), self._view(self.b, x)
        y = (a * x + b) * x  # a·x² + b·x with one product of x by itself
        if self.c is not None:
            y = y + self._view(self.c, x)
        return y

    def coefficients(self) -> list[float]:
        """[c, b, a] lowest degree first (per-layer modules), as an artifact stores them."""
        if self.channel_dim is not None:
            raise InputError("TrainableQuadratic.coefficients() is per-layer; read .a/.b/.c for per-channel")
        c = float(self.c.detach()) if self.c is not None else 0.0
        return [c, float(self.b.detach()), float(self.a.detach())]

    def to_approximation(self, domain=(-1.0, 1.0), target="relu"):
        """The current quadratic as a one-stage monomial Approximation on ``domain``."""
        from ..approximation import Stage
        from ..reports import assemble
        from ..validate import check_domain

        domain = check_domain(domain)  # (1, -1) or (0, 0) wrote an artifact no reader accepts
        coefficients = self.coefficients()
        if not all(torch.isfinite(torch.tensor(coefficients))):
            raise InputError(f"TrainableQuadratic has non-finite coefficients {coefficients}")
        return assemble(target, tuple(domain), [Stage("monomial", coefficients)],
                        objective={"norm": "trained", "note": "TrainableQuadratic"},
                        provenance={"solver": "torch-trained", "backend": "torch", "options": {}, "elapsed_s": None})

    def extra_repr(self) -> str:
        per = f", channel_dim={self.channel_dim}, num_channels={self.num_channels}" if self.channel_dim is not None else ""
        return f"bias={self.c is not None}{per}"
