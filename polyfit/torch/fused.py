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


def horner_kernel(t: torch.Tensor, coefficients: list[torch.Tensor]) -> torch.Tensor:
    """Σ c_k t^k, unrolled at trace time (coefficients broadcast against t)."""
    y = coefficients[-1] * t + coefficients[-2]
    for c in coefficients[-3::-1]:
        y = y * t + c
    return y


def forward_kernel(x, coefficients: list[torch.Tensor], bounds: torch.Tensor, scale: torch.Tensor, clip: bool):
    """p(s·clamp(x, lo, hi)) (no clamp when ``clip`` is False); bounds = [lo, hi]."""
    t = torch.minimum(torch.maximum(x, bounds[0]), bounds[1]) if clip else x
    return horner_kernel(t * scale, coefficients)


def backward_x_kernel(x, grad, derivative: list[torch.Tensor], bounds: torch.Tensor, scale: torch.Tensor, clip: bool):
    """g·s·p'(t)·[lo ≤ x ≤ hi]; ``derivative`` holds k·s·c_k for k = 1..d (at least two)."""
    t = torch.minimum(torch.maximum(x, bounds[0]), bounds[1]) if clip else x
    gx = horner_kernel(t * scale, derivative) * grad
    if clip:
        gx = torch.where((x < bounds[0]) | (x > bounds[1]), torch.zeros_like(gx), gx)
    return gx


def power_sums_kernel(x, grad, degree: int, bounds: torch.Tensor, scale: torch.Tensor, clip: bool, dims: list[int]):
    """[Σ g·t^k for k = 0..d] summed over ``dims`` (all dims: per layer), stacked last."""
    t = torch.minimum(torch.maximum(x, bounds[0]), bounds[1]) if clip else x
    t = t * scale
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
