"""Fused (torch.compile) kernels for one monomial stage: one pass forward, one pass backward.

Eager torch runs Horner's rule as ~2d elementwise passes over the tensor; these pure
functions, compiled by TorchInductor, become one loop each — read x (and g), write y (or
∂L/∂x) — the same memory traffic as ReLU. Used by ``PolyActivation(..., fused=True)``.

Compilation costs seconds to tens of seconds the first time (a C++ compiler on CPU, Triton
on GPU); TorchInductor caches the result on disk, and dynamo caches it per code object, so
later calls and later processes reuse it. Coefficients, clip bounds and the input scale
are passed as tensors so that new values never trigger a recompilation.
"""
from __future__ import annotations

import functools

import torch

from .activations import horner  # the eager Horner, traced and fused by TorchInductor


def _clamped(x, bounds: torch.Tensor, clip: bool):
    """clamp(x, lo, hi) with bounds = [lo, hi] as tensors (x itself when ``clip`` is False)."""
    return torch.minimum(torch.maximum(x, bounds[0]), bounds[1]) if clip else x


def forward_kernel(x, coefficients: list[torch.Tensor], bounds: torch.Tensor, scale: torch.Tensor, clip: bool):
    """p(s·clamp(x, lo, hi)) (no clamp when ``clip`` is False); bounds = [lo, hi]."""
    return horner(_clamped(x, bounds, clip) * scale, coefficients)


def backward_x_kernel(x, grad, derivative: list[torch.Tensor], bounds: torch.Tensor, scale: torch.Tensor, clip: bool):
    """g·s·p'(t)·[lo ≤ x ≤ hi]; ``derivative`` holds k·s·c_k for k = 1..d (at least two)."""
    gx = horner(_clamped(x, bounds, clip) * scale, derivative) * grad
    if clip:
        gx = torch.where((x < bounds[0]) | (x > bounds[1]), torch.zeros_like(gx), gx)
    return gx


def power_sums_kernel(x, grad, degree: int, bounds: torch.Tensor, scale: torch.Tensor, clip: bool, dims: list[int]):
    """[Σ g·t^k for k = 0..d] summed over ``dims`` (all dims: per layer), stacked last."""
    t = _clamped(x, bounds, clip) * scale
    power = grad
    sums = []
    for k in range(degree + 1):
        sums.append(power.sum(dim=dims))
        if k < degree:
            power = power * t
    return torch.stack(sums, dim=-1)


@functools.lru_cache(maxsize=None)
def compiled(kernel):
    """``torch.compile(kernel)``, memoised: building the wrapper costs ~0.4 ms, as much as
    the kernel on a 4M tensor. The memo holds one wrapper per kernel function above (a fixed
    set), never data; dynamo's compiled code lives in its own per-code-object cache."""
    return torch.compile(kernel, dynamic=None)
