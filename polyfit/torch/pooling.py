"""Max pooling without max: average pooling, or a polynomial max from a sign composite.

HE and MPC evaluate no comparison, so a network's ``nn.MaxPool2d`` is either swapped for
``nn.AvgPool2d`` (same window, stride and padding; linear, so free in HE), or computed as
SmartPAF does from a polynomial approximation s ≈ sign:

    max(a, b) = ((a + b) + (a − b)·s((a − b)/B)) / 2

applied over each window as a tournament (pairs, then pairs of winners: ⌈log2 k²⌉ rounds).
B (``scale``) brings differences into the approximation's domain (SmartPAF's static scale).
An approximation with ``combine="abs"`` (≈|z|) or ``combine="relu"`` (≈max(z, 0)) is used as
max(a, b) = (a + b + B·abs(z))/2 or b + B·relu(z), z = (a − b)/B.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from .surgery import _set_submodule


class SignMaxPool2d(nn.Module):
    """2-D max pooling from a polynomial sign / abs / relu approximation (tournament over the window).

    Args:
        kernel_size, stride, dilation: as ``nn.MaxPool2d`` (padding must be 0: max pooling pads
            with −inf, which has no polynomial counterpart).
        approximation: a polyfit Approximation of sign (combine none), |x| (combine abs) or
            ReLU (combine relu), or an ``nn.Module`` computing one of them (say which by ``kind``).
        scale: B, a bound on |a − b| / (domain half-width) — differences are divided by it.
        kind: ``"sign"``, ``"abs"`` or ``"relu"``; inferred from an Approximation.
    """

    def __init__(self, kernel_size, approximation, stride=None, dilation=1, scale: float = 1.0, kind: str | None = None):
        super().__init__()
        from .activations import PolyActivation

        if isinstance(approximation, nn.Module):
            self.comparator = approximation
            if kind is None:
                raise InputError("SignMaxPool2d: give kind='sign', 'abs' or 'relu' for a module comparator")
        else:
            self.comparator = PolyActivation(approximation)
            inferred = {"none": "sign", "abs": "abs", "relu": "relu"}.get(approximation.combine)
            if inferred is None:
                raise InputError(f"SignMaxPool2d: combine {approximation.combine!r} is not a sign, abs or relu approximation")
            kind = kind or inferred
        if kind not in ("sign", "abs", "relu"):
            raise InputError(f"SignMaxPool2d kind {kind!r} is unknown; allowed: sign, abs, relu")
        if not scale > 0:
            raise InputError(f"SignMaxPool2d scale must be positive, got {scale!r}")
        self.kind = kind
        self.kernel_size = nn.modules.utils._pair(kernel_size)
        self.stride = nn.modules.utils._pair(stride if stride is not None else kernel_size)
        self.dilation = nn.modules.utils._pair(dilation)
        self.scale = float(scale)

    def pairwise_max(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """max(a, b) through the comparator."""
        z = (a - b) / self.scale
        if self.kind == "sign":
            return 0.5 * ((a + b) + (a - b) * self.comparator(z))
        if self.kind == "abs":
            return 0.5 * ((a + b) + self.scale * self.comparator(z))
        return b + self.scale * self.comparator(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise InputError(f"SignMaxPool2d expects [N, C, H, W] input, got shape {tuple(x.shape)}")
        n, c, h, w = x.shape
        kh, kw = self.kernel_size
        out_h = (h - self.dilation[0] * (kh - 1) - 1) // self.stride[0] + 1
        out_w = (w - self.dilation[1] * (kw - 1) - 1) // self.stride[1] + 1
        cols = F.unfold(x, self.kernel_size, dilation=self.dilation, stride=self.stride)  # [N, C·kh·kw, L]
        values = cols.view(n, c, kh * kw, out_h * out_w)
        while values.shape[2] > 1:
            pairs = values.shape[2] // 2
            winners = self.pairwise_max(values[:, :, 0:2 * pairs:2], values[:, :, 1:2 * pairs:2])
            if values.shape[2] % 2:
                winners = torch.cat([winners, values[:, :, -1:]], dim=2)
            values = winners
        return values.view(n, c, out_h, out_w)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, kind={self.kind!r}, scale={self.scale:g}"


def avg_pool_like(pool: nn.MaxPool2d) -> nn.AvgPool2d:
    """nn.AvgPool2d with the max pool's window, stride, padding and ceil_mode.

    Padding cells count as zeros (count_include_pad=True) so the divisor is the constant
    k², a plaintext multiply in HE.
    """
    if nn.modules.utils._pair(pool.dilation) != (1, 1):
        raise InputError(f"cannot swap {pool} for average pooling: AvgPool2d has no dilation")
    return nn.AvgPool2d(pool.kernel_size, pool.stride, pool.padding, ceil_mode=pool.ceil_mode, count_include_pad=True)


def sign_pool_like(pool: nn.MaxPool2d, approximation, scale: float = 1.0) -> SignMaxPool2d:
    """SignMaxPool2d with the max pool's window and stride."""
    if nn.modules.utils._pair(pool.padding) != (0, 0) or pool.ceil_mode:
        raise InputError(f"cannot swap {pool} for a sign-based max: padding and ceil_mode must be off")
    return SignMaxPool2d(pool.kernel_size, approximation, stride=pool.stride, dilation=pool.dilation, scale=scale)


def swap_max_pooling(model: nn.Module, mode: str = "avg", approximation=None, scale: float = 1.0,
                     inplace: bool = False):
    """Replace every ``nn.MaxPool2d``: ``mode="avg"`` → AvgPool2d, ``mode="sign"`` → SignMaxPool2d.

    Returns ``(model, [(name, new module), ...])``; deep-copies unless ``inplace``.
    """
    if mode not in ("avg", "sign"):
        raise InputError(f"pooling mode {mode!r} is unknown; allowed: avg, sign")
    if mode == "sign" and approximation is None:
        raise InputError("mode='sign' needs an approximation of sign, |x| or ReLU (e.g. a composite preset)")
    target = model if inplace else copy.deepcopy(model)
    planned = []
    for name, module in target.named_modules():
        if isinstance(module, nn.MaxPool2d):
            if mode == "avg":
                planned.append((name, avg_pool_like(module)))
            else:
                planned.append((name, sign_pool_like(module, approximation, scale)))
    for name, new in planned:
        if not name:
            raise InputError("the model itself is a MaxPool2d; wrap it in a container to swap it")
        _set_submodule(target, name, new)
    return target, planned
