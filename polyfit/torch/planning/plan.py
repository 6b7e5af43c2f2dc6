"""NetworkPlan: one approximation per site, the network depth it costs, and what it measured.

A plan is data: per site its approximation (an Approximation, SPEC §3), levels, profiled range
and distribution, and sensitivity; the total depth and its path; the measured metric; every
plan the planner evaluated (its Pareto table). :meth:`NetworkPlan.apply` puts it into a model
through :func:`polyfit.torch.replace_activations`; :meth:`NetworkPlan.save` writes the JSON
bundle of :mod:`.bundle`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import nn

from ...errors import InputError
from .graph import NetworkDepth

SCHEMA = "polyfit/network-plan"
SCHEMA_VERSION = "1.0"


@dataclass
class PlannedSite:
    """One site of a plan.

    Attributes:
        name: module path of the site.
        type: class name of the module it replaces (``ReLU``, ``MaxPool2d`` …).
        kind: ``"activation"`` (becomes a PolyActivation) or ``"max_pool"`` (a SignMaxPool2d whose
            comparator is the approximation: max(a, b) = b + relu(a − b)).
        candidate: the chosen candidate's label (``fit:7``, ``composite:7,15`` …).
        approximation: the chosen Approximation.
        levels: CKKS levels of the site (artifact ``ckks_levels``; max pools × ``rounds``).
        range: [min, max] of the profiled inputs with the exact activations.
        distribution: mean, std, quantiles and histogram of those inputs.
        sensitivity: the metric with only this site replaced by ``approximation`` (None: not measured).
        error: mean squared difference from the exact activation over the profiled samples.
        rounds: tournament rounds of a max pool (1 for activations).
        candidates: every candidate considered: label, levels, metric alone, error.
    """

    name: str
    type: str
    kind: str
    candidate: str
    approximation: object
    levels: int
    range: tuple[float, float]
    distribution: dict = field(default_factory=dict)
    sensitivity: float | None = None
    error: float | None = None
    rounds: int = 1
    candidates: list = field(default_factory=list)


@dataclass
class NetworkPlan:
    """Per-site approximations chosen under a depth budget (see :func:`polyfit.torch.plan_network`).

    Attributes:
        sites: the :class:`PlannedSite` list in execution order.
        total_depth: levels along the deepest path (``depth.total``).
        depth: the :class:`~polyfit.torch.planning.graph.NetworkDepth` (path, rules used).
        metric: ``evaluate(model with the plan)`` as measured (None: not measured).
        baseline_metric: ``evaluate(model)`` with the exact activations.
        depth_budget, metric_target: what was asked.
        explored: every whole-network plan evaluated: total depth, metric, source, choice.
        search: how the plan was found (evaluations, seconds, seed, allocation exactness …).
        notes: what was skipped or approximated, in words.
    """

    sites: list[PlannedSite]
    total_depth: int
    depth: NetworkDepth
    metric: float | None = None
    baseline_metric: float | None = None
    depth_budget: int | None = None
    metric_target: float | None = None
    explored: list = field(default_factory=list)
    search: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    # -- views ------------------------------------------------------------------------------------------
    @property
    def approximations(self) -> dict:
        """{site name: Approximation}."""
        return {s.name: s.approximation for s in self.sites}

    @property
    def site_levels(self) -> dict[str, int]:
        return {s.name: s.levels for s in self.sites}

    @property
    def count_linear(self) -> bool:
        return self.depth.count_linear

    def pareto(self) -> list[dict]:
        """Non-dominated explored plans: depth ascending, each with a higher metric than every
        shallower one (``{"total_depth", "metric", "source", "choice"}``)."""
        best_at: dict[int, dict] = {}
        for e in self.explored:
            m = e.get("metric")
            if m is None or not math.isfinite(m):
                continue
            d = e["total_depth"]
            if d not in best_at or m > best_at[d]["metric"]:
                best_at[d] = e
        front, best = [], -math.inf
        for d in sorted(best_at):
            if best_at[d]["metric"] > best:
                front.append(best_at[d])
                best = best_at[d]["metric"]
        return front

    def pareto_table(self) -> str:
        """Text table of :meth:`pareto`: total depth, metric, where it came from."""
        unit = "levels (whole network)" if self.count_linear else "levels (activations)"
        rows = [f"{'total depth':>11}  {'metric':>9}  source   [{unit}; {len(self.explored)} plans evaluated]"]
        for e in self.pareto():
            mark = "  <- plan" if e["total_depth"] == self.total_depth and e["metric"] == self.metric else ""
            rows.append(f"{e['total_depth']:>11}  {e['metric']:>9.6g}  {e['source']}{mark}")
        return "\n".join(rows)

    def table(self) -> str:
        """Per-site summary and the totals."""
        rows = [f"{'site':<24}{'type':<11}{'candidate':<17}{'levels':>7}{'range':>20}{'alone':>9}{'MSE':>10}"]
        for s in self.sites:
            alone = f"{s.sensitivity:.4f}" if s.sensitivity is not None else "-"
            err = f"{s.error:.2e}" if s.error is not None and math.isfinite(s.error) else "-"
            rng = f"[{s.range[0]:.3g}, {s.range[1]:.3g}]"
            rows.append(f"{s.name:<24}{s.type:<11}{s.candidate:<17}{s.levels:>7}{rng:>20}{alone:>9}{err:>10}")
        metric = f"{self.metric:.4f}" if self.metric is not None else "not measured"
        base = f"{self.baseline_metric:.4f}" if self.baseline_metric is not None else "-"
        what = "whole network" if self.count_linear else "activations"
        rows.append(f"total depth {self.total_depth} levels ({what}), metric {metric} (exact activations {base})")
        return "\n".join(rows)

    def __repr__(self) -> str:
        metric = f"{self.metric:.4g}" if self.metric is not None else "?"
        return f"NetworkPlan({len(self.sites)} sites, total depth {self.total_depth}, metric {metric})"

    # -- into a model -----------------------------------------------------------------------------------
    def factory(self, *, trainable: bool = False, clip=False):
        """``site -> nn.Module`` for :func:`polyfit.torch.replace_activations` and the recipes
        (``progressive_replacement``): the plan's module at each of its sites."""
        by_name = {s.name: s for s in self.sites}

        def make(site):
            name = site.name.split("#")[0]
            planned = by_name.get(name)
            if planned is None:
                raise InputError(f"site {site.name!r} is not in the plan; planned: {', '.join(by_name)}")
            return planned_module(planned, site.module, trainable=trainable, clip=clip)

        return make

    def apply(self, model: nn.Module, *, trainable: bool = False, clip=False, inplace: bool = False):
        """``(model, report)``: the plan's sites replaced (a deep copy unless ``inplace``).

        Raises InputError when a planned site is missing from ``model`` or is of another type."""
        from ..surgery import Site, replace_activations

        sites = []
        modules = dict(model.named_modules())
        for s in self.sites:
            module = modules.get(s.name)
            if module is None:
                raise InputError(f"the model has no submodule {s.name!r} (a site of the plan)")
            if type(module).__name__ != s.type:
                raise InputError(f"site {s.name!r} is a {type(module).__name__} in the model, {s.type} in the plan")
            sites.append(Site(name=s.name, module=module, type=type(module).__name__, input_shape=None))
        return replace_activations(model, self.factory(trainable=trainable, clip=clip), sites=sites, inplace=inplace)

    # -- files ------------------------------------------------------------------------------------------
    def save(self, path) -> str:
        """Write the plan's JSON bundle atomically (schema ``polyfit/network-plan``); returns the
        path. Read it back with :func:`polyfit.torch.load_plan` (validated, see :mod:`.bundle`)."""
        import json

        from ...atomic import atomic_write_text

        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1, allow_nan=False) + "\n")

    def to_dict(self) -> dict:
        """The bundle as a JSON-ready dict (non-finite numbers as None)."""
        return plan_to_dict(self)

    # -- plot -------------------------------------------------------------------------------------------
    def plot(self, path=None, *, baselines: dict | None = None):
        """The Pareto front (total depth vs metric) of the explored plans, the plan marked.

        ``baselines``: ``{label: [(depth, metric), ...]}`` drawn as extra series (uniform
        choices, a global search). Returns the figure; with ``path`` writes a PNG and returns it.
        """
        def make():
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 4))
            points = [(e["total_depth"], e["metric"]) for e in self.explored
                      if e.get("metric") is not None and math.isfinite(e["metric"])]
            if points:
                ax.scatter(*zip(*points), s=12, color="0.7", label="explored plans")
            front = self.pareto()
            if front:
                ax.step([e["total_depth"] for e in front], [e["metric"] for e in front], where="post",
                        color="C0", label="Pareto front")
            for i, (label, series) in enumerate((baselines or {}).items()):
                if series:
                    ax.plot(*zip(*sorted(series)), "s", color=f"C{i + 2}", label=label, ms=5, alpha=0.8)
            if self.metric is not None:
                ax.plot([self.total_depth], [self.metric], "*", ms=14, color="C1", label="plan")
            if self.baseline_metric is not None:
                ax.axhline(self.baseline_metric, color="0.4", ls=":", lw=1, label="exact activations")
            ax.set_xlabel("total depth (CKKS levels" + (", whole network)" if self.count_linear else ", activations)"))
            ax.set_ylabel("metric")
            ax.legend(fontsize=8)
            ax.grid(alpha=0.3)
            fig.tight_layout()
            return fig

        if path is None:
            return make()
        from ...atomic import save_figure

        return save_figure(make, path)


def planned_module(planned: PlannedSite, original: nn.Module | None, *, trainable: bool = False, clip=False) -> nn.Module:
    """The replacement module of one planned site (PolyActivation, or SignMaxPool2d for a max pool)."""
    from ..activations import PolyActivation

    if planned.kind == "max_pool":
        from ..pooling import SignMaxPool2d

        if not isinstance(original, nn.MaxPool2d):
            raise InputError(f"site {planned.name!r} is planned as a max pool but the model has {type(original).__name__}")
        check_poolable(planned.name, original)
        comparator = PolyActivation(planned.approximation, trainable=trainable, name=planned.name)
        return SignMaxPool2d(original.kernel_size, comparator, stride=original.stride, dilation=original.dilation,
                             scale=1.0, kind="relu")
    return PolyActivation(planned.approximation, trainable=trainable, clip=clip, name=planned.name)


def check_poolable(name: str, pool: nn.MaxPool2d) -> None:
    """A max pool a polynomial tournament can replace: no padding (max pads with −inf), no ceil_mode."""
    if nn.modules.utils._pair(pool.padding) != (0, 0) or pool.ceil_mode:
        raise InputError(f"max pool {name!r} has padding {pool.padding} / ceil_mode {pool.ceil_mode}; "
                         "a polynomial max needs padding 0 and ceil_mode False")


def plan_to_dict(plan) -> dict:
    """The JSON-ready bundle dict of ``plan`` (its artifacts as SPEC §3 dicts)."""
    from ..._version import __version__
    from ...artifact import json_ready, to_dict

    sites = []
    for s in plan.sites:
        sites.append({
            "name": s.name, "type": s.type, "kind": s.kind, "candidate": s.candidate, "levels": s.levels,
            "rounds": s.rounds, "range": list(s.range), "distribution": s.distribution,
            "sensitivity": s.sensitivity, "error": s.error, "candidates": s.candidates,
            "artifact": to_dict(s.approximation),
        })
    out = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "polyfit_version": __version__,
        "total_depth": plan.total_depth, "count_linear": plan.count_linear,
        "metric": plan.metric, "baseline_metric": plan.baseline_metric,
        "depth_budget": plan.depth_budget, "metric_target": plan.metric_target,
        "depth": plan.depth.to_dict(), "sites": sites, "explored": plan.explored,
        "search": plan.search, "notes": list(plan.notes),
    }
    return json_ready(out)
