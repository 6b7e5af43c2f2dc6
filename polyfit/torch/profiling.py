"""Per-site input statistics over a data loader: range choice, coefficient tuning, monitoring.

:func:`profile_sites` runs the model over a loader with a forward *pre*-hook on each site
(the input before an in-place activation overwrites it) and keeps, per site:

- exact min, max, mean, std, element count, NaN and ±inf counts;
- a histogram on a symmetric range [−R, R] with R a power of two that doubles (merging bin
  pairs) whenever an input escapes it, so one pass suffices without knowing the range;
- a uniform random sample of the inputs (reservoir by random keys: every element seen has
  the same chance to be kept), from which the quantiles are computed.

Hooks are removed in a ``finally`` block whatever happens; the model's training flag is
restored. A module called several times per forward pools all its calls.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import InputError

DEFAULT_QUANTILES = (0.0001, 0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999, 0.9999)


@dataclass
class SiteProfile:
    """Input statistics of one site.

    ``histogram_counts[i]`` counts inputs in [edges[i], edges[i+1]) with edges =
    linspace(−R, R, bins + 1) (the last bin closed); ``sample`` is a float32 CPU tensor.
    """

    name: str
    type: str
    calls: int = 0
    elements: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    total: float = 0.0
    total_squares: float = 0.0
    nan_count: int = 0
    inf_count: int = 0
    bins: int = 64
    histogram_range: float = 1.0
    histogram_counts: torch.Tensor | None = field(default=None, repr=False)
    sample: torch.Tensor | None = field(default=None, repr=False)
    sample_keys: torch.Tensor | None = field(default=None, repr=False)
    quantiles: dict = field(default_factory=dict)

    @property
    def mean(self) -> float:
        return self.total / self.elements if self.elements else math.nan

    @property
    def std(self) -> float:
        if not self.elements:
            return math.nan
        return math.sqrt(max(0.0, self.total_squares / self.elements - self.mean ** 2))

    @property
    def histogram_edges(self) -> torch.Tensor:
        return torch.linspace(-self.histogram_range, self.histogram_range, self.bins + 1, dtype=torch.float64)

    def fraction_outside(self, lo: float, hi: float) -> float:
        """Fraction of the sampled inputs outside [lo, hi] (the sample holds finite inputs only;
        ``nan_count`` and ``inf_count`` count the others)."""
        if self.sample is None or self.sample.numel() == 0:
            return math.nan
        s = self.sample
        inside = (s >= lo) & (s <= hi)
        return float(1.0 - inside.double().mean())

    def bound(self, coverage: float = 0.999) -> float:
        """Smallest B with |x| ≤ B for a ``coverage`` fraction of the sample (a range choice)."""
        if not 0.0 < coverage <= 1.0:
            raise InputError(f"coverage must be in (0, 1], got {coverage!r}")
        if self.sample is None or self.sample.numel() == 0:
            raise InputError(f"site {self.name!r} saw no finite inputs")
        return float(torch.quantile(self.sample.abs().double(), coverage))

    def to_dict(self, sample_size: int = 0) -> dict:
        """JSON-ready summary (``sample_size`` first sample values included)."""
        out = {"name": self.name, "type": self.type, "calls": self.calls, "elements": self.elements,
               "min": self.minimum, "max": self.maximum, "mean": self.mean, "std": self.std,
               "nan_count": self.nan_count, "inf_count": self.inf_count,
               "quantiles": {f"{q:g}": v for q, v in self.quantiles.items()},
               "histogram": {"range": [-self.histogram_range, self.histogram_range],
                             "counts": [] if self.histogram_counts is None else [int(c) for c in self.histogram_counts]}}
        if sample_size and self.sample is not None:
            out["sample"] = [float(v) for v in self.sample[:sample_size]]
        return out

    # -- accumulation --------------------------------------------------------------------------
    def observe(self, x: torch.Tensor, sample_size: int, generator: torch.Generator) -> None:
        """Fold one input tensor into the statistics."""
        x = x.detach().reshape(-1)
        self.calls += 1
        nan = torch.isnan(x)
        inf = torch.isinf(x)
        bad_nan, bad_inf = int(nan.sum()), int(inf.sum())
        self.nan_count += bad_nan
        self.inf_count += bad_inf
        finite = (x[~(nan | inf)] if bad_nan or bad_inf else x).to(device="cpu", dtype=torch.float64)
        if finite.numel() == 0:
            return
        self.elements += finite.numel()
        self.minimum = min(self.minimum, float(finite.min()))
        self.maximum = max(self.maximum, float(finite.max()))
        self.total += float(finite.sum())
        self.total_squares += float((finite * finite).sum())
        self._histogram(finite)
        self._reservoir(finite.float(), sample_size, generator)

    def _histogram(self, values: torch.Tensor) -> None:
        if self.histogram_counts is None:
            self.histogram_counts = torch.zeros(self.bins, dtype=torch.long)
        peak = float(values.abs().max())
        while peak > self.histogram_range:
            # Double R: bin pairs merge into the middle half of the new bins.
            merged = self.histogram_counts.view(-1, 2).sum(dim=1)
            counts = torch.zeros(self.bins, dtype=torch.long)
            counts[self.bins // 4: self.bins // 4 + self.bins // 2] = merged
            self.histogram_counts = counts
            self.histogram_range *= 2.0
        r = self.histogram_range
        index = ((values + r) * (self.bins / (2.0 * r))).floor().long().clamp_(0, self.bins - 1)
        self.histogram_counts += torch.bincount(index, minlength=self.bins)

    def _reservoir(self, values: torch.Tensor, sample_size: int, generator: torch.Generator) -> None:
        keys = torch.rand(values.numel(), generator=generator)
        if self.sample is not None:
            values = torch.cat([self.sample, values])
            keys = torch.cat([self.sample_keys, keys])
        if values.numel() > sample_size:
            keep = torch.topk(keys, sample_size).indices
            values, keys = values[keep], keys[keep]
        self.sample, self.sample_keys = values, keys


class Profile(dict):
    """``{site name: SiteProfile}`` in execution order, with a text table."""

    def table(self) -> str:
        head = f"{'site':<28}{'type':<16}{'min':>10}{'max':>10}{'q0.001':>10}{'q0.999':>10}{'NaN':>6}"
        rows = [head]
        for p in self.values():
            rows.append(f"{p.name:<28}{p.type:<16}{p.minimum:>10.3g}{p.maximum:>10.3g}"
                        f"{p.quantiles.get(0.001, math.nan):>10.3g}{p.quantiles.get(0.999, math.nan):>10.3g}{p.nan_count:>6}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {name: p.to_dict() for name, p in self.items()}


def _model_inputs(batch, input_fn):
    if input_fn is not None:
        inputs = input_fn(batch)
    elif isinstance(batch, torch.Tensor):
        inputs = batch
    elif isinstance(batch, (tuple, list)) and batch and isinstance(batch[0], torch.Tensor):
        inputs = batch[0]
    elif isinstance(batch, dict) and batch:
        inputs = next(iter(batch.values()))
    else:
        raise InputError(f"cannot find model inputs in a batch of type {type(batch).__name__}; pass input_fn=batch -> inputs")
    return inputs if isinstance(inputs, tuple) else (inputs,)


def profile_sites(model: nn.Module, loader, sites=None, *, kinds=None, max_batches: int | None = None,
                  quantiles=DEFAULT_QUANTILES, bins: int = 64, sample_size: int = 65536, device=None,
                  input_fn=None, seed: int = 0) -> Profile:
    """Input statistics of every activation site over ``loader``.

    Args:
        model: the network (run in eval mode under ``torch.no_grad()``; mode restored).
        loader: iterable of batches: tensors, ``(inputs, labels, ...)`` or dicts.
        sites: :func:`~polyfit.torch.find_sites` output, a ``{name: module}`` mapping, or None
            for every module of ``kinds`` (activation types and polyfit's modules).
        max_batches: stop after this many batches.
        quantiles: probabilities in [0, 1] computed from the sample.
        bins: histogram bins (a multiple of 4).
        sample_size: inputs kept per site for quantiles, tuning and plots.
        device: move inputs there (default: the model's first parameter's device).
        input_fn: ``batch -> inputs`` when the default extraction does not fit.
        seed: seed of the sampling generator (profiles are reproducible).
    """
    from .surgery import HookSet, default_kinds, dry_run

    if bins < 4 or bins % 4:
        raise InputError(f"bins must be a positive multiple of 4, got {bins!r}")
    if sample_size < 1:
        raise InputError(f"sample_size must be positive, got {sample_size!r}")
    qs = tuple(float(q) for q in quantiles)
    if not all(0.0 <= q <= 1.0 for q in qs):
        raise InputError(f"quantiles must lie in [0, 1], got {quantiles!r}")
    if max_batches is not None and max_batches < 1:
        raise InputError(f"max_batches must be positive, got {max_batches!r}")
    targets = _resolve_sites(model, sites, kinds or default_kinds())
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(seed)
    profile = Profile((name, SiteProfile(name, type(mod).__name__, bins=bins)) for name, mod in targets.items())
    with HookSet() as hooks:
        for name, module in targets.items():
            def hook(mod, args, _p=profile[name]):
                if args and isinstance(args[0], torch.Tensor):
                    _p.observe(args[0], sample_size, generator)

            hooks.add(module.register_forward_pre_hook(hook))
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            dry_run(model, tuple(t.to(device) if isinstance(t, torch.Tensor) else t for t in _model_inputs(batch, input_fn)))
    for p in profile.values():
        if p.sample is not None and p.sample.numel():
            values = torch.quantile(p.sample.double(), torch.tensor(qs, dtype=torch.float64))
            p.quantiles = {q: float(v) for q, v in zip(qs, values)}
        p.sample_keys = None
    return profile


def _resolve_sites(model, sites, kinds) -> dict[str, nn.Module]:
    """``{name: module}`` to profile: every activation module (``sites=None``), or the
    given mapping / pairs / find_sites result with its functional calls left out (they
    have no module to hook)."""
    from .recipes.sites import as_site_mapping
    from .surgery import _static_sites

    if sites is None:
        found = {s.name: s.module for s in _static_sites(model, kinds)}
        if not found:
            raise InputError("the model has no activation modules to profile; pass sites=")
        return found
    if not isinstance(sites, dict):
        sites = [s for s in sites if getattr(s, "reachable", True)]
    return as_site_mapping(sites)
