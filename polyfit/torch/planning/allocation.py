"""Budgeted allocation: one candidate per site maximising a sum of per-site scores under a
depth budget on the network's deepest path (dynamic programming over the graph).

Scores are additive (a site's score is the metric change when only that site is replaced),
and the constraint is the network depth of :mod:`.graph`: every input-to-output path's
levels must stay within the budget B. When the depth graph is *series–parallel* (chains,
residual blocks, branches that meet again: what networks are made of) the optimum is exact.
The graph is reduced to one expression tree by two rewrites, repeated until one edge is left:

- parallel: two edges between the same pair of nodes become one ``Parallel`` edge;
- series: a node with one edge in and one edge out is removed, its two edges becoming one
  ``Series`` edge.

Each edge e then has a table f_e(b) = the best total score of the sites inside e with the
deepest path through e at most b levels, b = 0 … B (−∞ when impossible):

    leaf (site s):     f(b) = max { score(s, c) : levels(s, c) ≤ b }
    constant (c lv.):  f(b) = 0 if b ≥ c else −∞
    series e1; e2:     f(b) = max_{b1 + b2 = b} f1(b1) + f2(b2)       (depths add)
    parallel e1 ‖ e2:  f(b) = f1(b) + f2(b)                             (both within b)

and the allocation at budget b is read back down the tree (a series edge remembers its best
split). Cost: O(B²) per series rewrite.

A graph that is not series–parallel (a DenseNet-like lattice) falls back to the *chain bound*:
all sites in series under the budget B − L0, with L0 the depth of the rest of the network at
zero site levels. Every path then stays within B (a path costs at most L0 plus the levels of
all sites), so the allocation is feasible but conservative; ``Allocation.exact`` says which.

A module called at several places (k calls) is one site: each call's leaf carries score/k,
and when the calls' best choices differ the site takes the one with the fewest levels (still
feasible: lowering a site's levels never deepens a path).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ...errors import InputError
from .graph import DepthGraph

NEG = -math.inf


@dataclass
class _Leaf:
    site: str
    share: float          # 1/k for a site called k times
    table: np.ndarray | None = None
    choice: np.ndarray | None = None


@dataclass
class _Const:
    levels: int
    table: np.ndarray | None = None


@dataclass
class _Series:
    parts: list
    table: np.ndarray | None = None
    splits: list | None = None


@dataclass
class _Parallel:
    parts: list
    table: np.ndarray | None = None


@dataclass
class Allocation:
    """Per-budget optimum: ``predicted[b]`` (−inf where infeasible) and ``choice(b)``."""

    predicted: np.ndarray
    exact: bool
    offset: int                       # L0 for the chain bound (0 when exact)
    _tree: object
    _options: dict

    @property
    def max_budget(self) -> int:
        return len(self.predicted) - 1

    def feasible_budgets(self) -> list[int]:
        return [b for b in range(len(self.predicted)) if self.predicted[b] > NEG]

    def choice(self, budget: int) -> dict[str, int] | None:
        """{site: candidate index} of the optimum within ``budget`` levels (None: infeasible)."""
        if not 0 <= budget <= self.max_budget or self.predicted[budget] == NEG:
            return None
        picks: dict[str, list[int]] = defaultdict(list)
        _read(self._tree, budget - self.offset, picks)
        levels = self._options
        return {site: min(ks, key=lambda k: (levels[site][k][0], k)) for site, ks in picks.items()}


def allocate(graph: DepthGraph, options: dict[str, list[tuple[int, float]]], max_budget: int) -> Allocation:
    """Optimal allocations for every budget 0 … ``max_budget``.

    Args:
        graph: the network's depth graph.
        options: ``{site: [(levels, score), ...]}`` per candidate (score −inf: never chosen).
        max_budget: the largest budget tabulated.
    """
    if max_budget < 0:
        raise InputError(f"depth budget must be >= 0, got {max_budget}")
    for site in graph.sites:
        if site not in options or not options[site]:
            raise InputError(f"site {site!r} has no candidates")
    calls = defaultdict(int)
    for n in graph.nodes:
        if n.kind == "site":
            calls[n.site] += 1
    tree = _series_parallel(graph, calls) if graph.traced else None
    offset, exact = 0, tree is not None
    if tree is None:
        offset = graph.total({s: 0 for s in graph.sites})
        tree = _Series([_Leaf(s, 1.0) for s in graph.sites])
    size = max_budget - offset + 1
    predicted = np.full(max_budget + 1, NEG)
    if size > 0:
        table = _tabulate(tree, options, size)
        predicted[offset:] = table
    return Allocation(predicted, exact, offset, tree, options)


# -- series–parallel reduction ---------------------------------------------------------------------------
def _series_parallel(graph: DepthGraph, calls):
    """The expression tree of the graph, or None when it is not series–parallel."""
    # Vertices: node i has an entry vertex 2i and an exit vertex 2i + 1; a costly node is an
    # edge between them (a leaf or a constant), a free node joins them by a zero constant.
    edges: dict[int, tuple[int, int, object]] = {}
    counter = 0

    def add(u, v, item):
        nonlocal counter
        edges[counter] = (u, v, item)
        counter += 1

    for i, node in enumerate(graph.nodes):
        if node.kind == "site":
            add(2 * i, 2 * i + 1, _Leaf(node.site, 1.0 / calls[node.site]))
        else:
            add(2 * i, 2 * i + 1, _Const(node.cost))
        for j in node.inputs if i else ():
            add(2 * j + 1, 2 * i, _Const(0))
    source, sink = 0, 2 * (len(graph.nodes) - 1) + 1
    changed = True
    while changed and len(edges) > 1:
        changed = False
        by_pair = defaultdict(list)
        for key, (u, v, _) in edges.items():
            by_pair[(u, v)].append(key)
        for (u, v), keys in by_pair.items():
            if len(keys) > 1:
                parts = [edges.pop(k)[2] for k in keys]
                add(u, v, _Parallel(parts))
                changed = True
        into, out = defaultdict(list), defaultdict(list)
        for key, (u, v, _) in edges.items():
            out[u].append(key)
            into[v].append(key)
        done = set()
        for vertex in list(into):
            if vertex in (source, sink) or len(into[vertex]) != 1 or len(out[vertex]) != 1:
                continue
            a, b = into[vertex][0], out[vertex][0]
            if a in done or b in done or a == b:
                continue
            u, _, first = edges.pop(a)
            _, w, second = edges.pop(b)
            done.update((a, b))
            add(u, w, _series(first, second))
            changed = True
        if changed:
            continue
    if len(edges) == 1:
        u, v, item = next(iter(edges.values()))
        if (u, v) == (source, sink):
            return item
    return None


def _series(a, b):
    """Series of two items; zero constants drop out and series flatten."""
    parts = []
    for item in (a, b):
        if isinstance(item, _Const) and item.levels == 0:
            continue
        parts.extend(item.parts if isinstance(item, _Series) else [item])
    if not parts:
        return _Const(0)
    return parts[0] if len(parts) == 1 else _Series(parts)


# -- tables ----------------------------------------------------------------------------------------------
def _tabulate(item, options, size: int) -> np.ndarray:
    if isinstance(item, _Const):
        table = np.full(size, NEG)
        table[min(item.levels, size):] = 0.0
        item.table = table
    elif isinstance(item, _Leaf):
        table = np.full(size, NEG)
        choice = np.full(size, -1)
        for k, (levels, score) in enumerate(options[item.site]):
            if levels >= size or score == NEG or math.isnan(score):
                continue
            value = score * item.share
            better = table[levels:] < value
            table[levels:] = np.where(better, value, table[levels:])
            choice[levels:] = np.where(better, k, choice[levels:])
        item.table, item.choice = table, choice
    elif isinstance(item, _Parallel):
        item.table = np.sum([_tabulate(p, options, size) for p in item.parts], axis=0)
    else:  # series: fold left to right, remembering the best split of each budget
        tables = [_tabulate(p, options, size) for p in item.parts]
        acc, splits = tables[0], []
        for nxt in tables[1:]:
            new = np.full(size, NEG)
            split = np.zeros(size, dtype=int)
            for b in range(size):
                sums = acc[: b + 1] + nxt[b::-1]
                k = int(np.argmax(sums))
                new[b], split[b] = sums[k], k
            acc = new
            splits.append(split)
        item.table, item.splits = acc, splits
    return item.table


def _read(item, budget: int, picks) -> None:
    """Collect {site: [candidate of each call]} of the optimum of ``item`` within ``budget``."""
    if isinstance(item, _Const):
        return
    if isinstance(item, _Leaf):
        picks[item.site].append(int(item.choice[budget]))
    elif isinstance(item, _Parallel):
        for part in item.parts:
            _read(part, budget, picks)
    else:
        budgets = []
        for split in reversed(item.splits):    # the last fold holds the split of the whole series
            first = int(split[budget])
            budgets.append(budget - first)
            budget = first
        budgets.append(budget)
        for part, b in zip(item.parts, reversed(budgets)):
            _read(part, b, picks)
