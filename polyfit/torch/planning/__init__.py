"""Network plans: each activation site's polynomial chosen under a network depth budget.

:func:`plan_network` profiles the sites, fits candidates on each site's range, measures each
candidate's sensitivity, allocates the depth budget by dynamic programming over the traced
data-flow graph and refines the allocation by real evaluations; it returns a
:class:`NetworkPlan` (apply, save/load, Pareto table, plot). :func:`network_depth` is the depth
along a network on its own. See docs/network_plans.md.

Layer: beside the recipes (above surgery, profiling and export); nothing below imports it.

Modules: :mod:`.graph` (depth along the traced graph), :mod:`.candidates` (per-site fits and
composites), :mod:`.allocation` (the budget DP), :mod:`.refine` (local search),
:mod:`.planner` (:func:`plan_network`), :mod:`.plan` (:class:`NetworkPlan`), :mod:`.bundle`
(its JSON file).
"""
from .bundle import load_plan
from .candidates import CandidateSpec, parse_spec
from .graph import DepthGraph, NetworkDepth, PathStep, build_graph, network_depth
from .plan import SCHEMA, SCHEMA_VERSION, NetworkPlan, PlannedSite
from .planner import NetworkPlanner, plan_network

__all__ = ["SCHEMA", "SCHEMA_VERSION", "CandidateSpec", "DepthGraph", "NetworkDepth", "NetworkPlan", "NetworkPlanner", "PathStep",
           "PlannedSite", "build_graph", "load_plan", "network_depth", "parse_spec", "plan_network"]
