"""PILLAR's training recipe: out-of-range penalty, its warm-up, training-only clipping,
and an out-of-range / NaN monitor that names the layer.

Penalty (PILLAR eq. 6–7, normalised per element here). For the inputs x of activation
layer l (all elements of all calls in one forward pass, N_l of them) and a range bound B,
even exponent n and coefficient c:

    P_l = (1/N_l) Σ_i (x_i / B)^n              (< 1 per element while |x_i| < B)
    L   = CE + c · (1/L) Σ_l P_l

PILLAR *sums* over the elements of a layer, P_l^PILLAR = Σ_i (x_i/B)^n = N_l · P_l, so a
PILLAR coefficient c_P corresponds to c = c_P · N_l here, where N_l = batch × features of
layer l; since N_l differs between layers, the per-element form weighs every layer equally
and does not change with the batch size (docs/torch_recipes.md).

Warm-up (PILLAR §5.1): epochs 0, 1, 2, 3 use (n, c) = (4, c/100), (6, c/50), (8, c/10),
(10, c/5); from epoch 4 on, the configured (n, c).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn  # noqa: F401  (the doctests use it)

from ...errors import ComputationError, InputError
from ..clip import ClipInTraining  # noqa: F401  (a PILLAR piece; lives with the modules so export needs no recipe)
from .sites import HookSet, as_site_mapping, first_tensor

#: PILLAR's warm-up: (exponent, coefficient divisor) for epochs 0, 1, 2, 3.
PILLAR_WARMUP: tuple[tuple[int, float], ...] = ((4, 100.0), (6, 50.0), (8, 10.0), (10, 5.0))


def _check_bound_exponent(bound, exponent) -> None:
    if not (isinstance(bound, (int, float)) and math.isfinite(bound) and bound > 0):
        raise InputError(f"penalty bound B must be a finite number > 0, got {bound!r}")
    if isinstance(exponent, bool) or not isinstance(exponent, int) or exponent < 2 or exponent % 2:
        raise InputError(f"penalty exponent n must be an even integer >= 2, got {exponent!r}")


def range_penalty(x: torch.Tensor, bound: float, exponent: int) -> torch.Tensor:
    """Mean over the elements of x of (x/B)^n, in float32 or wider (a 0-d tensor).

    >>> float(range_penalty(torch.tensor([0.0, 2.0]), bound=2.0, exponent=4))
    0.5
    """
    _check_bound_exponent(bound, exponent)
    if x.numel() == 0:
        return x.new_zeros((), dtype=torch.promote_types(x.dtype, torch.float32))
    x = x.to(torch.promote_types(x.dtype, torch.float32))
    return (x / bound).pow(exponent).mean()


def pillar_warmup(epoch: int, coefficient: float, exponent: int,
                  steps: Sequence[tuple[int, float]] = PILLAR_WARMUP) -> tuple[float, int]:
    """(coefficient, exponent) to use at ``epoch`` (0-based) under PILLAR's warm-up.

    >>> pillar_warmup(0, 1.0, 10)
    (0.01, 4)
    >>> pillar_warmup(7, 1.0, 10)
    (1.0, 10)
    """
    if epoch < 0:
        raise InputError(f"epoch must be >= 0, got {epoch}")
    if epoch < len(steps):
        n, divisor = steps[epoch]
        return coefficient / divisor, int(n)
    return coefficient, exponent


class _Hooked:
    """Holds ``self._hooks`` (a HookSet); removed by :meth:`close` or on leaving ``with``."""

    def close(self) -> None:
        self._hooks.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class ActivationPenalty(_Hooked):
    """Record the inputs of activation sites with forward *pre*-hooks and turn them into
    PILLAR's penalty c · mean_l mean_i (x_i/B)^n.

    Pre-hooks see the input before the module runs, so training-time clipping inside the
    activation does not hide out-of-range values from the penalty (as in PILLAR). Inputs
    are kept (with their autograd graph) only until :meth:`penalty` or :meth:`clear`.

    Args:
        sites: ``{name: module}`` (or (name, module) pairs / surgery report entries).
        bound: B, the range the inputs should stay in; one for all sites or ``{name: B_l}``
            (e.g. SmartPAF's per-site static scales).
        exponent: n, even.
        coefficient: c ≥ 0.

    Use one per model (``with ActivationPenalty(...) as pen``); call
    ``loss = ce + pen.penalty()`` after each forward; ``pen.set(coefficient=..., exponent=...)``
    per epoch for the warm-up.
    """

    def __init__(self, sites, bound, exponent: int = 10, coefficient: float = 1.0):
        self.sites = as_site_mapping(sites)
        self.bound = self._check_bounds(bound, exponent)
        self.exponent = int(exponent)
        self.coefficient = self._check_coefficient(coefficient)
        self._inputs: dict[str, list[torch.Tensor]] = {name: [] for name in self.sites}
        self._hooks = HookSet()
        self.enabled = True
        for name, module in self.sites.items():
            self._hooks.add(module.register_forward_pre_hook(self._recorder(name)))

    def _check_bounds(self, bound, exponent):
        if isinstance(bound, dict):
            missing = [name for name in self.sites if name not in bound]
            if missing:
                raise InputError(f"site {missing[0]}: no penalty bound given; bounds cover {', '.join(map(str, bound))}")
            for name in self.sites:
                try:
                    _check_bound_exponent(bound[name], exponent)
                except InputError as exc:
                    raise InputError(f"site {name}: {exc}") from None
            return {name: float(bound[name]) for name in self.sites}
        _check_bound_exponent(bound, exponent)
        return float(bound)

    def bound_of(self, name: str) -> float:
        return self.bound[name] if isinstance(self.bound, dict) else self.bound

    @staticmethod
    def _check_coefficient(coefficient) -> float:
        if not (isinstance(coefficient, (int, float)) and math.isfinite(coefficient) and coefficient >= 0):
            raise InputError(f"penalty coefficient must be a finite number >= 0, got {coefficient!r}")
        return float(coefficient)

    def _recorder(self, name):
        def hook(module, args):
            x = first_tensor(args)
            if self.enabled and x is not None and torch.is_grad_enabled():
                self._inputs[name].append(x)
        return hook

    def set(self, *, coefficient: float | None = None, exponent: int | None = None, bound: float | None = None):
        """Change c, n or B (e.g. per epoch from :func:`pillar_warmup`)."""
        if coefficient is not None:
            self.coefficient = self._check_coefficient(coefficient)
        if exponent is not None or bound is not None:
            n = self.exponent if exponent is None else exponent
            self.bound = self._check_bounds(self.bound if bound is None else bound, n)
            self.exponent = int(n)

    def per_site(self) -> dict[str, torch.Tensor]:
        """P_l for each site seen since the last clear (mean over all its calls' elements)."""
        out = {}
        for name, xs in self._inputs.items():
            if not xs:
                continue
            total = sum(range_penalty(x, self.bound_of(name), self.exponent) * x.numel() for x in xs)
            out[name] = total / sum(x.numel() for x in xs)
        return out

    def penalty(self, clear: bool = True) -> torch.Tensor:
        """c · (1/L) Σ_l P_l over the sites seen since the last clear; clears by default."""
        terms = self.per_site()
        if clear:
            self.clear()
        if not terms:
            return torch.zeros(())
        values = list(terms.values())
        return self.coefficient * torch.stack([v.float() for v in values]).mean()

    def clear(self) -> None:
        for xs in self._inputs.values():
            xs.clear()

    def close(self) -> None:
        """Remove the hooks and drop recorded inputs."""
        super().close()
        self.clear()


def check_clip_covered(approximation, clip: float | tuple[float, float], site: str = "?") -> tuple[float, float]:
    """Raise InputError naming ``site`` unless the approximation's domain covers the clip
    range (clipping to values the polynomial was not fitted on defeats its purpose).

    Returns the clip range as (lo, hi).
    """
    lo, hi = (-float(clip), float(clip)) if isinstance(clip, (int, float)) else (float(clip[0]), float(clip[1]))
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise InputError(f"site {site}: clip range ({lo:g}, {hi:g}) must be finite with lo < hi")
    dlo, dhi = approximation.domain
    if lo < dlo or hi > dhi:
        raise InputError(f"site {site}: clip range [{lo:g}, {hi:g}] is not inside the approximation's "
                         f"domain [{dlo:g}, {dhi:g}]; clip to at most the domain")
    return lo, hi


class OutOfRangeMonitor(_Hooked):
    """Count, per site, activation inputs outside [lo, hi], NaN inputs and NaN outputs.

    Counts accumulate on the device (no host sync per batch) across forwards until
    :meth:`reset`; :meth:`summary` reads them. ``ranges`` is one (lo, hi) for all sites, or
    ``{name: (lo, hi)}`` (e.g. each site's approximation domain); B means (-B, B).

    >>> m = nn.Sequential(nn.ReLU())
    >>> with OutOfRangeMonitor({"act": m[0]}, 1.0) as mon:
    ...     _ = m(torch.tensor([0.5, 2.0, float("nan")]))
    ...     mon.summary()["act"]["out_of_range"], mon.summary()["act"]["nan_inputs"]
    (2, 1)
    """

    def __init__(self, sites, ranges):
        self.sites = as_site_mapping(sites)
        if isinstance(ranges, dict):
            missing = [name for name in self.sites if name not in ranges]
            if missing:
                raise InputError(f"no range for site(s) {', '.join(missing)}; ranges cover "
                                 f"{', '.join(map(str, ranges)) or 'nothing'}")
        self.ranges = {name: self._range(ranges[name] if isinstance(ranges, dict) else ranges, name)
                       for name in self.sites}
        self._counts: dict[str, dict[str, torch.Tensor | int | float]] = {}
        self._hooks = HookSet()
        self.reset()
        for name, module in self.sites.items():
            self._hooks.add(module.register_forward_pre_hook(self._input_hook(name)))
            self._hooks.add(module.register_forward_hook(self._output_hook(name)))

    @staticmethod
    def _range(r, name) -> tuple[float, float]:
        if isinstance(r, (int, float)):
            r = (-float(r), float(r))
        try:
            lo, hi = float(r[0]), float(r[1])
        except (TypeError, IndexError, ValueError):
            raise InputError(f"site {name}: range {r!r} must be B or (lo, hi)") from None
        if not lo < hi:
            raise InputError(f"site {name}: range ({lo:g}, {hi:g}) must have lo < hi")
        return lo, hi

    def _input_hook(self, name):
        lo, hi = self.ranges[name]

        @torch.no_grad()
        def hook(module, args):
            x = first_tensor(args)
            if x is None:
                return
            c = self._counts[name]
            x = x.detach()
            nan = torch.isnan(x)
            c["elements"] += x.numel()
            c["nan_inputs"] = c["nan_inputs"] + nan.sum()
            c["out_of_range"] = c["out_of_range"] + ((x < lo) | (x > hi)).sum()
            finite = torch.where(torch.isfinite(x), x.abs(), torch.zeros((), dtype=x.dtype, device=x.device))
            amax = finite.max().float() if x.numel() else torch.zeros(())
            c["max_abs"] = torch.maximum(torch.as_tensor(c["max_abs"], device=amax.device), amax)
        return hook

    def _output_hook(self, name):
        @torch.no_grad()
        def hook(module, args, out):
            if isinstance(out, torch.Tensor):
                c = self._counts[name]
                c["nan_outputs"] = c["nan_outputs"] + torch.isnan(out.detach()).sum()
                c["inf_outputs"] = c["inf_outputs"] + torch.isinf(out.detach()).sum()
        return hook

    def reset(self) -> None:
        self._counts = {name: {"elements": 0, "out_of_range": 0, "nan_inputs": 0, "nan_outputs": 0, "inf_outputs": 0,
                               "max_abs": 0.0}
                        for name in self.sites}

    def summary(self) -> dict[str, dict]:
        """``{site: {elements, out_of_range, rate, nan_inputs, nan_outputs, inf_outputs, max_abs, range}}``.

        ``out_of_range`` counts NaN inputs too (a NaN is not inside the range)."""
        out = {}
        for name, c in self._counts.items():
            n = int(c["elements"])
            nan_in = int(c["nan_inputs"])
            oor = int(c["out_of_range"]) + nan_in
            out[name] = {"elements": n, "out_of_range": oor, "rate": oor / n if n else 0.0,
                         "nan_inputs": nan_in, "nan_outputs": int(c["nan_outputs"]), "inf_outputs": int(c["inf_outputs"]),
                         "max_abs": float(c["max_abs"]), "range": self.ranges[name]}
        return out

    def totals(self) -> dict:
        """Over all sites: elements, out_of_range, rate, nan (inputs + outputs), inf (outputs),
        first NaN site."""
        s = self.summary()
        n = sum(v["elements"] for v in s.values())
        oor = sum(v["out_of_range"] for v in s.values())
        nan = sum(v["nan_inputs"] + v["nan_outputs"] for v in s.values())
        inf = sum(v["inf_outputs"] for v in s.values())
        return {"elements": n, "out_of_range": oor, "rate": oor / n if n else 0.0, "nan": nan, "inf": inf,
                "first_nan_site": self.first_nan_site(s)}

    def first_nan_site(self, summary: dict | None = None) -> str | None:
        """The first site (in the order given) whose input or output held a NaN, or None."""
        for name, v in (summary or self.summary()).items():
            if v["nan_inputs"] or v["nan_outputs"]:
                return name
        return None

    def check(self) -> None:
        """Raise ComputationError naming the first site that saw a NaN (input or output) or
        an infinite output."""
        s = self.summary()
        for name, v in s.items():
            if v["nan_inputs"] or v["nan_outputs"] or v["inf_outputs"]:
                where = "input" if v["nan_inputs"] else "output"
                what = "NaN" if v["nan_inputs"] or v["nan_outputs"] else "infinite value"
                raise ComputationError(f"site {name}: {what} in activation {where} ({v['nan_inputs']} NaN inputs, "
                                       f"{v['nan_outputs']} NaN outputs, {v['inf_outputs']} infinite outputs); "
                                       "the activations escaped their range")
