"""plan_network / NetworkPlanner / NetworkPlan on a tiny residual MLP (agreement with the exact model)."""
import json
import math

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import polyfit as pf  # noqa: E402
import polyfit.torch as pft  # noqa: E402
from polyfit.errors import ArtifactError, InputError  # noqa: E402
from polyfit.torch.planning import parse_spec  # noqa: E402

SPECS = ["fit:1", "fit:2", "fit:3", "fit:7", "fit:3:samples"]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc1, self.act1 = nn.Linear(4, 16), nn.ReLU()
        self.fc2, self.act2 = nn.Linear(16, 16), nn.ReLU()
        self.act3, self.head = nn.ReLU(), nn.Linear(16, 3)

    def forward(self, x):
        h = self.act1(self.fc1(x))
        return self.head(self.act3(h + self.act2(self.fc2(h))))


def agreement_with(model, x):
    with torch.no_grad():
        labels = model(x).argmax(1)

    def evaluate(net):
        with torch.no_grad():
            return float((net(x).argmax(1) == labels).double().mean())

    return evaluate


@pytest.fixture(scope="module")
def setup():
    model = Net().eval()
    x = torch.randn(256, 4, generator=torch.Generator().manual_seed(1))
    evaluate = agreement_with(model, x)
    planner = pft.NetworkPlanner(model, [(x[:128],), (x[128:],)], evaluate=evaluate, candidates=SPECS, progress=False)
    return model, x, evaluate, planner


@pytest.fixture(scope="module")
def budget_plan(setup):
    return setup[3].plan(depth_budget=6, max_evaluations=12, sweep=3)


def test_the_plan_respects_the_depth_budget_and_its_depth_is_the_applied_models(setup, budget_plan):
    model = setup[0]
    assert budget_plan.total_depth <= 6
    net, _ = budget_plan.apply(model)
    assert pft.network_depth(net).total == budget_plan.total_depth


def test_the_plans_metric_is_evaluate_of_the_applied_model(setup, budget_plan):
    model, _, evaluate, _ = setup
    assert evaluate(budget_plan.apply(model)[0]) == budget_plan.metric


def test_every_explored_plan_within_the_budget_measures_no_more_than_the_plan(budget_plan):
    within = [e["metric"] for e in budget_plan.explored if e["total_depth"] <= 6 and e["metric"] is not None]
    assert max(within) == budget_plan.metric


def test_a_metric_target_plan_reaches_it_no_deeper_than_any_explored_plan_that_does(setup):
    plan = setup[3].plan(metric_target=0.9, max_evaluations=12)
    assert plan.metric >= 0.9
    reaching = [e["total_depth"] for e in plan.explored if e["metric"] is not None and e["metric"] >= 0.9]
    assert plan.total_depth == min(reaching)


def test_plan_network_is_the_planner_in_one_call(setup):
    model, x, evaluate, planner = setup
    plan = pft.plan_network(model, [(x,)], evaluate=evaluate, depth_budget=4, candidates=["fit:1", "fit:3"],
                            max_evaluations=3, sweep=1, progress=False)
    assert plan.total_depth <= 4 and {s.candidate for s in plan.sites} <= {"fit:1", "fit:3"}
    assert plan.search["sensitivity"] == "metric" and plan.search["allocation"].startswith("exact")


def test_each_site_records_its_range_distribution_levels_and_sensitivity(setup, budget_plan):
    model, x, evaluate, planner = setup
    profile = planner.profile
    for s in budget_plan.sites:
        assert s.range == (profile[s.name].minimum, profile[s.name].maximum)
        assert s.levels == s.approximation.depth["ckks_levels"]
        alone, _ = pft.replace_activations(model, lambda site: pft.PolyActivation(s.approximation),
                                           sites=[f for f in planner.found if f.name == s.name])
        assert s.sensitivity == evaluate(alone.eval())
        assert set(s.distribution) >= {"mean", "std", "quantiles", "histogram"}
        assert [c["label"] for c in s.candidates] == SPECS


def test_the_uniform_baseline_puts_one_spec_at_every_site(setup):
    planner = setup[3]
    rows = {r["candidate"]: r for r in planner.uniform(["fit:3", "fit:7"])}
    # all three sites lie on one path (the skip bypasses none of them): 3 × levels
    assert rows["fit:3"]["total_depth"] == 3 * pf.fit("relu", 3, 1).depth["ckks_levels"]
    assert rows["fit:7"]["total_depth"] == 9


def test_the_pareto_table_lists_non_dominated_plans_and_marks_the_plan(budget_plan):
    front = budget_plan.pareto()
    depths, metrics = [e["total_depth"] for e in front], [e["metric"] for e in front]
    assert depths == sorted(set(depths)) and metrics == sorted(set(metrics))
    assert "<- plan" in budget_plan.pareto_table()


def test_the_plot_is_written_as_png(budget_plan, tmp_path):
    path = budget_plan.plot(tmp_path / "pareto.png", baselines={"uniform": [(3, 0.5), (6, 0.9)]})
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_save_and_load_round_trip_to_the_same_network(setup, budget_plan, tmp_path):
    model, x = setup[0], setup[1]
    path = budget_plan.save(tmp_path / "plan.json")
    loaded = pft.load_plan(path)
    assert [(s.name, s.candidate, s.levels, s.range) for s in loaded.sites] == \
        [(s.name, s.candidate, s.levels, s.range) for s in budget_plan.sites]
    assert loaded.total_depth == budget_plan.total_depth and loaded.metric == budget_plan.metric
    assert loaded.pareto() == budget_plan.pareto()
    with torch.no_grad():
        assert torch.equal(loaded.apply(model)[0](x), budget_plan.apply(model)[0](x))


def tamper(path, edit):
    data = json.loads(open(path).read())
    edit(data)
    open(path, "w").write(json.dumps(data))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["sites"][0].update(levels=d["sites"][0]["levels"] + 1), "levels is"),
    (lambda d: d["sites"][0]["artifact"]["stages"][0]["coefficients"].__setitem__(0, 9.0), "does not match its own reports"),
    (lambda d: d.update(total_depth=d["total_depth"] - 1), "does not match the depth path"),
    (lambda d: d["sites"].append(dict(d["sites"][0])), "appears twice"),
    (lambda d: d.update(schema_version="2.0"), "network plans 1.x"),
    (lambda d: d["sites"][0].update(range=[1.0, "x"]), "range"),
    (lambda d: d.update(depth_budget=d["total_depth"] - 1), "exceeds the plan's depth_budget"),
    (lambda d: d.update(metric=d["metric"] - 0.5), "is not among the"),
], ids=["levels", "coefficients", "total", "duplicate", "version", "range", "budget", "metric"])
def test_a_tampered_plan_file_is_refused(budget_plan, tmp_path, edit, message):
    path = tamper(budget_plan.save(tmp_path / "plan.json"), edit)
    with pytest.raises(ArtifactError, match=message):
        pft.load_plan(path)


@pytest.mark.parametrize("edit", [
    lambda d: d["sites"][0]["artifact"].update(input_scale=1e308),
    lambda d: d["sites"][0]["artifact"]["precision"].update(input_bound=1e308),
], ids=["input_scale", "input_bound"])
def test_a_plan_whose_artifact_the_recheck_cannot_evaluate_is_refused_in_one_line(budget_plan, tmp_path, edit):
    path = tamper(budget_plan.save(tmp_path / "plan.json"), edit)
    with pytest.raises(ArtifactError, match=r"sites\[0\]\.artifact"):
        pft.load_plan(path)


def test_levels_are_checked_against_the_stages_when_the_artifact_has_no_depth_section(budget_plan, tmp_path):
    def edit(d):
        d["sites"][0]["artifact"]["depth"] = None
        d["sites"][0]["levels"] += 1
    with pytest.raises(ArtifactError, match="levels is"):
        pft.load_plan(tamper(budget_plan.save(tmp_path / "plan.json"), edit))


def test_a_file_that_is_not_a_plan_is_refused(tmp_path):
    path = tmp_path / "other.json"
    pf.fit("relu", 2, 1).save(path)
    with pytest.raises(ArtifactError, match="not a polyfit network plan"):
        pft.load_plan(path)


def test_apply_refuses_a_model_without_the_sites_or_with_other_types(budget_plan):
    with pytest.raises(InputError, match="no submodule"):
        budget_plan.apply(nn.Sequential(nn.Linear(4, 3)))
    other = Net()
    other.act1 = nn.Tanh()
    with pytest.raises(InputError, match="Tanh in the model, ReLU in the plan"):
        budget_plan.apply(other)


def test_a_plan_is_fine_tuned_by_progressive_replacement(setup, budget_plan):
    import copy

    from polyfit.torch.recipes import progressive_replacement

    model, x = setup[0], setup[1]
    tuned = copy.deepcopy(model)
    seen = []

    def fine_tune(net, site, parameters):
        opt = torch.optim.SGD(parameters, lr=1e-3)
        loss = net(x).pow(2).mean()
        loss.backward()
        opt.step()
        seen.append(site)

    progressive_replacement(tuned, budget_plan.factory(trainable=True), fine_tune, x[:4])
    assert seen == [s.name for s in budget_plan.sites]
    assert pft.network_depth(tuned).total == budget_plan.total_depth
    assert all(isinstance(tuned.get_submodule(s.name), pft.PolyActivation) for s in budget_plan.sites)


def test_the_proxy_sensitivity_is_validated_against_measured_pairs(setup):
    model, x, evaluate, _ = setup
    planner = pft.NetworkPlanner(model, [(x,)], evaluate=evaluate, candidates=SPECS, sensitivity="proxy", progress=False)
    plan = planner.plan(depth_budget=6, max_evaluations=2, sweep=1)
    validation = plan.search["proxy_validation"]
    assert validation["pairs"] == 3 and plan.search["phases_total"]["sensitivity"] == 3 * 2 + 3
    assert plan.total_depth <= 6


def test_the_progress_line_goes_to_stderr(setup, capsys):
    model, x, evaluate, _ = setup
    pft.plan_network(model, [(x,)], evaluate=evaluate, depth_budget=3, candidates=["fit:1"], max_evaluations=0,
                     sweep=1, progress=True)
    assert "plan [sensitivity]" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, message", [
    ({}, "exactly one of depth_budget"),
    ({"depth_budget": 4, "metric_target": 0.5}, "exactly one of depth_budget"),
    ({"depth_budget": 2}, "below the least depth of any plan: 3 levels"),
    ({"depth_budget": 4.5}, "depth_budget must be an integer"),
    ({"metric_target": math.nan}, "metric_target must be a finite number"),
])
def test_bad_goals_are_refused_in_one_line(setup, kwargs, message):
    with pytest.raises(InputError, match=message):
        setup[3].plan(**kwargs)


@pytest.mark.parametrize("spec", ["fit:x", "fit:0", "composite:4,4", "poly:3", "fit:3:weights", 7])
def test_bad_candidate_specs_are_refused(spec):
    with pytest.raises(InputError, match="candidate"):
        parse_spec(spec)


def test_functional_activations_are_refused_naming_the_call():
    class Functional(nn.Module):
        def forward(self, x):
            return torch.relu(x)

    with pytest.raises(InputError, match="functional activation"):
        pft.plan_network(Functional(), [(torch.ones(2, 2),)], evaluate=lambda n: 1.0, depth_budget=3)


def test_a_max_pool_site_gets_a_composite_comparator_with_its_tournament_depth():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 3)).eval()
    x = torch.randn(32, 1, 4, 4, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        exact = model(x)

    def closeness(net):
        with torch.no_grad():
            return -float((net(x) - exact).abs().max())

    plan = pft.plan_network(model, [(x,)], evaluate=closeness, depth_budget=20,
                            candidates=["composite:3,3"], max_evaluations=0, sweep=1, margin=1.5, progress=False)
    site = plan.sites[0]
    assert site.kind == "max_pool" and site.rounds == 2
    assert site.levels == 2 * site.approximation.depth["ckks_levels"] == plan.total_depth
    net, _ = plan.apply(model)
    assert type(net[1]).__name__ == "SignMaxPool2d" and pft.network_depth(net).total == plan.total_depth


def test_the_cli_shows_a_saved_plan_and_refuses_a_tampered_one(budget_plan, tmp_path, cli):
    path = budget_plan.save(tmp_path / "plan.json")
    code, out, err = cli("netplan", str(path), "--plot", str(tmp_path / "p.png"))
    assert code == 0 and f"total depth {budget_plan.total_depth} levels" in out and "<- plan" in out
    assert (tmp_path / "p.png").stat().st_size > 1000
    code, out, _ = cli("netplan", str(path), "--json")
    assert code == 0 and json.loads(out)["total_depth"] == budget_plan.total_depth
    code, out, err = cli("netplan", str(path), "--json", "--plot", str(tmp_path / "q.png"))
    assert code == 0 and json.loads(out)["total_depth"] == budget_plan.total_depth and "q.png" in err
    code, out, err = cli("netplan", str(path), "--plot", str(path))  # wrote the PNG over the plan
    assert code == 2 and "is the plan being read" in err and pft.load_plan(path).total_depth == budget_plan.total_depth
    tamper(path, lambda d: d.update(total_depth=d["total_depth"] + 3))
    code, out, err = cli("netplan", str(path))
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "does not match the depth path" in err
