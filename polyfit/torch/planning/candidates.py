"""Candidate approximations of one site, fitted on that site's profiled range.

A candidate is a spec (what to fit) turned into an :class:`~polyfit.approximation.Approximation`
on the site's range, with its CKKS levels read from the artifact's depth report
(``depth["ckks_levels"]``):

- ``fit:D`` — least squares of degree D of the site's function (ReLU, GELU, SiLU, …) on the
  uniform grid of [c − m·h, c + m·h], where [c − h, c + h] = [min, max] of the profiled inputs
  and m the margin (inputs shift once earlier sites are replaced); ``fit:D:samples`` fits on
  the profiled samples instead (the site's input distribution as weights: SmartPAF's
  coefficient tuning). Degrees above 15 keep Chebyshev coefficients (PolyActivation evaluates
  them by Clenshaw; the depth is the same).
- ``composite:D1,D2,…`` — the composite minimax ReLU of ``pf.composite`` (odd sign stages,
  combine relu) on [−B, B], B = m·max(|min|, |max|). Its stages do not depend on B (only its
  input scale 1/B does), so each degree set is designed once on [−1, 1] and rescaled per site.
- On a max-pooling site only composites apply: the comparator of a
  :class:`~polyfit.torch.SignMaxPool2d`, max(a, b) = b + relu(a − b), on the differences'
  range B = m·(max − min); its levels are ⌈log2 k²⌉ tournament rounds × the composite's.

Spec strings are parsed by splitting on ``:`` and ``,`` (nothing is evaluated).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
from torch import nn

from ...errors import ComputationError, InputError
from ...validate import integer_list

#: Activation module type → polyfit target name.
TARGETS: Mapping[type, str] = MappingProxyType({nn.ReLU: "relu", nn.GELU: "gelu", nn.SiLU: "silu",
                                                nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Softplus: "softplus"})
DEFAULT_FIT_DEGREES = (1, 2, 3, 5, 7, 11, 15, 23)
DEFAULT_SAMPLE_FIT_DEGREES = (2, 3, 5, 7, 11, 15)
DEFAULT_COMPOSITES = ((3, 3), (7, 7), (7, 15), (15, 15))
KINDS = ("fit", "composite")
WEIGHTINGS = ("uniform", "samples")
DEFAULT_MARGIN = 1.1
#: Fits above this degree keep Chebyshev coefficients (monomial ones lose digits; same depth).
MAX_MONOMIAL_DEGREE = 15


@dataclass(frozen=True)
class CandidateSpec:
    """What to fit at a site: ``kind`` "fit" (``degree``, ``weighting``) or "composite" (``degrees``)."""

    kind: str
    degree: int | None = None
    degrees: tuple[int, ...] = ()
    weighting: str = "uniform"

    @property
    def label(self) -> str:
        if self.kind == "fit":
            return f"fit:{self.degree}" + (":samples" if self.weighting == "samples" else "")
        return "composite:" + ",".join(str(d) for d in self.degrees)


def parse_spec(spec) -> CandidateSpec:
    """A :class:`CandidateSpec` from itself or from ``"fit:7"``, ``"fit:7:samples"``, ``"composite:7,15"``.

    >>> parse_spec("composite:7,15").degrees, parse_spec("fit:3:samples").label
    ((7, 15), 'fit:3:samples')
    """
    if isinstance(spec, CandidateSpec):
        return spec
    if not isinstance(spec, str):
        raise InputError(f"candidate {spec!r} must be a string such as 'fit:7', 'fit:7:samples' or 'composite:7,7'")
    parts = spec.strip().split(":")
    kind = parts[0]
    if kind not in KINDS or len(parts) < 2:
        raise InputError(f"candidate {spec!r}: allowed forms are 'fit:D', 'fit:D:samples' and 'composite:D1,D2,...'")
    try:
        numbers = integer_list(parts[1], "degrees")
    except InputError:
        numbers = ()
    if not numbers:
        raise InputError(f"candidate {spec!r}: degrees must be integers, got {parts[1]!r}")
    if kind == "fit":
        weighting = parts[2] if len(parts) > 2 else "uniform"
        if len(numbers) != 1 or not 1 <= numbers[0] <= 63 or weighting not in WEIGHTINGS or len(parts) > 3:
            raise InputError(f"candidate {spec!r}: a fit is 'fit:D' with 1 <= D <= 63, optionally ':samples'")
        return CandidateSpec("fit", degree=numbers[0], weighting=weighting)
    if len(parts) > 2 or not all(d >= 3 and d % 2 == 1 and d <= 63 for d in numbers):
        raise InputError(f"candidate {spec!r}: composite stage degrees must be odd, 3 … 63")
    return CandidateSpec("composite", degrees=numbers)


def default_specs() -> list[CandidateSpec]:
    """Fits of degree 1, 2, 3, 5, 7, 11, 15, 23 on the range; fits of degree 2, 3, 5, 7, 11, 15 on
    the profiled samples; composites 3,3 / 7,7 / 7,15 / 15,15 (ReLU and max-pool sites only)."""
    return ([CandidateSpec("fit", degree=d) for d in DEFAULT_FIT_DEGREES]
            + [CandidateSpec("fit", degree=d, weighting="samples") for d in DEFAULT_SAMPLE_FIT_DEGREES]
            + [CandidateSpec("composite", degrees=d) for d in DEFAULT_COMPOSITES])


@dataclass
class Candidate:
    """One candidate at a site: its approximation, levels, and the site's ``error`` under it —
    the mean squared difference from the exact activation over the profiled samples (the
    cheap proxy; max pools: the comparator's ReLU error on the differences' range)."""

    label: str
    approximation: object
    levels: int
    kind: str = "activation"           # "activation" (a PolyActivation) or "max_pool" (a SignMaxPool2d comparator)
    scale: float | None = None         # the max pool's B
    error: float = math.nan
    info: dict = field(default_factory=dict)


def site_target(module: nn.Module) -> str | None:
    """The polyfit target of an activation module (None when polyfit has none)."""
    for kind, name in TARGETS.items():
        if type(module) is kind:
            return name
    return None


def site_range(profile, site: str) -> tuple[float, float]:
    """[min, max] of the profiled finite inputs of ``site`` (InputError when it saw none or NaN/inf)."""
    if profile.elements == 0:
        raise InputError(f"site {site!r} saw no finite inputs in the calibration data")
    if profile.nan_count or profile.inf_count:
        raise InputError(f"site {site!r} saw {profile.nan_count} NaN and {profile.inf_count} infinite inputs "
                         "with the exact activations; fix the model before planning")
    return float(profile.minimum), float(profile.maximum)


def fit_domain(lo: float, hi: float, margin: float) -> tuple[float, float]:
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    half = max(half, 1e-3 * max(1.0, abs(centre)))   # a site with (nearly) constant inputs
    return centre - margin * half, centre + margin * half


def build_candidates(site: str, module: nn.Module, profile, specs, *, margin: float = DEFAULT_MARGIN,
                     designs: dict | None = None) -> tuple[list[Candidate], list[str]]:
    """The candidates of one site and notes on the specs that did not apply or failed."""
    from ...fitting import fit

    lo, hi = site_range(profile, site)
    is_pool = isinstance(module, nn.MaxPool2d)
    target = None if is_pool else site_target(module)
    if not is_pool and target is None:
        raise InputError(f"site {site!r} is a {type(module).__name__}, which polyfit has no target for; "
                         f"plannable: {', '.join(t.__name__ for t in TARGETS)}, MaxPool2d (or pass candidates=callable)")
    samples = np.asarray(profile.sample.double().numpy() if profile.sample is not None else [lo, hi], dtype=float)
    designs = {} if designs is None else designs
    found, notes = [], []
    for spec in specs:
        try:
            if spec.kind == "fit":
                if is_pool:
                    continue
                domain = fit_domain(lo, hi, margin)
                basis = "chebyshev" if spec.degree > MAX_MONOMIAL_DEGREE else "monomial"
                if spec.weighting == "samples":
                    approx = fit(target, spec.degree, domain, samples=samples, basis=basis)
                else:
                    approx = fit(target, spec.degree, domain, basis=basis)
                found.append(_activation(spec.label, approx, samples, target))
            elif target == "relu" or is_pool:
                bound = margin * ((hi - lo) if is_pool else max(abs(lo), abs(hi)))
                bound = max(bound, 1e-3)
                approx = rescaled(composite_design(spec.degrees, designs), bound)
                if is_pool:
                    found.append(_pool(spec.label, approx, module, bound))
                else:
                    found.append(_activation(spec.label, approx, samples, target))
        except (ComputationError, InputError) as exc:
            notes.append(f"site {site}: {spec.label} skipped ({exc})")
    if not found:
        raise InputError(f"site {site!r}: none of the candidates applies ({'; '.join(notes) or 'composites are for ReLU and max pools'})")
    return found, notes


def _activation(label, approx, samples, target) -> Candidate:
    from ...targets import get_target

    with np.errstate(all="ignore"):
        diff = approx(samples) - get_target(target)(samples)
        error = float(np.mean(diff * diff))
    return Candidate(label, approx, int(approx.depth["ckks_levels"]), error=error if math.isfinite(error) else math.inf)


def _pool(label, approx, module: nn.MaxPool2d, bound: float) -> Candidate:
    from .graph import tournament_rounds

    kh, kw = nn.modules.utils._pair(module.kernel_size)
    levels = tournament_rounds(kh * kw) * int(approx.depth["ckks_levels"])
    return Candidate(label, approx, levels, kind="max_pool", scale=bound,
                     error=float(approx.metrics["rms_error"]) ** 2,
                     info={"rounds": tournament_rounds(kh * kw)})


def composite_design(degrees: tuple[int, ...], designs: dict):
    """``pf.composite(degrees=…, function="relu")`` on [−1, 1], computed once per degree set."""
    from ...solvers.composite import composite

    if degrees not in designs:
        designs[degrees] = composite(degrees=list(degrees), function="relu", domain=1.0)
    return designs[degrees]


def rescaled(base, bound: float):
    """The composite ``base`` (designed on [−1, 1]) on [−B, B]: input scale 1/B, reports
    recomputed; relu(x) = x·(1 + s(x/B))/2 is exactly what ``pf.composite(domain=B)`` returns."""
    from ...reports import with_reports

    objective = dict(base.objective, range=bound)
    provenance = dict(base.provenance, options=dict(base.provenance.get("options") or {}, range=bound))
    for key in ("relu_error", "abs_error"):
        if isinstance(provenance.get(key), (int, float)):
            provenance[key] = provenance[key] * bound
    scaled = base.replace(domain=(-bound, bound), input_scale=1.0 / bound, objective=objective, provenance=provenance)
    return with_reports(scaled, exclude=None)
