"""Per-site input statistics over a data loader: range choice, coefficient tuning, monitoring.

:func:`profile_sites` runs the model over a loader and watches every activation site — a
forward *pre*-hook on modules (the input before an in-place activation overwrites it), and
the dry run's function mode for attribute and functional calls (``F.relu`` in a forward,
named as :func:`~polyfit.torch.find_sites` names them) — and keeps, per site:

- exact min, max, mean, std (of the population seen: sqrt(Σx²/N − mean²), no N − 1), element
  count, NaN and ±inf counts;
- a histogram on a symmetric range [−R, R] with R a power of two that doubles (merging bin
  pairs) whenever an input escapes it, so one pass suffices without knowing the range;
- a uniform random sample of the inputs (every element seen has the same chance to be
  kept), from which the quantiles are computed.

Cost (issue 13: it was 4–8× a forward): per call, four passes over the input on its own
device and in its own dtype (float32 for half precision) — the sum (chunked, added in float64),
the sum of squares (a float32 dot: relative error ≲ 1e-6), min/max, and a histogram — and
one host read of four numbers; no copy of the input. The sample draws only the ``sample_size`` largest of
n uniform keys per call, directly by order statistics (log M_j = Σ_{i≤j} log U_i/(n − i + 1)),
at positions drawn uniformly without replacement — the same distribution as keying every
element, without n random numbers. Non-finite inputs (rare) cost a few more passes.
bench/bench_torch_profiling.py measures profiling against a plain forward.

Hooks are removed in a ``finally`` block whatever happens; the model's training flag is
restored. A module called several times per forward pools all its calls.
"""
from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ..errors import InputError
from .discovery import HookSet, SiteWatcher, as_site_mapping, default_kinds, dry_run, static_sites

DEFAULT_QUANTILES = (0.0001, 0.001, 0.01, 0.05, 0.5, 0.95, 0.99, 0.999, 0.9999)
#: elements per partial sum of the mean (see ``SiteProfile._moments``)
SUM_CHUNK = 4096
#: elements per histogram pass on the CPU (see ``SiteProfile._histogram``)
HISTOGRAM_CHUNK = 1 << 18


def _power_of_two_at_least(peak: float) -> float:
    """max(1, the smallest power of two ≥ peak)."""
    r = 1.0
    while peak > r:
        r *= 2.0
    return r


@dataclass
class SiteProfile:
    """Input statistics of one site.

    ``histogram_counts[i]`` counts inputs in [edges[i], edges[i+1]) with edges =
    linspace(−R, R, bins + 1) (the last bin closed); ``sample`` is a float32 CPU tensor of
    finite inputs (on the input's device until :meth:`finish`).
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
    generators: dict = field(default_factory=dict, repr=False)
    _pending: list = field(default_factory=list, repr=False)
    _pending_size: int = field(default=0, repr=False)
    _threshold: torch.Tensor | None = field(default=None, repr=False)
    _sample_limit: int = field(default=0, repr=False)

    @property
    def mean(self) -> float:
        return self.total / self.elements if self.elements else math.nan

    @property
    def std(self) -> float:
        """Population standard deviation of the finite inputs seen, sqrt(Σx²/N − mean²) (÷N, not N − 1)."""
        if not self.elements:
            return math.nan
        return math.sqrt(max(0.0, self.total_squares / self.elements - self.mean ** 2))

    @property
    def histogram_edges(self) -> torch.Tensor:
        return torch.linspace(-self.histogram_range, self.histogram_range, self.bins + 1, dtype=torch.float64)

    def fraction_outside(self, lo: float, hi: float) -> float:
        """Fraction of the sampled inputs outside [lo, hi] (the sample holds finite inputs only;
        ``nan_count`` and ``inf_count`` count the others)."""
        self._merge_sample(max(1, self._sample_limit))
        if self.sample is None or self.sample.numel() == 0:
            return math.nan
        s = self.sample
        inside = (s >= lo) & (s <= hi)
        return float(1.0 - inside.double().mean())

    def bound(self, coverage: float = 0.999) -> float:
        """Smallest B with |x| ≤ B for a ``coverage`` fraction of the sample (a range choice)."""
        self._merge_sample(max(1, self._sample_limit))
        if not 0.0 < coverage <= 1.0:
            raise InputError(f"coverage must be in (0, 1], got {coverage!r}")
        if self.sample is None or self.sample.numel() == 0:
            raise InputError(f"site {self.name!r} saw no finite inputs")
        return float(torch.quantile(self.sample.abs().double().cpu(), coverage))

    def to_dict(self, sample_size: int = 0) -> dict:
        """JSON-ready summary (``sample_size`` first sample values included)."""
        self._merge_sample(max(1, self._sample_limit))
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
        """Fold one input tensor into the statistics: one host read per call (the call's
        moments and extremes), everything else on the input's device."""
        x = x.detach().reshape(-1)
        if not torch.is_floating_point(x):
            x = x.double()
        elif x.element_size() < 4:
            x = x.float()  # half precision is not exact enough for sums and bin indices
        self.calls += 1
        if x.numel() == 0:
            return
        total, squares, low, high = self._moments(x)
        if not all(math.isfinite(v) for v in (total, squares, low, high)):
            self.nan_count += int(torch.isnan(x).sum())
            self.inf_count += int(torch.isinf(x).sum())
            x = x[torch.isfinite(x)]
            if x.numel() == 0:
                return
            total, squares, low, high = self._moments(x)
        self.elements += x.numel()
        self.minimum = min(self.minimum, low)
        self.maximum = max(self.maximum, high)
        self.total += total
        self.total_squares += squares
        self._histogram(x, max(-low, high))
        self._reservoir(x, sample_size, generator)

    @staticmethod
    def _moments(x: torch.Tensor) -> list[float]:
        """[Σx, Σx², min, max] in one host read.

        Σx: partial sums over :data:`SUM_CHUNK`-element chunks in the input's dtype (pairwise
        inside a chunk: error ≲ log2(chunk)·ε·Σ|x|, ~1e-6·Σ|x| in float32), added in float64
        (a float64-accumulated sum converts every element and costs 15× as much on CPU).
        Σx²: a dot in the input's dtype (relative error ≲ 1e-6 in float32, enough for a std)."""
        low, high = torch.aminmax(x)
        squares = torch.dot(x, x)
        whole = x.numel() // SUM_CHUNK * SUM_CHUNK
        total = x[:whole].view(-1, SUM_CHUNK).sum(dim=1).double().sum() + x[whole:].sum(dtype=torch.float64)
        return torch.stack([total, squares.double(), low.double(), high.double()]).tolist()

    def _histogram(self, values: torch.Tensor, peak: float) -> None:
        if self.histogram_counts is None:
            self.histogram_counts = torch.zeros(self.bins, dtype=torch.long, device=values.device)
        counts = self.histogram_counts.to(values.device)
        while peak > self.histogram_range:
            # Double R: bin pairs merge into the middle half of the new bins.
            merged = counts.view(-1, 2).sum(dim=1)
            counts = torch.zeros_like(counts)
            counts[self.bins // 4: self.bins // 4 + self.bins // 2] = merged
            self.histogram_range *= 2.0
        r = self.histogram_range
        # bin = ⌊(x + R)·bins/2R⌋ as x·s + R·s (one rounding, as (x + R)·s: s = bins/2R), x = R in the last bin
        s = torch.tensor(self.bins / (2.0 * r), dtype=values.dtype, device=values.device)
        # On the CPU in chunks: two fresh 8 MB temporaries per call cost more in page faults than
        # the arithmetic (4.3 -> 3.3 ms per 2 Mi floats); CUDA's caching allocator has no such cost.
        parts = values.split(HISTOGRAM_CHUNK) if values.device.type == "cpu" else (values,)
        found = sum(torch.bincount(torch.addcmul(s * r, part, s).to(torch.int32), minlength=self.bins + 1)
                    for part in parts)
        found[self.bins - 1] += found[self.bins]  # x = R: the last bin is closed
        self.histogram_counts = counts + found[: self.bins]

    def _reservoir(self, values: torch.Tensor, sample_size: int, generator: torch.Generator) -> None:
        """Keep the ``sample_size`` inputs with the largest iid U(0, 1) keys seen so far.

        Per call only the top m = min(n, size) keys of the call's n values are drawn, in log
        space by order statistics (log M_j = Σ_{i≤j} log U_i/(n − i + 1), descending), and of
        those only the ones above the reservoir's smallest key can enter; they go to as many
        positions drawn uniformly without replacement, in random order.
        """
        g = self._generator(values.device, generator)
        self._sample_limit = sample_size
        n = values.numel()
        m = min(n, sample_size)
        steps = torch.log(torch.rand(m, generator=g, device=values.device, dtype=torch.float64))
        keys = torch.cumsum(steps / torch.arange(n, n - m, -1, device=values.device, dtype=torch.float64), dim=0)
        if self._threshold is not None:
            entering = int(torch.searchsorted(-keys, -self._threshold, right=False))  # keys descend
            if entering == 0:
                return
            keys = keys[:entering]
        count = keys.numel()
        positions = torch.randperm(n, generator=g, device=values.device) if count == n else \
            _distinct(n, count, g, values.device)
        self._pending.append((values[positions], keys))
        self._pending_size += count
        if self.sample is None or self._pending_size >= sample_size:
            self._merge_sample(sample_size)

    def _merge_sample(self, sample_size: int) -> None:
        """Fold the pending candidates into the reservoir: the ``sample_size`` largest keys.
        Done once per ``sample_size`` candidates (a stale threshold only admits extra ones)."""
        if not self._pending:
            return
        parts = ([(self.sample, self.sample_keys)] if self.sample is not None else []) + self._pending
        device = parts[-1][1].device
        values = torch.cat([v.to(device=device, dtype=parts[-1][0].dtype) for v, _ in parts])
        keys = torch.cat([k.to(device) for _, k in parts])
        if values.numel() > sample_size:
            keep = torch.topk(keys, sample_size, sorted=False).indices  # 4x a sorted topk; finish() orders
            values, keys = values[keep], keys[keep]
        self.sample, self.sample_keys = values, keys
        self._pending, self._pending_size = [], 0
        self._threshold = keys.min() if keys.numel() >= sample_size else None

    def _generator(self, device, generator: torch.Generator) -> torch.Generator:
        """This site's generator on ``device``, seeded once from the profile's generator."""
        key = str(device)
        if key not in self.generators:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
            self.generators[key] = torch.Generator(device=device).manual_seed(seed)
        return self.generators[key]

    def finish(self, quantiles, sample_size: int | None = None) -> None:
        """Complete the sample, move it and the histogram to the CPU and compute ``quantiles``."""
        self._merge_sample(sample_size if sample_size is not None else max(1, self._sample_limit))
        if self.sample is not None and self.sample_keys is not None:
            # In descending key order the sample is a uniformly random permutation (the keys are
            # iid and independent of the values), so any prefix is a uniform sample too.
            self.sample = self.sample[torch.argsort(self.sample_keys, descending=True)]
        if self.histogram_counts is not None:
            self.histogram_counts = self.histogram_counts.cpu()
        if self.sample is not None and self.sample.numel():
            self.sample = self.sample.detach().to("cpu", torch.float32)
            values = torch.quantile(self.sample.double(), torch.tensor(quantiles, dtype=torch.float64))
            self.quantiles = {q: float(v) for q, v in zip(quantiles, values)}
        self.sample_keys = None
        self.generators = {}


def _distinct(n: int, m: int, g, device) -> torch.Tensor:
    """m distinct positions out of n: every m-subset equally likely, in random order.

    Draws with replacement (a few more than m: about m²/2n repeat) and keeps the distinct
    draws (``torch.unique``: O(m log m), nothing of size n), drawing again in the rare case
    that too few were distinct. Given its size k, the set of distinct draws is a uniform
    k-subset (the draws are exchangeable), so a random m of them in random order
    (``randperm``) is a uniform m-subset in random order. Over half of n: a random permutation."""
    if 2 * m > n:
        return torch.randperm(n, generator=g, device=device)[:m]
    draws = torch.randint(0, n, (m + 2 * m * m // n + 16,), generator=g, device=device)
    while True:
        distinct = torch.unique(draws)
        if distinct.numel() >= m:
            return distinct[torch.randperm(distinct.numel(), generator=g, device=device)[:m]]
        extra = torch.randint(0, n, (2 * (m - distinct.numel()) + 16,), generator=g, device=device)
        draws = torch.cat([distinct, extra])


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


def model_inputs(batch, input_fn):
    """The model's positional inputs in one loader batch, as a tuple: ``input_fn(batch)`` when
    given, else the batch itself (a tensor), its first element (a tuple/list starting with a
    tensor) or its first value (a dict)."""
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


class _ProfileWatch(SiteWatcher):
    """Feeds attribute and functional calls (every one, or the ``wanted`` names) to profiles."""

    def __init__(self, kinds, profile: Profile, bins: int, wanted, observe):
        super().__init__(kinds)
        self.profile, self.bins, self.wanted, self.observe = profile, bins, wanted, observe

    def on_call(self, name, label, x, attribute):
        if not isinstance(x, torch.Tensor) or (self.wanted is not None and name not in self.wanted):
            return
        if name not in self.profile:
            self.profile[name] = SiteProfile(name, label, bins=self.bins)
        self.observe(self.profile[name], x)


def profile_sites(model: nn.Module, loader, sites=None, *, kinds=None, max_batches: int | None = None,
                  quantiles=DEFAULT_QUANTILES, bins: int = 64, sample_size: int = 65536, device=None,
                  input_fn=None, seed: int = 0) -> Profile:
    """Input statistics of every activation site over ``loader``.

    Args:
        model: the network (run in eval mode under ``torch.no_grad()``; mode restored).
        loader: iterable of batches: tensors, ``(inputs, labels, ...)`` or dicts.
        sites: :func:`~polyfit.torch.find_sites` output (functional and attribute sites
            included), a ``{name: module}`` mapping (any modules: a pool's inputs too), or
            None for every module of ``kinds`` and every functional activation call.
        max_batches: stop after this many batches.
        quantiles: probabilities in [0, 1] computed from the sample.
        bins: histogram bins (a multiple of 4).
        sample_size: inputs kept per site for quantiles, tuning and plots.
        device: move inputs there (default: the model's first parameter's device).
        input_fn: ``batch -> inputs`` when the default extraction does not fit.
        seed: seed of the sampling generators (profiles are reproducible).

    Raises:
        InputError: bad options; no site seen over the whole loader.
    """
    if bins < 4 or bins % 4:
        raise InputError(f"bins must be a positive multiple of 4, got {bins!r}")
    if sample_size < 1:
        raise InputError(f"sample_size must be positive, got {sample_size!r}")
    qs = tuple(float(q) for q in quantiles)
    if not all(0.0 <= q <= 1.0 for q in qs):
        raise InputError(f"quantiles must lie in [0, 1], got {quantiles!r}")
    if max_batches is not None and max_batches < 1:
        raise InputError(f"max_batches must be positive, got {max_batches!r}")
    kinds = tuple(kinds) if kinds is not None else default_kinds()
    modules, calls = _resolve_sites(model, sites, kinds)
    if device is None:
        first = next(iter(model.parameters()), None)
        device = first.device if first is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(seed)
    seen: list[str] = []

    def observe(p, x):
        if p.calls == 0:
            seen.append(p.name)
        if watch is not None:
            watch.paused = True
        try:
            p.observe(x, sample_size, generator)
        finally:
            if watch is not None:
                watch.paused = False

    profile = Profile((name, SiteProfile(name, type(mod).__name__, bins=bins)) for name, mod in modules.items())
    watch = _ProfileWatch(kinds, profile, bins, calls, observe) if calls is None or calls else None
    with HookSet() as hooks, (watch.attached(model) if watch is not None else contextlib.nullcontext()):
        for name, module in modules.items():
            def hook(mod, args, _p=profile[name]):
                if args and isinstance(args[0], torch.Tensor):
                    observe(_p, args[0])

            hooks.add(module.register_forward_pre_hook(hook))
        batches = 0
        for i, batch in enumerate(loader):
            if max_batches is not None and i >= max_batches:
                break
            dry_run(model, tuple(t.to(device) if isinstance(t, torch.Tensor) else t for t in model_inputs(batch, input_fn)))
            batches += 1
    if not batches:  # formerly profiles of nothing: minimum inf, maximum -inf, mean NaN
        raise InputError("the loader yielded no batches; profiling needs at least one")
    if not profile:
        raise InputError("the model has no activation sites to profile (no activation modules and no functional "
                         "activation calls ran); pass sites=")
    ordered = Profile((name, profile[name]) for name in seen + [n for n in profile if n not in seen])
    for p in ordered.values():
        p.finish(qs, sample_size)
    return ordered


def _resolve_sites(model, sites, kinds) -> tuple[dict[str, nn.Module], set | None]:
    """(``{name: module}`` to hook, the attribute/functional call names to watch — None for all).

    ``sites=None``: every activation module and every call; a find_sites result: its module
    sites and its call sites by name; a mapping: those modules only."""
    if sites is None:
        return {s.name: s.module for s in static_sites(model, kinds)}, None
    if isinstance(sites, dict):
        return as_site_mapping(sites), set()
    sites = list(sites)
    calls = {s.name for s in sites if getattr(s, "module", None) is None and hasattr(s, "reachable")}
    with_modules = [s for s in sites if getattr(s, "module", None) is not None or not hasattr(s, "reachable")]
    return (as_site_mapping(with_modules) if with_modules else {}), calls
