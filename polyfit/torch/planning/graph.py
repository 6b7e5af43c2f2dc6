"""Multiplicative depth along a network: the deepest path through its traced data-flow graph.

The model is traced with ``torch.fx`` (activation modules kept as leaves). Each node n has a
cost in CKKS levels,

    cost(n) = levels of the site's approximation          activation sites (and planned max pools)
            = 1   plaintext–ciphertext linear layers, products of two traced values and
                  products by a non-integer constant         (only with ``count_linear=True``)
            = 0   everything else (additions, reshapes, concatenation, dropout, ...)

and the depth at its output is level(n) = cost(n) + max over its inputs m of level(m), with
level 0 at the inputs and at plaintext constants. Branches that meet (a residual addition, a
concatenation) run in parallel, so the deeper one counts; a chain adds. The network's depth is
the level of the output node; its path is found by walking back from the output, each time to
the input of greatest level.

Linear layers (``count_linear=True``): ``Conv*``, ``ConvTranspose*``, ``Linear``,
``Bilinear``, average pooling (a product by the constant 1/k²) and ``BatchNorm*`` cost one level
each, except a BatchNorm whose only input is a Conv/Linear used by nothing else: deployment
folds it into that layer (W' = W·γ/σ), so it costs 0. Leaf modules of other types that are not
free (``LayerNorm``, ``Softmax``, an unplanned ``MaxPool2d`` …) cost 0 here and are listed in
``NetworkDepth.unaccounted``: HE cannot evaluate them as they are.

A model ``torch.fx`` cannot trace (data-dependent control flow) gets the *chain bound*
instead: every site and linear layer in the order a dry run calls them, as if in series. That
is an upper bound of the true depth (a path never visits more nodes than all of them), and
``NetworkDepth.traced`` is False.
"""
from __future__ import annotations

import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from ...errors import InputError

#: Module types of plaintext–ciphertext linear layers (one level each with count_linear).
LINEAR_MODULES: tuple[type, ...] = (
    nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear,
    nn.Bilinear, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
    nn.AdaptiveAvgPool3d,
)
BATCHNORM_MODULES: tuple[type, ...] = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
#: Leaf modules that compute nothing (or only move data): free in HE.
FREE_MODULES: tuple[type, ...] = (nn.Identity, nn.Flatten, nn.Unflatten, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
                                  nn.Dropout3d, nn.AlphaDropout, nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d,
                                  nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d, nn.PixelShuffle,
                                  nn.PixelUnshuffle, nn.ChannelShuffle)
LINEAR_FUNCTIONS = frozenset({F.linear, F.bilinear, F.conv1d, F.conv2d, F.conv3d, F.conv_transpose1d,
                              F.conv_transpose2d, F.conv_transpose3d, torch.matmul, torch.mm, torch.bmm,
                              operator.matmul, F.avg_pool1d, F.avg_pool2d, F.avg_pool3d, F.adaptive_avg_pool1d,
                              F.adaptive_avg_pool2d, F.adaptive_avg_pool3d, F.batch_norm})
LINEAR_METHODS = frozenset({"matmul", "mm", "bmm"})
PRODUCT_FUNCTIONS = frozenset({operator.mul, torch.mul, operator.imul})
DIVISION_FUNCTIONS = frozenset({operator.truediv, torch.div, torch.true_divide, operator.itruediv})

KINDS = ("input", "site", "linear", "folded", "product", "free", "unaccounted", "output")


@dataclass(frozen=True)
class GraphNode:
    """One node of the depth graph: ``cost`` levels (sites: from the assignment), its inputs."""

    name: str
    label: str
    kind: str
    cost: int
    inputs: tuple[int, ...]
    site: str | None = None


@dataclass(frozen=True)
class PathStep:
    """A node on the deepest path that costs levels: its label, kind, site, levels, depth after it."""

    node: str
    label: str
    kind: str
    levels: int
    depth: int
    site: str | None = None

    def to_dict(self) -> dict:
        return {"node": self.node, "label": self.label, "kind": self.kind, "levels": self.levels,
                "depth": self.depth, "site": self.site}


@dataclass
class NetworkDepth:
    """Depth of a network: ``total`` levels along ``path`` (costly nodes only, input to output)."""

    total: int
    path: list[PathStep]
    count_linear: bool
    traced: bool = True
    unplanned: list[str] = field(default_factory=list)
    unaccounted: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def activation_levels(self) -> int:
        """Levels of the activation sites on the path (the rest are linear layers and products)."""
        return sum(s.levels for s in self.path if s.kind == "site")

    def describe(self) -> str:
        what = "whole network (activations + linear layers)" if self.count_linear else "activations only"
        lines = [f"network depth {self.total} levels ({what}; {'traced with torch.fx' if self.traced else 'chain bound'})"]
        for s in self.path:
            lines.append(f"  {s.depth:>4}  +{s.levels:<3} {s.kind:<8} {s.label}")
        if self.unplanned:
            lines.append(f"  unplanned activation sites (counted 0 levels): {', '.join(self.unplanned)}")
        if self.unaccounted:
            lines.append(f"  modules HE cannot evaluate as they are (counted 0): {', '.join(self.unaccounted)}")
        if self.note:
            lines.append(f"  note: {self.note}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"total": self.total, "count_linear": self.count_linear, "traced": self.traced,
                "path": [s.to_dict() for s in self.path], "unplanned": list(self.unplanned),
                "unaccounted": list(self.unaccounted), "note": self.note}


class DepthGraph:
    """The costed data-flow graph of a model; :meth:`depth` evaluates it for any site levels.

    ``nodes`` are in topological order (node 0 is the virtual source feeding every input, the
    last node is the output); ``sites`` lists the planned site names in first-call order.
    """

    def __init__(self, nodes: list[GraphNode], sites: list[str], count_linear: bool, traced: bool,
                 unplanned: list[str], unaccounted: list[str], note: str = ""):
        self.nodes = nodes
        self.sites = sites
        self.count_linear = count_linear
        self.traced = traced
        self.unplanned = unplanned
        self.unaccounted = unaccounted
        self.note = note

    def costs(self, site_levels: Mapping[str, int]) -> list[int]:
        missing = [s for s in self.sites if s not in site_levels]
        if missing:
            raise InputError(f"no levels given for site(s) {', '.join(missing)}; sites: {', '.join(self.sites)}")
        return [site_levels[n.site] if n.kind == "site" else n.cost for n in self.nodes]

    def levels(self, site_levels: Mapping[str, int]) -> list[int]:
        """level(n) for every node: cost(n) + max level of its inputs."""
        costs = self.costs(site_levels)
        level = [0] * len(self.nodes)
        for i, node in enumerate(self.nodes):
            level[i] = costs[i] + max((level[j] for j in node.inputs), default=0)
        return level

    def total(self, site_levels: Mapping[str, int]) -> int:
        return self.levels(site_levels)[-1]

    def depth(self, site_levels: Mapping[str, int]) -> NetworkDepth:
        """Total depth and the deepest path for ``site_levels`` ({site name: levels})."""
        costs = self.costs(site_levels)
        level = self.levels(site_levels)
        steps, i = [], len(self.nodes) - 1
        while True:
            node = self.nodes[i]
            if costs[i]:
                steps.append(PathStep(node.name, node.label, node.kind, costs[i], level[i], node.site))
            if not node.inputs:
                break
            i = max(node.inputs, key=lambda j: (level[j], -j))  # deepest input; the earliest on ties
        steps.reverse()
        return NetworkDepth(level[-1], steps, self.count_linear, self.traced, list(self.unplanned),
                            list(self.unaccounted), self.note)


# -- building the graph ----------------------------------------------------------------------------------
def _is_integer_constant(value) -> bool | None:
    """True for a Python/numpy number that is an integer (a free product in CKKS), False for
    another number, None for something that is not a plain number."""
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return float(value).is_integer() if math.isfinite(value) else False
    return None


def _function_cost(node, traced_args: list, count_linear: bool) -> tuple[str, int]:
    """(kind, levels) of a call_function / call_method node."""
    target = node.target
    is_method = node.op == "call_method"
    if (not is_method and target in LINEAR_FUNCTIONS) or (is_method and target in LINEAR_METHODS):
        return ("linear", 1) if count_linear else ("free", 0)
    product = (not is_method and target in PRODUCT_FUNCTIONS) or (is_method and target in ("mul", "mul_"))
    division = (not is_method and target in DIVISION_FUNCTIONS) or (is_method and target in ("div", "div_", "true_divide"))
    if product or division:
        if not count_linear:
            return "free", 0
        others = [a for a in node.args if not isinstance(a, torch.fx.Node)]
        if len(traced_args) >= 2 and not division:
            return "product", 1                        # ciphertext × ciphertext
        constant = others[0] if others else None
        if division and constant is not None and _is_integer_constant(constant) is not None:
            constant = 1.0 / constant if constant else math.inf
        integral = _is_integer_constant(constant) if constant is not None else None
        return ("free", 0) if integral else ("product", 1)  # an integer factor is free; any other costs a level
    return "free", 0


def _label(node, modules) -> str:
    if node.op == "call_module":
        return f"{node.target} ({type(modules[node.target]).__name__})"
    if node.op in ("call_function", "call_method"):
        name = getattr(node.target, "__name__", str(node.target))
        return f"{node.name} ({name})"
    return node.name


class _Tracer(torch.fx.Tracer):
    def __init__(self, leaf_types):
        super().__init__()
        self.leaf_types = leaf_types

    def is_leaf_module(self, m, qualname):
        return isinstance(m, self.leaf_types) or super().is_leaf_module(m, qualname)


def build_graph(model: nn.Module, site_modules: Mapping[str, nn.Module], *, count_linear: bool = False,
                kinds: tuple[type, ...] | None = None, example_inputs=None) -> DepthGraph:
    """The depth graph of ``model`` with ``site_modules`` ({site name: module}) as planned sites.

    Other modules of ``kinds`` (activations, default :func:`polyfit.torch.surgery.default_kinds`)
    are *unplanned* sites: counted 0 and listed. Falls back to the chain bound (needs
    ``example_inputs``) when torch.fx cannot trace the model.
    """
    from ..surgery import default_kinds

    kinds = tuple(kinds) if kinds is not None else default_kinds()
    by_id = {id(m): name for name, m in site_modules.items()}
    leaf_types = kinds + tuple({type(m) for m in site_modules.values()})
    try:
        graph = _Tracer(leaf_types).trace(model)
    except Exception as exc:  # symbolic tracing fails on data-dependent control flow
        if example_inputs is None:
            raise InputError(f"torch.fx could not trace the model ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                             "pass example_inputs for the chain bound") from None
        return chain_graph(model, site_modules, example_inputs, count_linear=count_linear, kinds=kinds,
                           reason=f"torch.fx could not trace the model ({type(exc).__name__})")
    modules = dict(model.named_modules(remove_duplicate=False))
    fx_nodes = list(graph.nodes)
    index = {n: i for i, n in enumerate(fx_nodes)}
    # Keep nodes that depend on an input and reach the output (the rest are plaintext constants or dead code).
    from_input = set()
    for n in fx_nodes:
        if n.op == "placeholder" or any(a in from_input for a in n.all_input_nodes):
            from_input.add(n)
    output = next(n for n in fx_nodes if n.op == "output")
    to_output, stack = {output}, [output]
    while stack:
        for a in stack.pop().all_input_nodes:
            if a not in to_output:
                to_output.add(a)
                stack.append(a)
    kept = [n for n in fx_nodes if n in from_input and n in to_output]
    nodes = [GraphNode("<source>", "<source>", "input", 0, ())]
    position = {}
    seen_sites, unplanned, unaccounted = [], [], []
    for n in kept:
        traced_args = [a for a in n.all_input_nodes if a in position]
        inputs = tuple(position[a] for a in traced_args) or (0,)
        kind, cost, site = "free", 0, None
        if n.op == "placeholder":
            kind, inputs = "input", (0,)
        elif n.op == "output":
            kind = "output"
        elif n.op == "call_module":
            module = modules[n.target]
            site = by_id.get(id(module))
            if site is not None:
                kind = "site"
                if site not in seen_sites:
                    seen_sites.append(site)
            elif isinstance(module, kinds) or isinstance(module, nn.MaxPool2d):
                if n.target not in unplanned:
                    unplanned.append(n.target)
            elif isinstance(module, BATCHNORM_MODULES):
                source = fx_nodes[index[traced_args[0]]] if len(traced_args) == 1 else None
                foldable = (source is not None and source.op == "call_module"
                            and isinstance(modules[source.target], (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))
                            and len(source.users) == 1)
                kind, cost = ("folded", 0) if foldable else ("linear", 1 if count_linear else 0)
            elif isinstance(module, LINEAR_MODULES):
                kind, cost = "linear", 1 if count_linear else 0
            elif not isinstance(module, FREE_MODULES):
                kind = "unaccounted"
                if n.target not in unaccounted:
                    unaccounted.append(n.target)
        else:
            kind, cost = _function_cost(n, traced_args, count_linear)
        position[n] = len(nodes)
        nodes.append(GraphNode(n.name, _label(n, modules), kind, cost, inputs, site))
    missing = [name for name in site_modules if name not in seen_sites]
    if missing:
        raise InputError(f"site(s) {', '.join(missing)} are not called on the traced path from the inputs to the output")
    ordered = [s for s in site_modules if s in seen_sites]
    return DepthGraph(nodes, sorted(ordered, key=seen_sites.index), count_linear, True, unplanned, unaccounted)


def chain_graph(model: nn.Module, site_modules: Mapping[str, nn.Module], example_inputs, *,
                count_linear: bool = False, kinds=None, reason: str = "") -> DepthGraph:
    """The chain bound: sites and linear layers in dry-run call order, all in series."""
    from ..surgery import HookSet, default_kinds, dry_run

    kinds = tuple(kinds) if kinds is not None else default_kinds()
    by_id = {id(m): name for name, m in site_modules.items()}
    calls: list[tuple[str, nn.Module]] = []
    with HookSet() as hooks:
        for name, module in model.named_modules():
            leaf = not any(True for _ in module.children())
            if name and (id(module) in by_id or (leaf and isinstance(module, LINEAR_MODULES + BATCHNORM_MODULES + kinds))):
                hooks.add(module.register_forward_pre_hook(lambda m, a, _n=name: calls.append((_n, m))))
        dry_run(model, example_inputs)
    nodes = [GraphNode("<source>", "<source>", "input", 0, ())]
    seen, unplanned = [], []
    for name, module in calls:
        site = by_id.get(id(module))
        if site is not None:
            node = GraphNode(name, f"{name} ({type(module).__name__})", "site", 0, (len(nodes) - 1,), site)
            if site not in seen:
                seen.append(site)
        elif isinstance(module, kinds):
            if name not in unplanned:
                unplanned.append(name)
            continue
        else:
            if not count_linear:
                continue
            node = GraphNode(name, f"{name} ({type(module).__name__})", "linear", 1, (len(nodes) - 1,))
        nodes.append(node)
    nodes.append(GraphNode("<output>", "<output>", "output", 0, (len(nodes) - 1,)))
    missing = [name for name in site_modules if name not in seen]
    if missing:
        raise InputError(f"site(s) {', '.join(missing)} were not called in the dry run")
    note = (f"{reason + '; ' if reason else ''}depth counted as if every site ran in series "
            "(an upper bound of the deepest path)")
    return DepthGraph(nodes, seen, count_linear, False, unplanned, [], note)


def approximation_levels(module: nn.Module) -> int | None:
    """CKKS levels of a polyfit replacement module, from its artifact's depth report:
    PolyActivation: ``ckks_levels``; SignMaxPool2d: ⌈log2 k²⌉ tournament rounds × its
    comparator's levels (None for other modules)."""
    from ..activations import PolyActivation

    if isinstance(module, PolyActivation):
        return int(module.approximation.depth["ckks_levels"])
    comparator = getattr(module, "comparator", None)
    if isinstance(comparator, PolyActivation) and hasattr(module, "kernel_size"):
        kh, kw = module.kernel_size
        return tournament_rounds(kh * kw) * int(comparator.approximation.depth["ckks_levels"])
    return None


def tournament_rounds(window: int) -> int:
    """⌈log2 k⌉: pairwise-max rounds over a window of k values (an odd one passes a round)."""
    return max(0, math.ceil(math.log2(window))) if window > 1 else 0


def network_depth(model: nn.Module, site_levels: Mapping | None = None, *, count_linear: bool = False,
                  example_inputs=None, kinds=None) -> NetworkDepth:
    """Depth of ``model`` along its deepest path (see the module docstring for the rules).

    Args:
        model: the network.
        site_levels: ``{site name: levels}`` or ``{site name: Approximation}`` (its
            ``depth["ckks_levels"]``); default: every polyfit replacement module already in the
            model (PolyActivation, SignMaxPool2d) with its artifact's levels.
        count_linear: add one level per plaintext–ciphertext linear layer and product
            (the whole-network count); default: activations only.
        example_inputs: used only when torch.fx cannot trace the model (the chain bound).
        kinds: activation module types (default: torch's and polyfit's).

    >>> import polyfit as pf, polyfit.torch as pft
    >>> from torch import nn
    >>> relu7 = pf.fit("relu", 7, 4)
    >>> net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.ReLU())
    >>> network_depth(net, {"1": relu7, "3": 2}).total
    5
    """
    if site_levels is None:
        site_levels = {name: lv for name, m in model.named_modules()
                       if name and (lv := approximation_levels(m)) is not None}
        site_levels = {n: lv for n, lv in site_levels.items() if not any(n.startswith(o + ".") for o in site_levels)}
        if not site_levels:
            raise InputError("the model has no polyfit replacement modules; pass site_levels={site name: levels}")
    levels = {}
    for name, value in dict(site_levels).items():
        levels[name] = _levels_of(name, value)
    modules = dict(model.named_modules())
    missing = [n for n in levels if n not in modules]
    if missing:
        raise InputError(f"site(s) {', '.join(missing)} are not submodules of the model")
    graph = build_graph(model, {n: modules[n] for n in levels}, count_linear=count_linear, kinds=kinds,
                        example_inputs=example_inputs)
    return graph.depth(levels)


def _levels_of(name, value) -> int:
    depth = getattr(value, "depth", None)
    if isinstance(depth, Mapping):
        value = depth.get("ckks_levels")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"site {name!r}: levels must be an integer >= 0 or an Approximation, got {value!r}")
    return value
