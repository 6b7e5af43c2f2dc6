"""Depth along a network (polyfit.torch.planning.graph) and the budget DP (allocation)."""
import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import polyfit as pf  # noqa: E402
import polyfit.torch as pft  # noqa: E402
from polyfit.errors import InputError  # noqa: E402
from polyfit.torch.planning.allocation import allocate  # noqa: E402
from polyfit.torch.planning.graph import build_graph  # noqa: E402


class Residual(nn.Module):
    """x → fc → act_in → fc → (+ x) → act_out: the skip runs parallel to act_in."""

    def __init__(self):
        super().__init__()
        self.a, self.act_in, self.b, self.act_out = nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU()

    def forward(self, x):
        return self.act_out(x + self.b(self.act_in(self.a(x))))


class TwoBranches(nn.Module):
    """y = left(x) + right(x): two sites in parallel."""

    def __init__(self):
        super().__init__()
        self.left, self.right, self.head = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x):
        return self.head(self.left(x) + self.right(x * 2))


class Bridge(nn.Module):
    """Wheatstone bridge: b depends on x and on a, the output on a and b (not series–parallel)."""

    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x):
        a = self.a(x)
        b = self.b(x + a)
        return self.c(x) + a + b


class Branchy(nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it."""

    def __init__(self):
        super().__init__()
        self.one, self.two = nn.ReLU(), nn.ReLU()

    def forward(self, x):
        h = self.one(x)
        if h.sum() > 0:
            h = h + 1
        return self.two(h)


def sites(model):
    return {n: m for n, m in model.named_modules() if isinstance(m, nn.ReLU)}


def test_a_chain_adds_the_levels_of_its_sites():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2), nn.ReLU())
    depth = pft.network_depth(net, {"1": 3, "3": 2})
    assert depth.total == 5
    assert [(s.site, s.levels, s.depth) for s in depth.path] == [("1", 3, 3), ("3", 2, 5)]


def test_a_residual_skip_runs_in_parallel_and_adds_nothing():
    depth = pft.network_depth(Residual(), {"act_in": 3, "act_out": 2})
    assert depth.total == 5
    assert [s.site for s in depth.path] == ["act_in", "act_out"]


def test_parallel_branches_count_the_deeper_one_and_the_path_follows_it():
    depth = pft.network_depth(TwoBranches(), {"left": 2, "right": 4, "head": 1})
    assert depth.total == 5
    assert [s.site for s in depth.path] == ["right", "head"]


def test_site_levels_may_be_approximations_read_from_their_depth_report():
    relu7 = pf.fit("relu", 7, 4)
    depth = pft.network_depth(TwoBranches(), {"left": relu7, "right": 1, "head": 2})
    assert depth.total == relu7.depth["ckks_levels"] + 2


def test_count_linear_adds_a_level_per_linear_layer_and_folds_batchnorm_into_its_conv():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3))
    assert pft.network_depth(net, {"2": 3}).total == 3
    whole = pft.network_depth(net, {"2": 3}, count_linear=True)
    assert whole.total == 5
    assert [s.kind for s in whole.path] == ["linear", "site", "linear"]


def test_products_cost_a_level_unless_by_an_integer_constant():
    class Products(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            h = self.act(x)
            return (h * h) * 2 + h * 0.5

    depth = pft.network_depth(Products(), {"act": 2}, count_linear=True)
    assert depth.total == 3  # relu 2, h·h 1; ·2 is free; ·0.5 runs in parallel with h·h


def test_modules_he_cannot_evaluate_are_listed_and_other_activations_reported_unplanned():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.LayerNorm(2), nn.Tanh())
    depth = pft.network_depth(net, {"1": 2})
    assert depth.unaccounted == ["2"] and depth.unplanned == ["3"]
    assert "HE cannot evaluate as they are (counted 0): 2" in depth.describe()


def test_an_untraceable_model_gets_the_chain_bound_from_a_dry_run():
    with pytest.raises(InputError, match="could not trace"):
        pft.network_depth(Branchy(), {"one": 2, "two": 3})
    depth = pft.network_depth(Branchy(), {"one": 2, "two": 3}, example_inputs=torch.ones(1, 3))
    assert depth.total == 5 and not depth.traced and "upper bound" in depth.note


def test_default_levels_come_from_the_polyfit_modules_in_the_model():
    approx = pf.fit("relu", 3, 4)
    net, _ = pft.replace_activations(Residual(), lambda site: pft.PolyActivation(approx))
    assert pft.network_depth(net).total == 2 * approx.depth["ckks_levels"]


def test_a_module_called_twice_counts_at_each_call():
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.act, self.fc = nn.ReLU(), nn.Linear(2, 2)

        def forward(self, x):
            return self.act(self.fc(self.act(x)))

    assert pft.network_depth(Twice(), {"act": 3}).total == 6


def test_bad_levels_are_refused_naming_the_site():
    with pytest.raises(InputError, match="site '1'"):
        pft.network_depth(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), {"1": -1})
    with pytest.raises(InputError, match="not submodules"):
        pft.network_depth(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), {"7": 1})


# -- the budget DP ---------------------------------------------------------------------------------------
def brute_force(graph, options, budget):
    best = -np.inf
    names = graph.sites
    for combo in itertools.product(*(range(len(options[n])) for n in names)):
        levels = {n: options[n][k][0] for n, k in zip(names, combo)}
        if graph.total(levels) <= budget:
            best = max(best, sum(options[n][k][1] for n, k in zip(names, combo)))
    return best


def random_options(names, rng):
    return {n: [(int(lv), float(rng.normal())) for lv in rng.choice(np.arange(1, 6), size=3, replace=False)]
            for n in names}


@pytest.mark.parametrize("model", [Residual(), TwoBranches(), nn.Sequential(nn.ReLU(), nn.Tanh(), nn.ReLU())],
                         ids=["residual", "two-branches", "chain"])
def test_the_allocation_is_the_brute_force_optimum_on_series_parallel_graphs(model):
    rng = np.random.default_rng(1)
    found = {n: m for n, m in model.named_modules() if isinstance(m, (nn.ReLU, nn.Tanh))}
    graph = build_graph(model, found)
    for trial in range(3):
        options = random_options(graph.sites, rng)
        alloc = allocate(graph, options, 15)
        assert alloc.exact
        for budget in range(0, 16):
            best = brute_force(graph, options, budget)
            assert alloc.predicted[budget] == pytest.approx(best) if np.isfinite(best) else alloc.predicted[budget] == -np.inf
            choice = alloc.choice(budget)
            if choice is not None:
                assert graph.total({n: options[n][k][0] for n, k in choice.items()}) <= budget


def test_a_graph_that_is_not_series_parallel_gets_a_feasible_conservative_allocation():
    model = Bridge()
    graph = build_graph(model, sites(model))
    options = random_options(graph.sites, np.random.default_rng(2))
    alloc = allocate(graph, options, 15)
    assert not alloc.exact
    for budget in alloc.feasible_budgets():
        choice = alloc.choice(budget)
        assert graph.total({n: options[n][k][0] for n, k in choice.items()}) <= budget
        assert alloc.predicted[budget] <= brute_force(graph, options, budget) + 1e-12
