"""PolyActivation: any polyfit Approximation evaluated in torch, with a frugal backward.

The module computes (SPEC §2)

    y(x) = combine(x̃, s_k(… s_1(input_scale · x̃)))      x̃ = clamp(x, lo, hi) in training when clipping, else x

with each stage a monomial series Σ c_k t^k (Horner) or a Chebyshev series Σ c_k T_k(w(t)),
w(t) = (2t − hi − lo)/(hi − lo) over the stage's interval (Clenshaw). Coefficients are
buffers (fixed) or parameters (``trainable=True``), of shape ``[d+1]`` per layer or
``[C, d+1]`` per channel (``channel_dim``), kept in float64 as master copies and cast to
the input's dtype for the math (float32 under autocast and for float16/bfloat16 inputs, whose
output is cast back).

Memory: :class:`PolyFunction` is a custom ``torch.autograd.Function`` that saves only its
input (plus the tiny coefficient tensors), like ReLU saves one tensor; its backward
recomputes what it needs from x (:func:`polyfit.torch.kernels.gradients`).

Speed: in training, large tensors run compiled kernels (:mod:`polyfit.torch.fused`, one
loop each way); everything else runs the eager kernels (:mod:`polyfit.torch.blocked` for
one monomial stage, :mod:`polyfit.torch.kernels` otherwise).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..approximation import Approximation, Stage
from ..errors import InputError
from . import blocked, fused
from .kernels import EvalSpec, channel_views, clenshaw, evaluate, horner  # noqa: F401  (public names, kept here)


class PolyFunction(torch.autograd.Function):
    """y = evaluate(x); saves only x (and the few-element coefficient tensors).

    Forward and backward run compiled when :mod:`polyfit.torch.fused` says so (one loop
    each way), else eagerly: one monomial stage with combine ``none`` by the cache-blocked
    in-place kernels of :mod:`polyfit.torch.blocked` (∂y/∂x = s·p'(s·x̃)·[lo ≤ x ≤ hi],
    ∂y/∂c_k = Σ g·t^k), everything else by :func:`polyfit.torch.kernels.gradients` (the
    compiled kernel's formulas, recomputed from x; cache-blocked on large CPU tensors).
    """

    @staticmethod
    def forward(ctx, x, spec, *coefficients):
        ctx.spec = spec
        ctx.save_for_backward(x, *coefficients)
        y = fused.forward(x, spec, coefficients)
        if y is not None:
            return y
        if spec.is_single_monomial:
            return blocked.monomial_forward(x, spec, coefficients[0])
        return blocked.blocked_evaluate(x, spec, coefficients)

    @staticmethod
    def backward(ctx, grad_out):
        x, *coefficients = ctx.saved_tensors
        spec = ctx.spec
        need_x = ctx.needs_input_grad[0]
        need_c = tuple(ctx.needs_input_grad[2:])
        out = fused.backward(x, grad_out, spec, tuple(coefficients), need_x, need_c)
        if out is None and spec.is_single_monomial:
            gx, gc = blocked.monomial_backward(x, spec, coefficients[0], grad_out, need_x, need_c[0])
            out = gx, [gc]
        elif out is None:
            out = blocked.blocked_gradients(x, grad_out, spec, tuple(coefficients), need_x, need_c)
        gx, gc = out
        return (gx if need_x else None, None, *gc)


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
        fused: ``None`` (default, auto): compiled kernels in training on large tensors where
            a compiler is present, eager otherwise; ``True``: compiled whenever possible (eval
            and small tensors too); ``False``: always eager. See :mod:`polyfit.torch.fused`.

    State: buffers/parameters ``coefficients_0 … coefficients_{k-1}`` (float64 master copies).

    >>> import polyfit as pf
    >>> act = PolyActivation(pf.fit("relu", degree=2, domain=1))
    >>> act(torch.tensor([0.0, 1.0])).shape
    torch.Size([2])
    """

    def __init__(self, approximation, trainable: bool = False, channel_dim: int | None = None,
                 num_channels: int | None = None, clip=False, name: str | None = None, fused: bool | None = None):
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
        self.fused = None if fused is None else bool(fused)
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
        if x.dtype in (torch.float16, torch.bfloat16):
            # the powers (Horner, Clenshaw, composite stages) in 8 or 11 bits lose everything at high
            # degree: gelu degree 20 on [-6, 6] erred by 18.7 in bfloat16 (approximation error 6e-4);
            # computed in float32, only the output's own rounding is left
            return self._forward(x.float()).to(x.dtype)
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
        tracing = _tracing()
        if tracing:
            return evaluate(x, spec, coefficients, as_constants=True)
        spec.constants = self._constants(spec, x.device)
        if torch.is_grad_enabled() and (x.requires_grad or any(c.requires_grad for c in coefficients)):
            return PolyFunction.apply(x, spec, *coefficients)
        with torch.no_grad():  # inference: compiled only when asked for (fused=True), never compiling on its own
            y = fused.forward(x, spec, coefficients) if self.fused else None
            if y is None and spec.is_single_monomial:
                y = blocked.monomial_forward(x, spec, coefficients[0])
            return y if y is not None else blocked.blocked_evaluate(x, spec, coefficients)

    def _constants(self, spec: EvalSpec, device) -> torch.Tensor:
        """The compiled kernels' constants on ``device``, built once per (device, clip, stages)."""
        cache = self.__dict__.setdefault("_constant_cache", {})
        key = (device, spec.clip, spec.input_scale, spec.stages)
        if key not in cache:
            cache[key] = fused.constants_for(spec, device)
        return cache[key]

    def extra_repr(self) -> str:
        a = self.approximation
        parts = [f"target={a.target.name}", f"degrees={a.degrees}", f"domain=[{a.domain[0]:g}, {a.domain[1]:g}]"]
        if a.combine != "none":
            parts.append(f"combine={a.combine}")
        if self.channel_dim is not None:
            parts.append(f"channel_dim={self.channel_dim}, num_channels={self.num_channels}")
        if self.trainable:
            parts.append("trainable=True")
        if self.fused is not None:
            parts.append(f"fused={self.fused}")
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
