"""PolyActivation: any polyfit Approximation evaluated in torch, with a frugal backward.

The module computes (SPEC §2)

    y(x) = combine(x̃, s_k(… s_1(input_scale · x̃)))      x̃ = clamp(x, lo, hi) in training when clipping, else x

with each stage a monomial series Σ c_k t^k (Horner) or a Chebyshev series Σ c_k T_k(w(t)),
w(t) = (2t − hi − lo)/(hi − lo) over the stage's interval (Clenshaw). Coefficients are
buffers (fixed) or parameters (``trainable=True``), of shape ``[d+1]`` per layer or
``[C, d+1]`` per channel (``channel_dim``), kept in float64 as master copies and cast to
the input's dtype for the math (float32 under autocast).

Memory: :class:`PolyFunction` is a custom ``torch.autograd.Function`` that saves only its
input (plus the tiny coefficient tensors), like ReLU saves one tensor; its backward
recomputes p'(x) by Horner (one monomial stage) or re-runs the forward under autograd
(Chebyshev stages, composites, combines).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..approximation import Approximation, Stage, apply_combine  # apply_combine: operators only, works on tensors
from ..errors import InputError


# -- pure tensor evaluation ---------------------------------------------------------------

def channel_views(coefficients: torch.Tensor, x: torch.Tensor, channel_dim: int | None) -> list[torch.Tensor]:
    """The coefficients c_0..c_d as tensors that broadcast against ``x``.

    ``coefficients`` is ``[d+1]`` (0-dim views) or ``[C, d+1]`` (views of shape
    ``[1, …, C, …, 1]`` with C at ``channel_dim``).
    """
    if coefficients.dim() == 1:
        return list(coefficients.unbind(0))
    shape = [1] * x.dim()
    shape[channel_dim] = coefficients.shape[0]
    return [c.reshape(shape) for c in coefficients.unbind(1)]


def horner(t: torch.Tensor, coefficients: list[torch.Tensor]) -> torch.Tensor:
    """Σ c_k t^k by Horner's rule, out of place (autograd-friendly)."""
    if len(coefficients) == 1:
        return torch.zeros_like(t) + coefficients[0]
    y = t * coefficients[-1] + coefficients[-2]
    for c in reversed(coefficients[:-2]):
        y = y * t + c
    return y


def clenshaw(t: torch.Tensor, coefficients: list[torch.Tensor], interval: tuple[float, float]) -> torch.Tensor:
    """Σ c_k T_k(w) with w = (2t − hi − lo)/(hi − lo), by Clenshaw's recurrence.

    b_k = c_k + 2w·b_{k+1} − b_{k+2};  result = c_0 + w·b_1 − b_2.
    """
    lo, hi = interval
    w = t * (2.0 / (hi - lo)) - (hi + lo) / (hi - lo)
    if len(coefficients) == 1:
        return torch.zeros_like(w) + coefficients[0]
    two_w = 2.0 * w
    b1 = torch.zeros_like(w)
    b2 = torch.zeros_like(w)
    for c in reversed(coefficients[1:]):
        b1, b2 = c + two_w * b1 - b2, b1
    return coefficients[0] + w * b1 - b2


def evaluate(x: torch.Tensor, spec: "EvalSpec", coefficients: tuple[torch.Tensor, ...],
             as_constants: bool = False) -> torch.Tensor:
    """y(x) for the approximation described by ``spec`` (out of place, differentiable).

    ``as_constants``: per-layer coefficients enter as Python floats (graph constants when
    tracing for export: plain Mul/Add nodes, no coefficient tensors to split).
    """
    if spec.clip is not None:
        x = x.clamp(spec.clip[0], spec.clip[1])
    s = x * spec.input_scale if spec.input_scale != 1.0 else x
    for (basis, interval), coef in zip(spec.stages, coefficients):
        views = coef.tolist() if as_constants and coef.dim() == 1 else channel_views(coef, x, spec.channel_dim)
        s = horner(s, views) if basis == "monomial" else clenshaw(s, views, interval)
    return apply_combine(spec.combine, x, s)


class EvalSpec:
    """Static description of an evaluation: stage bases, input scale, combine, clip range."""

    __slots__ = ("stages", "input_scale", "combine", "clip", "channel_dim", "fused")

    def __init__(self, stages, input_scale, combine, clip, channel_dim, fused=False):
        self.stages = tuple(stages)  # ((basis, interval or None), ...)
        self.input_scale = float(input_scale)
        self.combine = combine
        self.clip = clip
        self.channel_dim = channel_dim
        self.fused = bool(fused)

    @property
    def is_single_monomial(self) -> bool:
        return len(self.stages) == 1 and self.stages[0][0] == "monomial" and self.combine == "none"


def _reduce_to(grad: torch.Tensor, x: torch.Tensor, channel_dim: int | None) -> torch.Tensor:
    """Sum a per-element tensor to a scalar (per layer) or to ``[C]`` (per channel)."""
    if channel_dim is None:
        return grad.sum()
    dims = [d for d in range(x.dim()) if d != channel_dim]
    return grad.sum(dim=dims) if dims else grad


class PolyFunction(torch.autograd.Function):
    """y = evaluate(x); saves only x; backward recomputes what it needs from x.

    One monomial stage with combine ``none`` (the common case) has a hand-written backward:
    ∂y/∂x = s·p'(s·x̃)·[lo ≤ x ≤ hi] and ∂y/∂c_k = Σ g·t^k. Everything else re-runs the
    forward under autograd from the saved input (activation checkpointing of one op).
    """

    @staticmethod
    def forward(ctx, x, spec, *coefficients):
        ctx.spec = spec
        ctx.save_for_backward(x, *coefficients)
        if spec.is_single_monomial:
            return monomial_forward(x, spec, coefficients[0])
        return evaluate(x, spec, coefficients)

    @staticmethod
    def backward(ctx, grad_out):
        x, *coefficients = ctx.saved_tensors
        spec = ctx.spec
        need_x = ctx.needs_input_grad[0]
        need_c = ctx.needs_input_grad[2:]
        if spec.is_single_monomial:
            gx, gc = _monomial_backward(x, spec, coefficients[0], grad_out, need_x, need_c[0])
            return gx, None, gc
        with torch.enable_grad():
            xd = x.detach().requires_grad_(need_x)
            cd = [c.detach().requires_grad_(n) for c, n in zip(coefficients, need_c)]
            y = evaluate(xd, spec, tuple(cd))
            wanted = ([xd] if need_x else []) + [c for c, n in zip(cd, need_c) if n]
            grads = list(torch.autograd.grad(y, wanted, grad_out)) if wanted else []
        gx = grads.pop(0) if need_x else None
        gc = [grads.pop(0) if n else None for n in need_c]
        return (gx, None, *gc)


#: Elements per block of the cache-blocked CPU kernels (512 KiB of float32: stays in L2,
#: and large enough that per-op dispatch overhead stays small next to the work).
BLOCK = 1 << 17


def _block_plan(x: torch.Tensor, channel_dim) -> tuple[str, int] | None:
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


def _coefficient_values(coefficients: torch.Tensor, x: torch.Tensor, channel_dim):
    """Python floats on CPU (cheapest scalar operands), broadcastable tensor views elsewhere."""
    if coefficients.dim() == 1 and coefficients.device.type == "cpu":
        return coefficients.tolist()
    return channel_views(coefficients, x, channel_dim)


def _fused_constants(x, spec):
    """Clip bounds [lo, hi] and input scale as tensors (values never force a recompile)."""
    lo, hi = spec.clip if spec.clip is not None else (0.0, 0.0)
    return (torch.tensor([lo, hi], dtype=x.dtype, device=x.device),
            torch.tensor(spec.input_scale, dtype=x.dtype, device=x.device))


def _fused_backward(x, spec, coefficients, grad_out, need_x, need_c):
    """The fused-kernel version of :func:`_monomial_backward` (degree ≥ 2)."""
    from . import fused

    bounds, scale = _fused_constants(x, spec)
    views = channel_views(coefficients, x, spec.channel_dim)
    clip = spec.clip is not None
    gx = gc = None
    if need_x:
        derivative = [views[k] * (k * spec.input_scale) for k in range(1, len(views))]
        gx = fused.compiled(fused.backward_x_kernel)(x, grad_out, derivative, bounds, scale, clip)
    if need_c:
        dims = [d for d in range(x.dim()) if d != spec.channel_dim]
        gc = fused.compiled(fused.power_sums_kernel)(x, grad_out, len(views) - 1, bounds, scale, clip, dims)
        gc = gc.to(coefficients.dtype)
    return gx, gc


def _stage_input(x, spec):
    """t = input_scale · clamp(x, clip) (x itself when neither applies)."""
    t = x.clamp(spec.clip[0], spec.clip[1]) if spec.clip is not None else x
    return t * spec.input_scale if spec.input_scale != 1.0 else t


def _horner_into(out, t, c):
    """out ← Σ c_k t^k in place (c: floats or broadcastable tensors, at least 2 of them)."""
    d = len(c) - 1
    torch.mul(t, c[d], out=out)
    out.add_(c[d - 1])
    for k in range(d - 2, -1, -1):
        out.mul_(t).add_(c[k])
    return out


def monomial_forward(x: torch.Tensor, spec: EvalSpec, coefficients: torch.Tensor) -> torch.Tensor:
    """p(t), t = s·clamp(x), for one monomial stage: Horner in place, cache-blocked on CPU."""
    if spec.fused and coefficients.shape[-1] > 1:
        from . import fused

        bounds, scale = _fused_constants(x, spec)
        return fused.compiled(fused.forward_kernel)(x, channel_views(coefficients, x, spec.channel_dim), bounds, scale,
                                                    spec.clip is not None)
    c = _coefficient_values(coefficients, x, spec.channel_dim)
    if len(c) == 1:
        return torch.zeros_like(x).add_(c[0])
    plan = _block_plan(x, spec.channel_dim)
    if plan is None:
        t = _stage_input(x, spec)
        shape = torch.broadcast_shapes(t.shape, *(v.shape for v in c if isinstance(v, torch.Tensor)))
        return _horner_into(torch.empty(shape, dtype=x.dtype, device=x.device), t, c)
    out = torch.empty_like(x)
    for xs, ys in zip(_split(x, plan), _split(out, plan)):
        _horner_into(ys, _stage_input(xs, spec), c)
    return out


def _monomial_backward(x, spec, coefficients, grad_out, need_x, need_c):
    """Gradients of y = Σ c_k t^k, t = s·clamp(x), lo ≤ x ≤ hi:

    ∂L/∂x = g·s·p'(t)·[lo ≤ x ≤ hi] (Horner on k·c_k), ∂L/∂c_k = Σ g·t^k (running powers).
    """
    if spec.fused and coefficients.shape[-1] > 2 and grad_out.shape == x.shape:
        return _fused_backward(x, spec, coefficients, grad_out, need_x, need_c)
    scale = spec.input_scale
    c = _coefficient_values(coefficients, x, spec.channel_dim)
    d = len(c) - 1
    derivative = [c[k] * (k * scale) for k in range(1, d + 1)]
    plan = _block_plan(x, spec.channel_dim) if grad_out.shape == x.shape else None
    grad_out = grad_out.contiguous() if plan is not None else grad_out

    def grad_x_into(out, xs, gs):
        if d == 0:
            return out.zero_()
        if d == 1:
            torch.mul(gs, derivative[0], out=out)
        else:
            _horner_into(out, _stage_input(xs, spec), derivative).mul_(gs)
        if spec.clip is not None:
            out.masked_fill_((xs < spec.clip[0]) | (xs > spec.clip[1]), 0.0)
        return out

    def power_sums(xs, gs):
        t = _stage_input(xs, spec)
        power = gs.clone() if gs.shape == t.shape else gs * torch.ones_like(t)
        sums = []
        for k in range(d + 1):
            sums.append(_reduce_to(power, xs, spec.channel_dim))
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


# -- the module -----------------------------------------------------------------------------

class PolyActivation(nn.Module):
    """Evaluate a polyfit :class:`~polyfit.Approximation` as a torch activation.

    Args:
        approximation: any Approximation (one stage or a composite, monomial or Chebyshev
            stages, any ``input_scale`` and ``combine``).
        trainable: coefficients are ``nn.Parameter`` s (else buffers).
        channel_dim: evaluate one polynomial per channel along this input dimension
            (coefficients of shape ``[C, d+1]``); ``None`` for one per layer.
        num_channels: C, required with ``channel_dim``.
        clip: ``False``; ``True`` to clamp inputs to the approximation's domain in training
            only; or ``(lo, hi)`` inside the domain.
        name: the site name used in error messages (surgery sets it).
        fused: evaluate one monomial stage with ``torch.compile`` d kernels (one pass each
            way, ReLU's memory traffic; compiles on first use, see :mod:`polyfit.torch.fused`).

    State: buffers/parameters ``coefficients_0 … coefficients_{k-1}`` (float64 master copies).

    >>> import polyfit as pf
    >>> act = PolyActivation(pf.fit("relu", degree=2, domain=1))
    >>> act(torch.tensor([0.0, 1.0])).shape
    torch.Size([2])
    """

    def __init__(self, approximation, trainable: bool = False, channel_dim: int | None = None,
                 num_channels: int | None = None, clip=False, name: str | None = None, fused: bool = False):
        super().__init__()
        if not isinstance(approximation, Approximation):
            raise InputError(f"PolyActivation needs a polyfit Approximation, got {type(approximation).__name__}")
        if (channel_dim is None) != (num_channels is None):
            raise InputError(f"give channel_dim and num_channels together (per-channel), or neither (per-layer); "
                             f"got channel_dim={channel_dim!r}, num_channels={num_channels!r}")
        if num_channels is not None and (int(num_channels) != num_channels or num_channels < 1):
            raise InputError(f"num_channels must be a positive integer, got {num_channels!r}")
        self.approximation = approximation
        self.trainable = bool(trainable)
        self.channel_dim = None if channel_dim is None else int(channel_dim)
        self.num_channels = None if num_channels is None else int(num_channels)
        self.site_name = name
        self.fused = bool(fused)
        self.clip_range = _clip_range(approximation, clip, name)
        self.num_stages = len(approximation.stages)
        for i, stage in enumerate(approximation.stages):
            coef = torch.tensor(stage.coefficients, dtype=torch.float64)
            if self.num_channels is not None:
                coef = coef.repeat(self.num_channels, 1)
            if self.trainable:
                self.register_parameter(f"coefficients_{i}", nn.Parameter(coef))
            else:
                self.register_buffer(f"coefficients_{i}", coef)

    # -- coefficients ------------------------------------------------------------------
    def stage_coefficients(self) -> list[torch.Tensor]:
        """The coefficient tensors, one per stage (``[d+1]`` or ``[C, d+1]``)."""
        return [getattr(self, f"coefficients_{i}") for i in range(self.num_stages)]

    @property
    def coefficients(self) -> torch.Tensor:
        """The coefficient tensor of a one-stage approximation."""
        if self.num_stages != 1:
            raise InputError(f"{self._label()}: coefficients is defined for one stage; use stage_coefficients()")
        return self.coefficients_0

    def _label(self) -> str:
        return f"site {self.site_name!r}" if self.site_name else "PolyActivation"

    def check_finite(self) -> None:
        """Raise InputError naming the site if any coefficient is NaN or infinite."""
        for i, c in enumerate(self.stage_coefficients()):
            if not bool(torch.isfinite(c).all()):
                raise InputError(f"{self._label()}: stage {i} has non-finite coefficients "
                                 f"({c.detach().cpu().flatten().tolist()[:8]}...); lower the learning rate or clip inputs")

    def spec(self, training_clip: bool | None = None) -> EvalSpec:
        """The static :class:`EvalSpec`; clipping only applies in training mode."""
        clip_now = self.training if training_clip is None else training_clip
        return EvalSpec(((s.basis, s.interval) for s in self.approximation.stages), self.approximation.input_scale,
                        self.approximation.combine, self.clip_range if (clip_now and self.clip_range) else None,
                        self.channel_dim, self.fused)

    # -- forward -----------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(x.device.type, enabled=False):
                return self._forward(x.float())
        return self._forward(x)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_floating_point(x):
            x = x.to(torch.get_default_dtype())
        channel_dim = self.channel_dim
        if channel_dim is not None:
            if not -x.dim() <= channel_dim < x.dim():
                raise InputError(f"{self._label()}: channel_dim {self.channel_dim} is out of range for an input of shape {tuple(x.shape)}")
            channel_dim %= x.dim()
            if x.shape[channel_dim] != self.num_channels:
                raise InputError(f"{self._label()}: input has {x.shape[channel_dim]} channels along dim {self.channel_dim}, "
                                 f"the activation was built for num_channels={self.num_channels}")
        if self.trainable and self.training:
            self.check_finite()
        spec = self.spec()
        spec.channel_dim = channel_dim
        coefficients = tuple(c.to(dtype=x.dtype) for c in self.stage_coefficients())
        needs_grad = torch.is_grad_enabled() and (x.requires_grad or any(c.requires_grad for c in coefficients))
        if needs_grad and not _tracing():
            return PolyFunction.apply(x, spec, *coefficients)
        if spec.is_single_monomial and not _tracing():
            with torch.no_grad():
                return monomial_forward(x, spec, coefficients[0])
        return evaluate(x, spec, coefficients, as_constants=_tracing())

    def extra_repr(self) -> str:
        a = self.approximation
        parts = [f"target={a.target.name}", f"degrees={a.degrees}", f"domain=[{a.domain[0]:g}, {a.domain[1]:g}]"]
        if a.combine != "none":
            parts.append(f"combine={a.combine}")
        if self.channel_dim is not None:
            parts.append(f"channel_dim={self.channel_dim}, num_channels={self.num_channels}")
        if self.trainable:
            parts.append("trainable=True")
        if self.fused:
            parts.append("fused=True")
        if self.clip_range:
            parts.append(f"clip=[{self.clip_range[0]:g}, {self.clip_range[1]:g}]")
        if self.site_name:
            parts.append(f"site={self.site_name!r}")
        return ", ".join(parts)

    # -- back to polyfit -------------------------------------------------------------------
    def to_approximation(self, channel: int | None = None):
        """An Approximation with the current coefficients (reports recomputed).

        Per-channel modules need ``channel`` (or use :meth:`to_approximations`). Quantized
        stages keep their integers only while the coefficients still equal them exactly.
        """
        from ..reports import with_reports

        self.check_finite()
        if self.channel_dim is not None and channel is None:
            raise InputError(f"{self._label()}: per-channel activation; pass channel=0..{self.num_channels - 1} or use to_approximations()")
        if channel is not None and (self.channel_dim is None or not 0 <= channel < self.num_channels):
            raise InputError(f"{self._label()}: channel {channel!r} out of range for num_channels={self.num_channels}")
        stages = []
        for stage, coef in zip(self.approximation.stages, self.stage_coefficients()):
            row = coef.detach().to("cpu", torch.float64)
            values = tuple(float(v) for v in (row[channel] if channel is not None else row))
            quantized = stage.quantized if values == tuple(stage.coefficients) else None
            stages.append(Stage(stage.basis, values, stage.interval, quantized))
        if tuple(stages) == tuple(self.approximation.stages):
            return self.approximation
        provenance = dict(self.approximation.provenance)
        provenance["warnings"] = list(provenance.get("warnings") or []) + [
            "coefficients changed by training in polyfit.torch; objective describes the initial fit"]
        provenance["trained_from"] = self.approximation.provenance.get("solver")
        provenance["solver"] = "torch-trained"
        return with_reports(self.approximation.replace(stages=tuple(stages), provenance=provenance))

    def to_approximations(self) -> list:
        """One Approximation per channel (per-channel modules) or a one-element list."""
        if self.channel_dim is None:
            return [self.to_approximation()]
        return [self.to_approximation(c) for c in range(self.num_channels)]

    def load_approximation(self, approximation) -> None:
        """Copy another Approximation's coefficients in (same stage structure)."""
        shapes = [(s.basis, s.degree, s.interval) for s in self.approximation.stages]
        if [(s.basis, s.degree, s.interval) for s in approximation.stages] != shapes:
            raise InputError(f"{self._label()}: approximation stages {[(s.basis, s.degree) for s in approximation.stages]} "
                             f"do not match {[(b, d) for b, d, _ in shapes]}")
        with torch.no_grad():
            for stage, coef in zip(approximation.stages, self.stage_coefficients()):
                coef.copy_(torch.tensor(stage.coefficients, dtype=coef.dtype).expand_as(coef))
        self.approximation = approximation


def _tracing() -> bool:
    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or _fx_tracing()


def _fx_tracing() -> bool:
    try:
        from torch.fx._symbolic_trace import is_fx_tracing_symbolic_tracing

        return is_fx_tracing_symbolic_tracing()
    except ImportError:  # pragma: no cover - older torch
        return False


def _clip_range(approximation, clip, name) -> tuple[float, float] | None:
    """Resolve ``clip``: False → None, True → the domain, (lo, hi) → checked inside the domain."""
    if clip is False or clip is None:
        return None
    lo, hi = approximation.domain
    if clip is True:
        return (lo, hi)
    try:
        c_lo, c_hi = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise InputError(f"clip must be False, True or (lo, hi), got {clip!r}") from None
    label = f"site {name!r}: " if name else ""
    if not (math.isfinite(c_lo) and math.isfinite(c_hi) and c_lo < c_hi):
        raise InputError(f"{label}clip range {clip!r} must be finite with lo < hi")
    if c_lo < lo or c_hi > hi:
        raise InputError(f"{label}the approximation's domain [{lo:g}, {hi:g}] does not cover the clip range [{c_lo:g}, {c_hi:g}]")
    return (c_lo, c_hi)
