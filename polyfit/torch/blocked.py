"""Eager kernels for one monomial stage: in place, cache-blocked on large CPU tensors.

When nothing is compiled (``fused=False``, eval mode, small tensors, no compiler), one
monomial stage y = Σ c_k t^k, t = s·clamp(x, lo, hi), runs here: Horner's rule in place
(d passes instead of 2d temporaries), and on large contiguous CPU tensors cut into blocks
of :data:`BLOCK` elements so the passes after the first hit L2. Per-layer coefficients
enter as Python floats (the cheapest scalar operands on CPU). Other approximations
(Chebyshev stages, composites, combines) run the out-of-place formulas of
:mod:`polyfit.torch.kernels` block by block the same way.
"""
from __future__ import annotations

import torch

from .kernels import EvalSpec, channel_views, eager_gradients, evaluate, reduce_to

#: Elements per block of the cache-blocked CPU kernels (512 KiB of float32: stays in L2,
#: and large enough that per-op dispatch overhead stays small next to the work).
BLOCK = 1 << 17


def block_plan(x: torch.Tensor, channel_dim) -> tuple[str, int] | None:
    """How to cut ``x`` into cache-sized blocks, or None when blocking does not pay.

    Blocking pays on large contiguous CPU tensors: per-layer coefficients cut the flat
    tensor into BLOCK elements (``("flat", BLOCK)``); per-channel coefficients along a
    dimension other than 0 cut along dim 0 into slabs of about BLOCK elements
    (``("rows", rows)``), so each slab still holds whole channels. Tensors under 2·BLOCK
    elements, and samples over 4·BLOCK, are not cut.
    """
    if x.device.type != "cpu" or not x.is_contiguous() or x.numel() < 2 * BLOCK:
        return None
    if channel_dim is None:
        return ("flat", BLOCK)
    if channel_dim == 0 or x.dim() < 2:
        return None
    row = x.numel() // x.shape[0]
    return ("rows", max(1, BLOCK // row)) if row <= 4 * BLOCK else None


def _split(t: torch.Tensor, plan: tuple[str, int]):
    kind, size = plan
    return t.view(-1).split(size) if kind == "flat" else t.split(size, dim=0)


def coefficient_values(coefficients: torch.Tensor, x: torch.Tensor, channel_dim):
    """Python floats on CPU (cheapest scalar operands), broadcastable tensor views elsewhere."""
    if coefficients.dim() == 1 and coefficients.device.type == "cpu":
        return coefficients.tolist()
    return channel_views(coefficients, x, channel_dim)


def stage_input(x, spec: EvalSpec):
    """t = input_scale · clamp(x, clip) (x itself when neither applies)."""
    t = x.clamp(spec.clip[0], spec.clip[1]) if spec.clip is not None else x
    return t * spec.input_scale if spec.input_scale != 1.0 else t


def horner_into(out, t, c):
    """out ← Σ c_k t^k in place (c: floats or broadcastable tensors, at least 2 of them)."""
    d = len(c) - 1
    torch.mul(t, c[d], out=out)
    out.add_(c[d - 1])
    for k in range(d - 2, -1, -1):
        out.mul_(t).add_(c[k])
    return out


def monomial_forward(x: torch.Tensor, spec: EvalSpec, coefficients: torch.Tensor) -> torch.Tensor:
    """p(t), t = s·clamp(x), for one monomial stage: Horner in place, cache-blocked on CPU."""
    c = coefficient_values(coefficients, x, spec.channel_dim)
    if len(c) == 1:
        return torch.zeros_like(x).add_(c[0])
    plan = block_plan(x, spec.channel_dim)
    if plan is None:
        t = stage_input(x, spec)
        shape = torch.broadcast_shapes(t.shape, *(v.shape for v in c if isinstance(v, torch.Tensor)))
        return horner_into(torch.empty(shape, dtype=x.dtype, device=x.device), t, c)
    out = torch.empty_like(x)
    for xs, ys in zip(_split(x, plan), _split(out, plan)):
        horner_into(ys, stage_input(xs, spec), c)
    return out


def monomial_backward(x, spec: EvalSpec, coefficients, grad_out, need_x, need_c):
    """Gradients of y = Σ c_k t^k, t = s·clamp(x), lo ≤ x ≤ hi:

    ∂L/∂x = g·s·p'(t)·[lo ≤ x ≤ hi] (Horner on k·c_k), ∂L/∂c_k = Σ g·t^k (running powers).
    """
    scale = spec.input_scale
    c = coefficient_values(coefficients, x, spec.channel_dim)
    d = len(c) - 1
    derivative = [c[k] * (k * scale) for k in range(1, d + 1)]
    plan = block_plan(x, spec.channel_dim) if grad_out.shape == x.shape else None
    grad_out = grad_out.contiguous() if plan is not None else grad_out

    def grad_x_into(out, xs, gs):
        if d == 0:
            return out.zero_()
        if d == 1:
            torch.mul(gs, derivative[0], out=out)
        else:
            horner_into(out, stage_input(xs, spec), derivative).mul_(gs)
        if spec.clip is not None:
            out.masked_fill_((xs < spec.clip[0]) | (xs > spec.clip[1]), 0.0)
        return out

    def power_sums(xs, gs):
        t = stage_input(xs, spec)
        power = gs.clone() if gs.shape == t.shape else gs * torch.ones_like(t)
        sums = []
        for k in range(d + 1):
            sums.append(reduce_to(power, xs, spec.channel_dim))
            if k < d:
                power.mul_(t)
        return torch.stack(sums, dim=-1)

    gx = gc = None
    if plan is not None:
        # One sweep per block for both gradients, while the block is in cache.
        gx = torch.empty_like(x) if need_x else None
        out_blocks = _split(gx, plan) if need_x else [None] * len(_split(x, plan))
        sums = []
        for xs, gs, out in zip(_split(x, plan), _split(grad_out, plan), out_blocks):
            if need_x:
                grad_x_into(out, xs, gs)
            if need_c:
                sums.append(power_sums(xs, gs))
        if need_c:
            gc = torch.stack(sums).sum(dim=0)
    else:
        if need_x:
            shape = torch.broadcast_shapes(x.shape, grad_out.shape)
            gx = grad_x_into(torch.empty(shape, dtype=x.dtype, device=x.device), x, grad_out)
        if need_c:
            gc = power_sums(x, grad_out)
    if gc is not None:
        gc = gc.to(coefficients.dtype)
    return gx, gc


def blocked_evaluate(x, spec: EvalSpec, coefficients: tuple) -> torch.Tensor:
    """:func:`polyfit.torch.kernels.evaluate` block by block on large CPU tensors (temporaries stay in cache)."""
    plan = block_plan(x, spec.channel_dim)
    if plan is None:
        return evaluate(x, spec, coefficients)
    out = torch.empty_like(x)
    for xs, ys in zip(_split(x, plan), _split(out, plan)):
        ys.copy_(evaluate(xs, spec, coefficients))
    return out


def blocked_gradients(x, grad, spec: EvalSpec, coefficients: tuple, need_x: bool, need_c: tuple):
    """:func:`polyfit.torch.kernels.eager_gradients` block by block on large CPU tensors."""
    plan = block_plan(x, spec.channel_dim) if grad.shape == x.shape else None
    if plan is None:
        return eager_gradients(x, grad, spec, coefficients, need_x, need_c)
    grad = grad.contiguous()
    gx = torch.empty_like(x) if need_x else None
    sums = [None] * len(coefficients)
    blocks = zip(_split(x, plan), _split(grad, plan), _split(gx, plan) if need_x else [None] * len(_split(x, plan)))
    for xs, gs, out in blocks:
        bx, bc = eager_gradients(xs, gs, spec, coefficients, need_x, need_c)
        if need_x:
            out.copy_(bx)
        sums = [s if b is None else (b if s is None else s + b) for s, b in zip(sums, bc)]
    return gx, sums
