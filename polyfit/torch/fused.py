"""Compiled kernels: the whole activation in one loop forward and one loop backward.

Eager torch runs Horner's rule as ~2d elementwise passes over the tensor (Clenshaw ~3d, a
composite the sum over its stages); the pure functions of :mod:`polyfit.torch.kernels`,
compiled by TorchInductor (a C++ compiler on CPU, Triton on CUDA), become one loop each —
read x (and g), write y (or ∂L/∂x, and the coefficient sums) — the memory traffic of ReLU.

When this path runs (``PolyActivation(fused=None)``, the default, "auto"): in training
(a gradient is needed) on a contiguous CPU or CUDA tensor of at least
:data:`MIN_ELEMENTS` elements, when a compiler is there and the environment variable
``POLYFIT_TORCH_FUSED`` is not ``0``/``off``/``eager``. Eval mode, tiny tensors, tracing
and export always run eagerly, so they never pay a compilation. ``fused=True`` compiles
whenever it can (any size, eval too); ``fused=False`` never does.

Compiled once per variant — (stage bases and degrees, combine, clip on/off, dtype,
per-layer or per-channel layout, which gradients): every size is one variant
(``dynamic=True``), and coefficients, clip bounds, input scale and Chebyshev intervals are
tensors, so sites with other values reuse it. TorchInductor's FX graph cache keeps the
generated code on disk, so later processes skip the C++/Triton compile (docs/torch.md
gives the measured first-call costs).

If compiling fails (no compiler, no Triton, an inductor error) the call runs eagerly and
that device type stays eager for the rest of the process: one line on the
``polyfit.torch`` logger, and a warning only when ``fused=True`` was asked for.
"""
from __future__ import annotations

import functools
import importlib.util
import logging
import os
import shutil
import types
import warnings

import torch

from . import kernels

#: Smallest tensor (elements) the auto mode compiles for: below it a compiled call's fixed
#: overhead (~30 µs) is about what it saves.
MIN_ELEMENTS = 1 << 16
#: Environment variable: ``0``/``off``/``eager`` keeps the auto mode eager (tests set it).
ENV_VAR = "POLYFIT_TORCH_FUSED"
_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)

_log = logging.getLogger("polyfit.torch")
_OUT_OF_MEMORY = getattr(torch, "OutOfMemoryError", MemoryError)  # torch ≥ 2.3 names it


def _compiling() -> bool:
    """Inside a user's torch.compile (False on a torch without ``torch.compiler.is_compiling``)."""
    check = getattr(getattr(torch, "compiler", None), "is_compiling", None)
    return bool(check()) if check is not None else False


def auto_enabled() -> bool:
    """False when ``POLYFIT_TORCH_FUSED`` is 0/off/eager/false (read at each call)."""
    return os.environ.get(ENV_VAR, "auto").strip().lower() not in ("0", "off", "eager", "false", "no")


@functools.lru_cache(maxsize=None)
def compiler_present(device_type: str) -> bool:
    """Whether TorchInductor has what it needs for ``device_type``: a C++ compiler on CPU
    (``$CXX``, g++, c++ or clang++ on PATH), the ``triton`` package on CUDA."""
    if device_type == "cpu":
        return any(shutil.which(c) for c in (os.environ.get("CXX") or "g++", "g++", "c++", "clang++") if c)
    if device_type == "cuda":
        return importlib.util.find_spec("triton") is not None
    return False


class _Kernels:
    """The ``torch.compile`` wrappers, one per variant (built once), and the device types
    where compiling failed: a process-wide cache of facts about this environment, like
    ``lru_cache``.

    Each variant gets its own copy of the kernel's code object, so dynamo keeps one cache
    (and one recompile budget) per variant instead of sharing 8 entries among all of them;
    the on-disk FX graph cache is keyed by the graph, so processes still share the code.
    """

    def __init__(self):
        self.wrappers: dict = {}
        self.failed: set[str] = set()

    def wrapper(self, kernel, variant):
        key = (kernel, variant)
        if key not in self.wrappers:
            code = kernel.__code__.replace(co_name=f"{kernel.__name__}_v{len(self.wrappers)}")
            copy = types.FunctionType(code, kernel.__globals__, code.co_name, kernel.__defaults__, kernel.__closure__)
            self.wrappers[key] = torch.compile(copy, dynamic=True, fullgraph=True)
        return self.wrappers[key]

    def call(self, kernel, variant, device_type: str, explicit: bool, *args):
        """``compiled(kernel)(*args)``, or None (run eagerly) when compiling failed."""
        try:
            return self.wrapper(kernel, variant)(*args)
        except _OUT_OF_MEMORY:
            raise
        except Exception as exc:  # a missing or broken compiler surfaces as any of several inductor errors
            self.failed.add(device_type)
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
            message = (f"polyfit.torch: compiling the activation kernels for {device_type} failed "
                       f"({type(exc).__name__}: {first}); running eagerly from now on")
            _log.info(message)
            if explicit:
                warnings.warn(message, RuntimeWarning, stacklevel=4)
            return None


_KERNELS = _Kernels()


def usable(fused, x: torch.Tensor) -> bool:
    """Whether this call should run compiled (see the module docstring)."""
    if fused is False or not x.is_contiguous() or x.dtype not in _DTYPES or x.numel() == 0:
        return False
    if _compiling():  # inside a user's torch.compile: let it fuse our eager ops
        return False
    if fused is None and (x.numel() < MIN_ELEMENTS or not auto_enabled()):
        return False
    device_type = x.device.type
    return device_type not in _KERNELS.failed and compiler_present(device_type)


def layout(x: torch.Tensor, channel_dim: int | None) -> torch.Tensor:
    """x as one layout per kind: flat ``[n]`` per layer, ``[outer, C, inner]`` per channel."""
    if channel_dim is None:
        return x.view(-1)
    outer = 1
    for n in x.shape[:channel_dim]:
        outer *= n
    return x.view(outer, x.shape[channel_dim], -1)


def _views(coefficients: torch.Tensor, per_channel: bool) -> list:
    if not per_channel:
        return list(coefficients.unbind(0))
    return [c.view(1, -1, 1) for c in coefficients.unbind(1)]


def _unpack(constants, stages: int):
    """constants = [lo, hi, scale, a_1, b_1, …, a_K, b_K] → bounds, scale, affine."""
    return (constants[0], constants[1]), constants[2], [(constants[3 + 2 * j], constants[4 + 2 * j]) for j in range(stages)]


def forward_kernel(x, coefficients: tuple, constants, bases: tuple, combine: str, clip: bool, per_channel: bool):
    """y(x) on a flat or ``[outer, C, inner]`` tensor (:func:`kernels.evaluate_stages`)."""
    bounds, scale, affine = _unpack(constants, len(bases))
    views = [_views(c, per_channel) for c in coefficients]
    return kernels.evaluate_stages(x, views, bases, affine, combine, bounds, scale, clip)


def backward_kernel(x, grad, coefficients: tuple, constants, bases: tuple, combine: str, clip: bool,
                    per_channel: bool, need_x: bool, need_c: tuple):
    """(∂L/∂x, *∂L/∂c per stage) on a flat or ``[outer, C, inner]`` tensor (:func:`kernels.gradients`)."""
    bounds, scale, affine = _unpack(constants, len(bases))
    views = [_views(c, per_channel) for c in coefficients]

    def reduce(t):
        return t.sum(dim=(0, 2)) if per_channel else t.sum()

    gx, gc = kernels.gradients(x, grad, views, bases, affine, combine, bounds, scale, clip, need_x, need_c, reduce)
    return (gx, *gc)


def constants_for(spec, device) -> torch.Tensor:
    """The float64 constants tensor of ``spec`` (clip bounds, input scale, stage affines)."""
    lo, hi = spec.clip if spec.clip is not None else (0.0, 0.0)
    values = [lo, hi, spec.input_scale] + [v for ab in spec.affine() for v in ab]
    return torch.tensor(values, dtype=torch.float64, device=device)


def _variant(x, spec, coefficients) -> tuple:
    """What a compiled kernel is specialised on: device type, dtype, layout, stages, combine, clip."""
    return (x.device.type, x.dtype, spec.channel_dim is not None, spec.bases,
            tuple(c.shape[-1] - 1 for c in coefficients), spec.combine, spec.clip is not None)


def _constants(spec, x):
    return spec.constants if spec.constants is not None else constants_for(spec, x.device)


def forward(x, spec, coefficients: tuple):
    """Compiled y(x), or None when the eager engine should run."""
    if not usable(spec.fused, x):
        return None
    constants = _constants(spec, x)
    per_channel = spec.channel_dim is not None
    variant = _variant(x, spec, coefficients)
    y = _KERNELS.call(forward_kernel, variant, x.device.type, spec.fused is True, layout(x, spec.channel_dim),
                      coefficients, constants, spec.bases, spec.combine, spec.clip is not None, per_channel)
    return None if y is None else y.view(x.shape)


def backward(x, grad, spec, coefficients: tuple, need_x: bool, need_c: tuple):
    """Compiled (∂L/∂x, [∂L/∂c per stage]), or None when the eager engine should run."""
    if not usable(spec.fused, x) or grad.shape != x.shape:
        return None
    constants = _constants(spec, x)
    grad = grad.contiguous()
    per_channel = spec.channel_dim is not None
    variant = (*_variant(x, spec, coefficients), need_x, tuple(need_c))
    out = _KERNELS.call(backward_kernel, variant, x.device.type, spec.fused is True, layout(x, spec.channel_dim),
                        layout(grad, spec.channel_dim), coefficients, constants, spec.bases, spec.combine,
                        spec.clip is not None, per_channel, need_x, tuple(need_c))
    if out is None:
        return None
    gx, *gc = out
    return (gx.view(x.shape) if gx is not None else None,
            [g.to(c.dtype) if g is not None else None for g, c in zip(gc, coefficients)])
