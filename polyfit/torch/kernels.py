"""Pure tensor math of a polynomial activation: values, derivatives and gradients.

Everything here is a function of tensors and static Python values, out of place, with no
module state: :mod:`polyfit.torch.fused` compiles these same functions with
``torch.compile`` (one loop each way), and the eager engine runs them as they are.

An evaluation (SPEC §2) is

    x̃ = clamp(x, lo, hi) (when clipping),  s_0 = input_scale · x̃,
    s_j = p_j(s_{j−1})  for the stages j = 1..K,  y = combine(x̃, s_K)

with a monomial stage p(t) = Σ c_k t^k (Horner) or a Chebyshev stage
p(t) = Σ c_k T_k(w), w = a·t + b, a = 2/(hi − lo), b = −(hi + lo)/(hi − lo) (Clenshaw).
"""
from __future__ import annotations

import torch

from ..approximation import apply_combine  # operators only: works on tensors


class EvalSpec:
    """Static description of an evaluation: stage bases and intervals, input scale, combine,
    clip range, channel dimension, the engine (``fused``: None = auto, True, False), and
    optionally the compiled kernels' ``constants`` tensor (built from the rest when None)."""

    __slots__ = ("stages", "input_scale", "combine", "clip", "channel_dim", "fused", "constants")

    def __init__(self, stages, input_scale, combine, clip, channel_dim, fused=None, constants=None):
        self.stages = tuple(stages)  # ((basis, interval or None), ...)
        self.input_scale = float(input_scale)
        self.combine = combine
        self.clip = clip
        self.channel_dim = channel_dim
        self.fused = fused
        self.constants = constants

    @property
    def is_single_monomial(self) -> bool:
        return len(self.stages) == 1 and self.stages[0][0] == "monomial" and self.combine == "none"

    @property
    def bases(self) -> tuple[str, ...]:
        return tuple(basis for basis, _ in self.stages)

    def affine(self) -> list[tuple[float, float]]:
        """(a, b) of w = a·t + b per stage ((1, 0) for monomial stages)."""
        out = []
        for basis, interval in self.stages:
            if basis == "monomial":
                out.append((1.0, 0.0))
            else:
                lo, hi = interval
                out.append((2.0 / (hi - lo), -(hi + lo) / (hi - lo)))
        return out


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


def horner(t: torch.Tensor, coefficients: list) -> torch.Tensor:
    """Σ c_k t^k by Horner's rule, out of place (autograd-friendly)."""
    if len(coefficients) == 1:
        return torch.zeros_like(t) + coefficients[0]
    y = t * coefficients[-1] + coefficients[-2]
    for c in reversed(coefficients[:-2]):
        y = y * t + c
    return y


def clenshaw_affine(t: torch.Tensor, coefficients: list, a, b) -> torch.Tensor:
    """Σ c_k T_k(w), w = a·t + b, by Clenshaw's recurrence:
    b_k = c_k + 2w·b_{k+1} − b_{k+2};  result = c_0 + w·b_1 − b_2."""
    w = t * a + b
    if len(coefficients) == 1:
        return torch.zeros_like(w) + coefficients[0]
    two_w = 2.0 * w
    b1 = torch.zeros_like(w)
    b2 = torch.zeros_like(w)
    for c in reversed(coefficients[1:]):
        b1, b2 = c + two_w * b1 - b2, b1
    return coefficients[0] + w * b1 - b2


def clenshaw(t: torch.Tensor, coefficients: list, interval: tuple[float, float]) -> torch.Tensor:
    """Σ c_k T_k(w) with w = (2t − hi − lo)/(hi − lo) (:func:`clenshaw_affine`)."""
    lo, hi = interval
    return clenshaw_affine(t, coefficients, 2.0 / (hi - lo), -(hi + lo) / (hi - lo))


def stage_value(t, coefficients: list, basis: str, a, b):
    """p(t) of one stage."""
    return horner(t, coefficients) if basis == "monomial" else clenshaw_affine(t, coefficients, a, b)


def stage_value_and_derivative(t, coefficients: list, basis: str, a, b):
    """(p(t), p′(t)) of one stage in one sweep.

    Monomial (Horner on the pair): y ← y·t + c_k, y′ ← y′·t + y.
    Chebyshev: with b_k as in :func:`clenshaw_affine` and β_k = db_k/dw,
    β_k = 2·b_{k+1} + 2w·β_{k+1} − β_{k+2}; p′(t) = a·(b_1 + w·β_1 − β_2).
    """
    d = len(coefficients) - 1
    if d == 0:
        return torch.zeros_like(t) + coefficients[0], torch.zeros_like(t)
    if basis == "monomial":
        y = t * coefficients[d] + coefficients[d - 1]
        dy = torch.zeros_like(t) + coefficients[d]
        for k in range(d - 2, -1, -1):
            dy = dy * t + y
            y = y * t + coefficients[k]
        return y, dy
    w = t * a + b
    two_w = 2.0 * w
    b1 = torch.zeros_like(w)
    b2 = torch.zeros_like(w)
    d1 = torch.zeros_like(w)
    d2 = torch.zeros_like(w)
    for c in reversed(coefficients[1:]):
        d1, d2 = 2.0 * b1 + two_w * d1 - d2, d1
        b1, b2 = c + two_w * b1 - b2, b1
    return coefficients[0] + w * b1 - b2, (b1 + w * d1 - d2) * a


def basis_values(t, degree: int, basis: str, a, b) -> list:
    """[B_0(t), …, B_d(t)]: t^k (monomial) or T_k(w), T_{k+1} = 2w·T_k − T_{k−1} (Chebyshev)."""
    ones = torch.ones_like(t)
    if degree == 0:
        return [ones]
    first = t if basis == "monomial" else t * a + b
    values = [ones, first]
    for _ in range(2, degree + 1):
        values.append(values[-1] * t if basis == "monomial" else 2.0 * first * values[-1] - values[-2])
    return values


def combine_partials(combine: str, x, s):
    """(∂y/∂s, ∂y/∂x̃ at fixed s) of y = combine(x̃, s): none (1, 0), relu (x̃/2, (1 + s)/2),
    abs (x̃, s), step (1/2, 0). Scalars where the partial is constant."""
    if combine == "none":
        return 1.0, 0.0
    if combine == "relu":
        return 0.5 * x, 0.5 * (1.0 + s)
    if combine == "abs":
        return x, s
    if combine == "step":
        return 0.5, 0.0
    return apply_combine(combine, x, s)  # raises the one-line error for an unknown combine


def _clamped(x, bounds, clip: bool):
    """clamp(x, lo, hi), bounds = (lo, hi) as floats or 0-dim tensors (x itself without ``clip``)."""
    return x.clamp(bounds[0], bounds[1]) if clip else x


def evaluate_stages(x, coefficients, bases, affine, combine: str, bounds, scale, clip: bool):
    """y(x) for stages of the given ``bases`` with ``coefficients`` (per stage: a list of
    broadcastable c_k), ``affine`` (per stage (a, b)), clip ``bounds`` and input ``scale``."""
    xc = _clamped(x, bounds, clip)
    s = xc * scale
    for basis, c, (a, b) in zip(bases, coefficients, affine):
        s = stage_value(s, c, basis, a, b)
    return apply_combine(combine, xc, s)


def gradients(x, grad, coefficients, bases, affine, combine: str, bounds, scale, clip: bool,
              need_x: bool, need_c: tuple, reduce):
    """∂L/∂x and ∂L/∂c_{j,k} of y(x) given g = ∂L/∂y, from x alone (nothing saved but x).

    Forward sweep: s_j and p_j′(s_{j−1}). Then with ∂y/∂s_K from the combine and
    W_j = g·∂y/∂s_K·Π_{i>j} p_i′(s_{i−1}) (the weight of stage j's output):

        ∂L/∂x = g·(∂y/∂x̃ + ∂y/∂s_K·Π_j p_j′·scale)·[lo ≤ x ≤ hi]
        ∂L/∂c_{j,k} = reduce(W_j · B_k(s_{j−1}))

    ``reduce`` sums a per-element tensor to a scalar (per layer) or ``[C]`` (per channel).
    Returns (gx or None, [stacked ``[…, d_j+1]`` gradients or None per stage]).
    """
    xc = _clamped(x, bounds, clip)
    s = xc * scale
    inputs, derivatives = [], []
    for basis, c, (a, b) in zip(bases, coefficients, affine):
        inputs.append(s)
        s, ds = stage_value_and_derivative(s, c, basis, a, b)
        derivatives.append(ds)
    dy_ds, dy_dx = combine_partials(combine, xc, s)
    weight = grad * dy_ds
    weights = [None] * len(bases)
    for j in range(len(bases) - 1, -1, -1):
        weights[j] = weight
        weight = weight * derivatives[j]
    gx = None
    if need_x:
        gx = weight * scale if isinstance(dy_dx, float) and dy_dx == 0.0 else weight * scale + grad * dy_dx
        if clip:
            gx = torch.where((x < bounds[0]) | (x > bounds[1]), torch.zeros_like(gx), gx)
    gc = []
    for j, (basis, c, (a, b)) in enumerate(zip(bases, coefficients, affine)):
        if not need_c[j]:
            gc.append(None)
            continue
        values = basis_values(inputs[j], len(c) - 1, basis, a, b)
        gc.append(torch.stack([reduce(weights[j] * v) for v in values], dim=-1))
    return gx, gc


def reduce_to(grad: torch.Tensor, x: torch.Tensor, channel_dim: int | None) -> torch.Tensor:
    """Sum a per-element tensor to a scalar (per layer) or to ``[C]`` (per channel)."""
    if channel_dim is None:
        return grad.sum()
    dims = [d for d in range(x.dim()) if d != channel_dim]
    return grad.sum(dim=dims) if dims else grad


def evaluate(x: torch.Tensor, spec: EvalSpec, coefficients: tuple, as_constants: bool = False) -> torch.Tensor:
    """y(x) for the approximation described by ``spec`` (out of place, differentiable).

    ``as_constants``: per-layer coefficients enter as Python floats (graph constants when
    tracing for export: plain Mul/Add nodes, no coefficient tensors to split).
    """
    views = [coef.tolist() if as_constants and coef.dim() == 1 else channel_views(coef, x, spec.channel_dim)
             for coef in coefficients]
    if spec.clip is not None:
        x = x.clamp(spec.clip[0], spec.clip[1])
    s = x * spec.input_scale if spec.input_scale != 1.0 else x
    for basis, c, (a, b) in zip(spec.bases, views, spec.affine()):
        s = stage_value(s, c, basis, a, b)
    return apply_combine(spec.combine, x, s)


def eager_gradients(x, grad, spec: EvalSpec, coefficients: tuple, need_x: bool, need_c: tuple):
    """:func:`gradients` on any layout, eagerly (coefficients broadcast along ``spec.channel_dim``)."""
    views = [channel_views(c, x, spec.channel_dim) for c in coefficients]
    bounds = spec.clip if spec.clip is not None else (0.0, 0.0)
    gx, gc = gradients(x, grad, views, spec.bases, spec.affine(), spec.combine, bounds, spec.input_scale,
                       spec.clip is not None, need_x, need_c, lambda t: reduce_to(t, x, spec.channel_dim))
    return gx, [g.to(c.dtype) if g is not None else None for g, c in zip(gc, coefficients)]
