"""Pooling without max: average pooling with a constant divisor, or a polynomial max.

HE and MPC evaluate no comparison, so a network's max pooling is either swapped for
average pooling (linear, so free in HE) or computed as SmartPAF does from a polynomial
approximation s ≈ sign:

    max(a, b) = ((a + b) + (a − b)·s(z)) / 2,   z = (a − b)/B

applied over each window as a tournament (pairs, then pairs of winners: ⌈log2 k²⌉ rounds).
B (``scale``) brings differences into the approximation's domain (SmartPAF's static scale).
An approximation with ``combine="abs"`` (≈|z|) or ``combine="relu"`` (≈max(z, 0)) is used as
max(a, b) = (a + b + B·abs(z))/2 or b + B·relu(z).

Every module here exports to ONNX as Slice/Pad/Sub/Mul/Add/AveragePool/MatMul only.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..errors import ComputationError, InputError

_pair = nn.modules.utils._pair
OUT_OF_RANGE = ("raise", "clip", "ignore")


def _tracing() -> bool:
    from .fused import _compiling

    return torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or _compiling()


class SignMaxPool2d(nn.Module):
    """2-D max pooling from a polynomial sign / abs / relu approximation (tournament over the window).

    Args:
        kernel_size, stride, dilation: as ``nn.MaxPool2d`` (padding must be 0: max pooling pads
            with −inf, which has no polynomial counterpart).
        approximation: a polyfit Approximation of sign (combine none), |x| (combine abs) or
            ReLU (combine relu), or an ``nn.Module`` computing one of them (say which by ``kind``).
        scale: B; differences are multiplied by 1/B, so B must bound |a − b| / (domain half-width).
            :func:`pool_scale` chooses it from the pool's profiled input range.
        kind: ``"sign"``, ``"abs"`` or ``"relu"``; inferred from an Approximation.
        domain: the comparator's input domain (default: the approximation's; for a module
            comparator, None means unchecked).
        on_out_of_range: what a forward does when some z = (a − b)/B leaves the domain (where
            the polynomial, and so the max, is unbounded — 9e27 at B = 4 for a sign composite
            on [−1, 1]): ``"raise"`` (default: ComputationError naming the largest |a − b| and
            the scale that covers it), ``"clip"`` (clamp z into the domain; sign comparators
            only, where s(clamp(z)) keeps the sign; not exportable: Clip), ``"ignore"``.
            Never checked while tracing or exporting.
    """

    def __init__(self, kernel_size, approximation, stride=None, dilation=1, scale: float = 1.0, kind: str | None = None,
                 domain=None, on_out_of_range: str = "raise"):
        super().__init__()
        from .activations import PolyActivation

        if isinstance(approximation, nn.Module):
            self.comparator = approximation
            if kind is None:
                raise InputError("SignMaxPool2d: give kind='sign', 'abs' or 'relu' for a module comparator")
            self.approximation = getattr(approximation, "approximation", None)
        else:
            self.comparator = PolyActivation(approximation)
            inferred = {"none": "sign", "abs": "abs", "relu": "relu"}.get(approximation.combine)
            if inferred is None:
                raise InputError(f"SignMaxPool2d: combine {approximation.combine!r} is not a sign, abs or relu approximation")
            kind = kind or inferred
            if kind == "sign" and approximation.combine == "none":
                _check_sign_like(approximation)
            self.approximation = approximation
        if kind not in ("sign", "abs", "relu"):
            raise InputError(f"SignMaxPool2d kind {kind!r} is unknown; allowed: sign, abs, relu")
        if not (isinstance(scale, (int, float)) and math.isfinite(scale) and scale > 0):
            raise InputError(f"SignMaxPool2d scale must be a finite positive number, got {scale!r}")
        if on_out_of_range not in OUT_OF_RANGE:
            raise InputError(f"SignMaxPool2d on_out_of_range {on_out_of_range!r} is unknown; allowed: {', '.join(OUT_OF_RANGE)}")
        if on_out_of_range == "clip" and kind != "sign":
            raise InputError(f"SignMaxPool2d on_out_of_range='clip' keeps the max only for a sign comparator, not {kind!r}")
        if domain is None and self.approximation is not None:
            domain = self.approximation.domain
        self.domain = None if domain is None else (float(domain[0]), float(domain[1]))
        self.on_out_of_range = on_out_of_range
        self.kind = kind
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.dilation = _pair(dilation)
        self.scale = float(scale)

    @property
    def rounds(self) -> int:
        """⌈log2 k²⌉: tournament rounds over a window of k² values."""
        return max(0, math.ceil(math.log2(self.kernel_size[0] * self.kernel_size[1])))

    def pairwise_error(self, points: int = 20001) -> float | None:
        """max over z in the domain of |approx. max − max| for a pair with (a − b)/B = z,
        on ``points`` uniform z: B·|z|·(1 − sign(z)·s(z))/2 (sign), B·| |z| − â(z) |/2 (abs),
        B·|max(z, 0) − r̂(z)| (relu). None without an Approximation comparator."""
        if self.approximation is None or self.domain is None:
            return None
        z = np.linspace(self.domain[0], self.domain[1], points)
        s = np.asarray(self.approximation(z), dtype=float)
        if self.kind == "sign":
            err = np.abs(z) * np.abs(1.0 - np.sign(z) * s) / 2.0
        elif self.kind == "abs":
            err = np.abs(np.abs(z) - s) / 2.0
        else:
            err = np.abs(np.maximum(z, 0.0) - s)
        return float(self.scale * err.max())

    def error_bound(self) -> float | None:
        """Bound on |output − max pooling| while every difference stays in the domain:
        rounds × :meth:`pairwise_error` (each round adds at most one pairwise error, and max
        is 1-Lipschitz in each argument)."""
        e = self.pairwise_error()
        return None if e is None else self.rounds * e

    def pairwise_max(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """max(a, b) through the comparator."""
        z = (a - b) * (1.0 / self.scale)  # a product, not a division: HE has no division
        if self.on_out_of_range == "clip" and not _tracing():
            z = z.clamp(self.domain[0], self.domain[1])
        if self.kind == "sign":
            return 0.5 * ((a + b) + (a - b) * self.comparator(z))
        if self.kind == "abs":
            return 0.5 * ((a + b) + self.scale * self.comparator(z))
        return b + self.scale * self.comparator(z)

    def windows(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The k² window elements as strided slices ``[N, C, out_h, out_w]``, row-major in the window."""
        h, w = int(x.shape[2]), int(x.shape[3])  # Python ints: constant slices when traced for export
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.stride, self.dilation
        out_h = (h - dh * (kh - 1) - 1) // sh + 1
        out_w = (w - dw * (kw - 1) - 1) // sw + 1
        if out_h < 1 or out_w < 1:
            raise InputError(f"SignMaxPool2d: input {h}x{w} is smaller than the {kh}x{kw} window")
        return [x[:, :, i * dh: i * dh + sh * (out_h - 1) + 1: sh, j * dw: j * dw + sw * (out_w - 1) + 1: sw]
                for i in range(kh) for j in range(kw)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise InputError(f"SignMaxPool2d expects [N, C, H, W] input, got shape {tuple(x.shape)}")
        values = self.windows(x)
        check = self.on_out_of_range == "raise" and self.domain is not None and not _tracing()
        peak = None
        while len(values) > 1:
            pairs = [(values[k], values[k + 1]) for k in range(0, len(values) - 1, 2)]
            if check:
                # |a − b| of this round; one host sync per forward, at the end.
                round_peak = torch.stack([(a - b).detach().abs().amax() for a, b in pairs]).amax()
                peak = round_peak if peak is None else torch.maximum(peak, round_peak)
            winners = [self.pairwise_max(a, b) for a, b in pairs]
            if len(values) % 2:
                winners.append(values[-1])
            values = winners
        if peak is not None:
            self._check_range(float(peak), x)
        return values[0]

    def _check_range(self, peak: float, x: torch.Tensor) -> None:
        lo, hi = self.domain
        reach = min(-lo, hi)
        if math.isfinite(peak) and peak / self.scale <= reach:
            return
        low, high = (float(v) for v in torch.aminmax(x.detach()))
        needed = (high - low) / reach if reach > 0 else math.inf
        raise ComputationError(
            f"SignMaxPool2d: a difference (a - b)/scale reached {peak / self.scale:.4g}, outside the comparator's "
            f"domain [{lo:g}, {hi:g}], where the polynomial max is unbounded; the inputs span [{low:.4g}, {high:.4g}], "
            f"so use scale >= {needed:.4g} (pool_scale() from a profile of the pool's inputs), or "
            "on_out_of_range='clip' (sign) / 'ignore'")

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, kind={self.kind!r}, scale={self.scale:g}, "
                f"on_out_of_range={self.on_out_of_range!r}")


def pool_scale(input_range, approximation, margin: float = 1.0) -> float:
    """B for a SignMaxPool2d whose inputs lie in ``input_range``: every |a − b| ≤ hi − lo, so
    B = margin·(hi − lo)/h keeps (a − b)/B inside the comparator's domain [−h, h] (h = the
    smaller of |lo| and hi of the approximation's domain).

    ``input_range``: ``(lo, hi)``, or a :class:`~polyfit.torch.profiling.SiteProfile` of the
    pool (its exact minimum and maximum).
    """
    if hasattr(input_range, "minimum") and hasattr(input_range, "maximum"):
        lo, hi = float(input_range.minimum), float(input_range.maximum)
    else:
        try:
            lo, hi = (float(v) for v in input_range)
        except (TypeError, ValueError):
            raise InputError(f"input_range must be (lo, hi) or a SiteProfile, got {input_range!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
        raise InputError(f"input range ({lo:g}, {hi:g}) must be finite with lo <= hi (was the pool profiled?)")
    if not (isinstance(margin, (int, float)) and margin >= 1.0):
        raise InputError(f"margin must be a number >= 1, got {margin!r}")
    d_lo, d_hi = approximation.domain
    reach = min(-d_lo, d_hi)
    if not reach > 0:
        raise InputError(f"the comparator's domain [{d_lo:g}, {d_hi:g}] must contain 0 inside it")
    return max(margin * (hi - lo) / reach, 1e-12)


def pooled_size(size: int, kernel: int, stride: int, padding: int, ceil_mode: bool, dilation: int = 1) -> int:
    """Output length of torch's pooling along one dimension (torch's own formula)."""
    span = size + 2 * padding - dilation * (kernel - 1) - 1
    out = (span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


class ZeroPadAvgPool2d(nn.Module):
    """Average pooling whose divisor is k² in every window, ``ceil_mode`` included.

    torch's AvgPool2d(ceil_mode=True) divides a window that hangs past the padded input by
    the cells it covers, not by k². This module pads with zeros (left/top by ``padding``,
    right/bottom by as much more as the last ceil-mode window needs) and averages with no
    padding and no ceil mode: same output size as the max pool it replaces, constant
    divisor k² — one plaintext multiply in HE. Exports as Pad + AveragePool.
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)
        self.ceil_mode = bool(ceil_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for dim, k, s, p in zip((-1, -2), self.kernel_size[::-1], self.stride[::-1], self.padding[::-1]):
            size = int(x.shape[dim])
            out = pooled_size(size, k, s, p, self.ceil_mode)
            pads += [p, (out - 1) * s + k - size - p]
        if any(pads):
            x = F.pad(x, pads)
        return F.avg_pool2d(x, self.kernel_size, self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, ceil_mode={self.ceil_mode}"


def avg_pool_like(pool) -> nn.Module:
    """Average pooling with the max pool's window, stride, padding and ceil_mode, dividing
    every window by k² (padding cells count as zeros): ``nn.AvgPool2d(count_include_pad=True)``
    without ceil mode, :class:`ZeroPadAvgPool2d` with it. ``pool``: an ``nn.MaxPool2d`` or a
    dict of its arguments (``kernel_size``, ``stride``, ``padding``, ``dilation``, ``ceil_mode``)."""
    args = pool if isinstance(pool, dict) else {k: getattr(pool, k) for k in
                                                ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}
    _refuse_indices(pool)
    kernel, stride = args["kernel_size"], args.get("stride") or args["kernel_size"]
    padding, ceil_mode = args.get("padding", 0), bool(args.get("ceil_mode", False))
    if _pair(args.get("dilation", 1)) != (1, 1):
        raise InputError(f"cannot swap {_describe(pool)} for average pooling: average pooling has no dilation")
    if ceil_mode:
        return ZeroPadAvgPool2d(kernel, stride, padding, ceil_mode=True)
    return nn.AvgPool2d(kernel, stride, padding, ceil_mode=False, count_include_pad=True)


def sign_pool_like(pool, approximation, scale: float = 1.0, **options) -> SignMaxPool2d:
    """SignMaxPool2d with the max pool's window, stride and dilation (an ``nn.MaxPool2d`` or a dict)."""
    args = pool if isinstance(pool, dict) else {k: getattr(pool, k) for k in
                                                ("kernel_size", "stride", "padding", "dilation", "ceil_mode")}
    _refuse_indices(pool)
    if _pair(args.get("padding", 0)) != (0, 0) or args.get("ceil_mode", False):
        raise InputError(f"cannot swap {_describe(pool)} for a sign-based max: padding and ceil_mode must be off")
    return SignMaxPool2d(args["kernel_size"], approximation, stride=args.get("stride") or args["kernel_size"],
                         dilation=args.get("dilation", 1), scale=scale, **options)


def _check_sign_like(approximation) -> None:
    """A sign comparator's target must be odd and positive for z > 0 (sign, tanh, erf): a
    gelu fit (combine none, so kind "sign") took the max with error bound 4.2 on [−2, 2]."""
    h = max(abs(v) for v in approximation.domain)
    z = h * np.array([0.125, 0.25, 0.5, 1.0])
    try:
        plus, minus = (np.asarray(approximation.target(v), dtype=float) for v in (z, -z))
    except InputError:  # a loaded artifact of a Python callable: nothing to evaluate
        return
    scale = max(float(np.max(np.abs(plus))), 1e-300)
    if not (np.all(plus > 0) and np.all(np.abs(plus + minus) <= 1e-9 * scale)):
        raise InputError(f"SignMaxPool2d: a sign comparator approximates an odd function that is positive for "
                          f"z > 0 (sign, tanh); target {approximation.target.name!r} is not (a ReLU or |x| fit: pass "
                          "kind='relu' or kind='abs')")


def _refuse_indices(pool) -> None:
    """A pool asked for its argmax indices returns (values, indices); a swapped pool would return
    one tensor, which ``y, idx = pool(x)`` unpacks along the batch silently (y = x[0], idx = x[1])."""
    if getattr(pool, "return_indices", False):
        raise InputError(f"cannot swap {_describe(pool)}: it returns indices (return_indices=True), "
                         "which no polynomial pooling computes")


def _describe(pool) -> str:
    return repr(pool) if isinstance(pool, nn.Module) else f"max_pool2d({', '.join(f'{k}={v}' for k, v in pool.items())})"


class FixedAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` for one known input size, as fixed linear maps.

    Output cell (i, j) averages input rows [⌊i·H/O_h⌋, ⌈(i+1)·H/O_h⌉) and columns likewise
    (torch's adaptive windows), so y = P_h · x · P_wᵀ with P the row-averaging matrices
    (``[O_h, H]``, ``[O_w, W]``; buffers). Exports as two MatMuls with constants, which the
    exporter accepts for any sizes (its adaptive pool needs O to divide H). Any other input
    size raises InputError (the maps are only right for the size they were built for).
    """

    def __init__(self, input_size, output_size):
        super().__init__()
        self.input_size = tuple(int(v) for v in _pair(input_size))
        self.output_size = tuple(int(v) for v in _pair(output_size))
        self.register_buffer("rows", adaptive_matrix(self.input_size[0], self.output_size[0]), persistent=False)
        self.register_buffer("cols", adaptive_matrix(self.input_size[1], self.output_size[1]), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.input_size and not _tracing():
            raise InputError(f"FixedAdaptiveAvgPool2d was built for {self.input_size[0]}x{self.input_size[1]} inputs, "
                             f"got {x.shape[-2]}x{x.shape[-1]}; finalize the model with example inputs of that size")
        return torch.matmul(torch.matmul(self.rows.to(x.dtype), x), self.cols.to(x.dtype).transpose(0, 1))

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, output_size={self.output_size}"


def adaptive_matrix(size: int, out: int) -> torch.Tensor:
    """``[out, size]``: row i averages [⌊i·size/out⌋, ⌈(i+1)·size/out⌉) (torch's adaptive windows)."""
    m = torch.zeros(out, size, dtype=torch.float32)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)
        m[i, start:end] = 1.0 / (end - start)
    return m


def fixed_adaptive_pool(pool: nn.AdaptiveAvgPool2d, input_size) -> nn.Module:
    """The fixed pool computing ``pool`` on inputs of ``input_size`` (H, W): ``nn.AvgPool2d``
    when each output size divides its input size (windows of H/O, stride H/O), else
    :class:`FixedAdaptiveAvgPool2d`; ``nn.Identity`` when they are equal."""
    h, w = (int(v) for v in input_size)
    o_h, o_w = (size if o is None else int(o) for o, size in zip(_pair(pool.output_size), (h, w)))
    if (o_h, o_w) == (h, w):
        return nn.Identity()
    if h % o_h == 0 and w % o_w == 0:
        kernel = (h // o_h, w // o_w)
        return nn.AvgPool2d(kernel, kernel)
    return FixedAdaptiveAvgPool2d((h, w), (o_h, o_w))
