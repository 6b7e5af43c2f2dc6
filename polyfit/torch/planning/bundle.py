"""Reading the network plan's JSON bundle (schema ``polyfit/network-plan`` 1.0).

One UTF-8 file (written atomically by :meth:`~.plan.NetworkPlan.save`) holding per site its
artifact (a full SPEC §3 dict) and the plan's numbers. Reading treats the file as hostile: it goes through the bounded JSON reader
(:func:`polyfit.jsonio.read_json`), every section is type-checked, every artifact is validated
as :func:`polyfit.load` does and then *rechecked* (:func:`polyfit.recheck.recheck`: metrics,
depth and precision recomputed from the stages), and the plan's own depth claims are recounted:

- each site's ``levels`` equals its artifact's recomputed ``ckks_levels`` × ``rounds``;
- the depth path adds up: each step's ``depth`` is the previous one plus its ``levels``, the last
  equals ``total_depth``, and a site step's levels are that site's.

A file that fails any of these is refused with one :class:`~polyfit.errors.ArtifactError` line.
"""
from __future__ import annotations

from ... import jsonio
from ...errors import ArtifactError
from .plan import SCHEMA, SCHEMA_VERSION

READABLE_MAJOR = int(SCHEMA_VERSION.split(".")[0])
MAX_SITES = 10_000
MAX_ROUNDS = 64


_TEXT = jsonio.string(1000)
_COUNT = jsonio.integer(0, 10**6)
_METRIC = jsonio.optional(jsonio.number())
_STEP = jsonio.obj({"node": _TEXT, "label": _TEXT, "kind": jsonio.string(choices=("input", "site", "linear", "folded",
                                                                                  "product", "free", "unaccounted",
                                                                                  "output")),
                    "levels": _COUNT, "depth": _COUNT, "site": jsonio.optional(_TEXT)},
                   required=("node", "kind", "levels", "depth"))
_DEPTH = jsonio.obj({"total": _COUNT, "count_linear": jsonio.boolean(), "traced": jsonio.boolean(),
                     "path": jsonio.array(_STEP, 0, 10**5), "unplanned": jsonio.array(_TEXT, 0, 10**5),
                     "unaccounted": jsonio.array(_TEXT, 0, 10**5), "note": jsonio.string(4000)},
                    required=("total", "count_linear", "path"))
_CANDIDATE = jsonio.obj({"label": _TEXT, "levels": _COUNT, "metric": _METRIC, "error": jsonio.optional(jsonio.number(0))},
                        required=("label", "levels"))
_SITE = jsonio.obj({
    "name": _TEXT, "type": jsonio.string(200), "kind": jsonio.string(choices=("activation", "max_pool")),
    "candidate": _TEXT, "levels": _COUNT, "rounds": jsonio.integer(1, MAX_ROUNDS),
    "range": jsonio.array(jsonio.number(), 2, 2), "distribution": jsonio.obj(),
    "sensitivity": _METRIC, "error": jsonio.optional(jsonio.number(0)),
    "candidates": jsonio.array(_CANDIDATE, 0, 10**4), "artifact": jsonio.obj(),
}, required=("name", "type", "kind", "candidate", "levels", "range", "artifact"))
_EXPLORED = jsonio.obj({"total_depth": _COUNT, "metric": _METRIC, "source": _TEXT, "choice": jsonio.obj()},
                       required=("total_depth", "source"))
PLAN = jsonio.obj({
    "schema": jsonio.string(choices=(SCHEMA,)),
    "schema_version": jsonio.version(READABLE_MAJOR, "network plans"),
    "polyfit_version": jsonio.optional(jsonio.string(100)),
    "total_depth": _COUNT, "count_linear": jsonio.boolean(),
    "metric": _METRIC, "baseline_metric": _METRIC,
    "depth_budget": jsonio.optional(_COUNT), "metric_target": _METRIC,
    "depth": _DEPTH, "sites": jsonio.array(_SITE, 1, MAX_SITES),
    "explored": jsonio.array(_EXPLORED, 0, 10**6), "search": jsonio.obj(),
    "notes": jsonio.array(jsonio.string(4000), 0, 10**4),
}, required=("schema", "schema_version", "total_depth", "count_linear", "depth", "sites"))


def load_plan(path):
    """Read, validate and recheck a plan bundle; returns a :class:`~.plan.NetworkPlan`."""
    from ...jsonio import read_json

    data = read_json(path, "network plan")
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ArtifactError(f"{str(path)!r} is not a polyfit network plan (schema {SCHEMA!r})")
    try:
        return plan_from_dict(data)
    except ArtifactError as exc:
        raise ArtifactError(f"invalid network plan {str(path)!r}: {exc}") from None


def plan_from_dict(data):
    from ...artifact import from_dict
    from ...depth import depth_report
    from ...recheck import recheck
    from .graph import NetworkDepth, PathStep
    from .plan import NetworkPlan, PlannedSite

    PLAN(data, "")
    sites, names = [], set()
    for i, entry in enumerate(data["sites"]):
        where = f"sites[{i}]"
        if entry["name"] in names:
            raise ArtifactError(f"{where}: site {entry['name']!r} appears twice")
        names.add(entry["name"])
        lo, hi = entry["range"]
        if not lo <= hi:
            raise ArtifactError(f"{where}.range {entry['range']} must have min <= max")
        try:
            approx = from_dict(entry["artifact"])
        except ArtifactError as exc:
            raise ArtifactError(f"{where}.artifact: {exc}") from None
        try:
            checked = recheck(approx)
        except (ArithmeticError, TypeError, ValueError, KeyError) as exc:  # a value the re-evaluation cannot use
            raise ArtifactError(f"{where}.artifact cannot be re-checked ({type(exc).__name__}: {exc})") from None
        if not checked["ok"]:
            bad = next((line for line in checked["lines"] if "MISMATCH" in line), "")
            raise ArtifactError(f"{where}.artifact does not match its own reports ({bad.strip()})")
        rounds = entry.get("rounds", 1)
        if entry["kind"] == "activation" and rounds != 1:
            raise ArtifactError(f"{where}.rounds is {rounds}; an activation site has 1")
        # an artifact without a depth section still has one: recomputed from its stages
        needed = int((checked.get("depth") or depth_report(approx))["ckks_levels"])
        levels = needed * rounds
        if entry["levels"] != levels:
            raise ArtifactError(f"{where}.levels is {entry['levels']}, but its artifact needs {levels} "
                                f"(ckks_levels {needed} x {rounds} rounds)")
        sites.append(PlannedSite(entry["name"], entry["type"], entry["kind"], entry["candidate"], approx, levels,
                                 (float(lo), float(hi)), entry.get("distribution") or {}, entry.get("sensitivity"),
                                 entry.get("error"), rounds, list(entry.get("candidates") or [])))
    depth = data["depth"]
    levels_of = {s.name: s.levels for s in sites}
    running = 0
    steps = []
    for j, step in enumerate(depth["path"]):
        running += step["levels"]
        if step["depth"] != running:
            raise ArtifactError(f"depth.path[{j}].depth is {step['depth']}, but the levels before it add up to {running}")
        if step["kind"] == "site":
            site = step.get("site")
            if site not in levels_of:
                raise ArtifactError(f"depth.path[{j}] names site {site!r}, which the plan does not have")
            if step["levels"] != levels_of[site]:
                raise ArtifactError(f"depth.path[{j}] gives site {site!r} {step['levels']} levels; the site has {levels_of[site]}")
        steps.append(PathStep(step["node"], step.get("label", step["node"]), step["kind"], step["levels"], step["depth"],
                              step.get("site")))
    if running != depth["total"] or depth["total"] != data["total_depth"]:
        raise ArtifactError(f"total_depth {data['total_depth']} does not match the depth path, whose levels add up to {running}")
    deepest = max(sites, key=lambda s: s.levels)
    if deepest.levels > data["total_depth"]:
        raise ArtifactError(f"site {deepest.name!r} alone needs {deepest.levels} levels, more than total_depth {data['total_depth']}")
    budget, metric, explored = data.get("depth_budget"), data.get("metric"), data.get("explored") or []
    if budget is not None and data["total_depth"] > budget:
        raise ArtifactError(f"total_depth {data['total_depth']} exceeds the plan's depth_budget {budget}")
    if metric is not None and explored and not any(e.get("total_depth") == data["total_depth"]
                                                   and e.get("metric") == metric for e in explored):
        raise ArtifactError(f"the plan (total depth {data['total_depth']}, metric {metric:g}) is not among the "
                            f"{len(explored)} plans its explored list says were measured")
    if depth["count_linear"] != data["count_linear"]:
        raise ArtifactError("count_linear differs between the plan and its depth section")
    network_depth = NetworkDepth(depth["total"], steps, depth["count_linear"], depth.get("traced", True),
                                 list(depth.get("unplanned") or []), list(depth.get("unaccounted") or []),
                                 depth.get("note", ""))
    return NetworkPlan(sites, data["total_depth"], network_depth, data.get("metric"), data.get("baseline_metric"),
                       data.get("depth_budget"), data.get("metric_target"), list(data.get("explored") or []),
                       dict(data.get("search") or {}), list(data.get("notes") or []))
