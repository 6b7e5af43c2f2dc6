"""pf.search / polyfit search: space, objectives, optimiser, result I/O, CLI, bad input.

BO runs are kept tiny (a few rounds on 2–4 degrees): bench/bench_search.py measures the
real regret numbers.
"""
from __future__ import annotations

import json
import math
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import polyfit as pf
from polyfit.errors import InputError, MissingExtraError
from polyfit.search_objectives import (CallableObjective, ExpectedError, InputDistribution, parse_objective,
                                       resolve_objective)
from polyfit.solvers.search import (SearchResult, SearchSpace, best_so_far, load_result, pareto_indices,
                                    parse_degrees, search)


# -- search space -------------------------------------------------------------------------------
def test_degrees_parse_ranges_and_lists():
    assert parse_degrees("2-9") == tuple(range(2, 10))
    assert parse_degrees("31,3,15,7") == (3, 7, 15, 31)
    assert parse_degrees(range(2, 4)) == (2, 3)


@pytest.mark.parametrize("bad", ["9-2", "", "a-b", "0-3", [], [2.5]])
def test_bad_degrees_are_input_errors(bad):
    with pytest.raises(InputError):
        parse_degrees(bad)


@pytest.mark.parametrize("bounds", [(5, 1), (2, 2), (0, 10), (-1, 3), (1, float("inf"))])
def test_empty_or_inverted_range_bounds_are_rejected(bounds):
    with pytest.raises(InputError, match="range bounds"):
        SearchSpace((2, 3), bounds)


def test_unit_encoding_round_trips_and_is_log_scale():
    space = SearchSpace((3, 7, 15, 31), (0.5, 50.0), bits=(8, 10), methods=("lstsq", "minimax"))
    assert space.dims == ("degree", "range", "bits", "method")
    point = {"degree": 15, "range": 5.0, "bits": 10, "method": "minimax"}
    u = space.to_unit(point)
    assert u[1] == pytest.approx(0.5)          # 5 is the geometric middle of [0.5, 50]
    back = space.from_unit(u)
    assert back["degree"] == 15 and back["bits"] == 10 and back["method"] == "minimax"
    assert back["range"] == pytest.approx(5.0)


def test_fixed_features_enumerate_every_discrete_combination_exactly():
    space = SearchSpace((2, 3, 4), (1, 10), bits=(8, 10))
    combos = space.fixed_features_list()
    assert len(combos) == 6
    decoded = {(space.from_unit([c[0], 0.5, c[2]])["degree"], space.from_unit([c[0], 0.5, c[2]])["bits"]) for c in combos}
    assert decoded == {(d, b) for d in (2, 3, 4) for b in (8, 10)}


# -- objectives ---------------------------------------------------------------------------------
def test_expected_error_under_uniform_matches_direct_quadrature():
    from scipy.integrate import quad

    approx = pf.fit("relu", 4, 3.0)
    obj = ExpectedError(InputDistribution("uniform", {"lo": -3, "hi": 3}))
    exact = quad(lambda x: (approx(x) - max(x, 0.0)) ** 2, -3, 3, points=[0.0])[0] / 6
    assert obj(approx)["score"] == pytest.approx(exact, rel=1e-5)


def test_expected_error_under_gaussian_weighs_the_tails_outside_the_fit_range():
    from scipy.integrate import quad

    approx = pf.fit("relu", 6, 2.0)   # fit on [-2, 2], scored under N(0, 2^2): tails matter
    obj = parse_objective("gaussian:sigma=2")
    pdf = lambda x: math.exp(-x * x / 8) / math.sqrt(8 * math.pi)  # noqa: E731
    exact = quad(lambda x: (approx(x) - max(x, 0.0)) ** 2 * pdf(x), -20, 20, points=[0.0], limit=200)[0]
    assert obj(approx)["score"] == pytest.approx(exact, rel=1e-4)
    inside = ExpectedError(InputDistribution("uniform", {"lo": -2, "hi": 2}))(approx)["score"]
    assert obj(approx)["score"] > 10 * inside


def test_depth_penalty_adds_lambda_times_levels():
    approx = pf.fit("relu", 7, 4.0)
    plain = parse_objective("uniform:a=4")(approx)
    pen = parse_objective("uniform:a=4,depth_penalty=0.01")(approx)
    assert pen["score"] == pytest.approx(plain["score"] + 0.01 * approx.depth["ckks_levels"])


def test_samples_objective_reads_profiled_activations(tmp_path):
    samples = np.random.default_rng(0).normal(0, 1.5, 500)
    np.save(tmp_path / "acts.npy", samples)
    approx = pf.fit("relu", 4, 4.0)
    score = parse_objective(f"samples:path={tmp_path / 'acts.npy'}")(approx)["score"]
    assert score == pytest.approx(np.mean((approx(samples) - np.maximum(samples, 0)) ** 2))


@pytest.mark.parametrize("spec", ["foo:sigma=1", "gaussian", "gaussian:sigma=-1", "gaussian:sigma=x",
                                  "uniform:lo=3,hi=1", "gaussian:sigma=1,error=max", "samples:path=/nonexistent.npy",
                                  "gaussian:sigma=1,bogus=2", ""])
def test_unknown_or_malformed_objective_specs_are_input_errors(spec):
    with pytest.raises(InputError):
        parse_objective(spec)


def test_callable_objective_direction_and_conflicts():
    obj = resolve_objective(lambda a: 1.0, "maximize")
    assert isinstance(obj, CallableObjective) and obj.direction == "maximize"
    with pytest.raises(InputError, match="conflicts"):
        resolve_objective("gaussian:sigma=1", "maximize")


# -- network objective ----------------------------------------------------------------------------
def _tiny_classifier():
    import torch
    from torch import nn

    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():   # a hand-built net that reads the sign of x0 through the ReLU
        model[0].weight.zero_(); model[0].bias.zero_()
        model[0].weight[0, 0], model[0].weight[1, 0] = 1.0, -1.0
        model[2].weight.zero_(); model[2].bias.zero_()
        model[2].weight[1, 0], model[2].weight[0, 1] = 1.0, 1.0
    return model, [(x[:32], y[:32]), (x[32:], y[32:])]


def test_network_accuracy_replaces_every_relu_without_touching_the_model():
    from torch import nn

    from polyfit.search_objectives import NetworkAccuracy

    model, loader = _tiny_classifier()
    objective = NetworkAccuracy(model, loader)
    out = objective(pf.fit("relu", 8, 4.0))
    assert out["score"] == 1.0 and out["nan_rate"] == 0.0 and out["replaced"] == 1 and out["samples"] == 64
    assert any(isinstance(m, nn.ReLU) for m in model.modules())          # original unchanged
    assert not any(isinstance(m, nn.ReLU) for m in objective.network(pf.fit("relu", 2, 1.0)).modules())


def test_network_accuracy_counts_nan_outputs_as_wrong_and_reports_the_rate():
    import torch

    from polyfit.search_objectives import NetworkAccuracy

    model, loader = _tiny_classifier()
    loader = [(x * 1e30, y) for x, y in loader]        # p(1e30) overflows float32 → inf/NaN logits
    out = NetworkAccuracy(model, loader)(pf.fit("relu", 8, 4.0))
    assert out["nan_rate"] > 0.9 and out["score"] <= 1.0 - out["nan_rate"] + 1e-12
    assert torch.isfinite(torch.tensor(out["score"]))


def test_network_without_relu_modules_is_an_input_error():
    from torch import nn

    from polyfit.search_objectives import NetworkAccuracy

    with pytest.raises(InputError, match="no ReLU"):
        NetworkAccuracy(nn.Sequential(nn.Linear(2, 2)), [])


# -- the search -----------------------------------------------------------------------------------
SMALL = dict(degrees="2-4", range_bounds=(1.0, 20.0), objective="gaussian:sigma=2", progress=False)


def test_search_is_reproducible_for_a_seed_and_records_every_point():
    a = search("relu", budget=6, n_initial=4, refine=0, seed=3, **SMALL)
    b = search("relu", budget=6, n_initial=4, refine=0, seed=3, **SMALL)
    assert [(e.degree, e.range, e.score) for e in a.evaluations] == [(e.degree, e.range, e.score) for e in b.evaluations]
    assert [e.phase for e in a.evaluations] == ["initial"] * 4 + ["bo"] * 2
    assert len(a.iterations) == 2 and all(it["model_fit_s"] > 0 and it["acquisition_s"] > 0 for it in a.iterations)
    e = a.best_evaluation
    assert a.best.degrees == [e.degree] and a.best.domain == (-e.range, e.range)
    assert a.best.provenance["search"]["score"] == e.score
    assert all(e.degree in (2, 3, 4) and 1.0 <= e.range <= 20.0 and e.fit_s > 0 for e in a.evaluations)


def test_search_reaches_the_exhaustive_grid_optimum_within_one_percent():
    # A small version of the bench's criterion (within 1 % in <= 30 evaluations for 4 of 5
    # seeds on degrees 2..9 × [0.5, 50]): degrees 6 and 8, range [4, 16], 12 evaluations,
    # 2 seeds; the optimum comes from a log grid refined per degree by bounded Brent in ln a.
    from scipy.optimize import minimize_scalar

    obj = parse_objective("gaussian:sigma=2,points=2001")
    logs = np.linspace(np.log(4.0), np.log(16.0), 30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optima = []
        for d in (6, 8):
            score = lambda t: obj(pf.fit("relu", d, float(np.exp(t))))["score"]  # noqa: E731
            i = int(np.argmin([score(t) for t in logs]))
            res = minimize_scalar(score, bounds=(logs[max(i - 1, 0)], logs[min(i + 1, 29)]), method="bounded",
                                  options={"xatol": 1e-4})
            optima.append(min(res.fun, score(logs[i])))
        optimum = min(optima)
    regrets = []
    for seed in (0, 1):
        res = search("relu", degrees="6,8", range_bounds=(4.0, 16.0), objective=obj, budget=12, n_initial=4,
                     seed=seed, progress=False)
        assert np.all(np.diff(res.best_so_far()) <= 0)
        regrets.append(res.best_score / optimum - 1)
    assert min(regrets) <= 0.01 and max(regrets) <= 0.03, regrets


def test_batches_run_on_the_user_executor():
    class CountingExecutor(ThreadPoolExecutor):
        calls = []

        def map(self, fn, *iterables):
            rows = list(zip(*iterables))          # zip stops at the points (the rest repeat)
            self.calls.append(len(rows))
            return super().map(fn, *zip(*rows))

    with CountingExecutor(max_workers=2) as ex:
        res = search("relu", budget=6, n_initial=2, batch_size=2, executor=ex, seed=0, **SMALL)
    assert ex.calls == [2, 2, 2] and len(res.evaluations) == 6
    assert [it["q"] for it in res.iterations] == [2, 2]


def test_pareto_search_returns_a_non_dominated_error_depth_front():
    res = search("relu", degrees="3,7,15", range_bounds=(1.0, 20.0), objective="gaussian:sigma=2", budget=7,
                 n_initial=5, seed=1, pareto=True, progress=False)
    assert res.settings["acquisition_function"] == "qLogNoisyExpectedHypervolumeImprovement"
    front = res.pareto_indices()
    levels = [res.evaluations[i].ckks_levels for i in front]
    scores = [res.evaluations[i].score for i in front]
    assert levels == sorted(levels, reverse=True) and scores == sorted(scores)  # best score first, fewer levels after
    for i in front:   # nothing evaluated is at least as good in both
        e = res.evaluations[i]
        assert not any(o.ok and o.score < e.score and o.ckks_levels <= e.ckks_levels for o in res.evaluations)


def test_pareto_front_helper():
    assert pareto_indices([1.0, 2.0, 0.5, 3.0, float("nan")], [3, 2, 4, 2, 1], "minimize") == [2, 0, 1]
    assert best_so_far([3.0, float("nan"), 1.0, 2.0], "minimize").tolist() == [3.0, 3.0, 1.0, 1.0]


def test_max_depth_removes_deeper_degrees_and_random_strategy_respects_the_space():
    res = search("relu", degrees="2-9", range_bounds=(1, 10), max_depth=3, budget=8, seed=0, strategy="random",
                 objective="uniform:a=4", progress=False, twins=False)
    assert res.space.degrees == (2, 3, 4, 5, 6, 7)
    assert all(e.ckks_levels <= 3 and e.phase == "random" for e in res.evaluations)
    with pytest.raises(InputError, match="max depth"):
        search("relu", degrees="8-9", max_depth=3, budget=8, progress=False)


@pytest.mark.parametrize("kwargs, match", [
    (dict(budget=3, n_initial=5), "budget 3 is less than the 5 initial points"),
    (dict(budget=3), "budget 3 is less than"),
    (dict(range_bounds=(10, 1)), "range bounds"),
    (dict(objective="weibull:k=1"), "unknown kind"),
    (dict(strategy="grid"), "strategy"),
    (dict(fit_options={"degree": 3}), "set by the search"),
    (dict(max_depth="3"), "max depth"),
    (dict(max_depth=0), "max depth"),
])
def test_bad_search_input_is_one_line_input_error(kwargs, match):
    args = {**SMALL, "budget": 8, **kwargs}
    with pytest.raises(InputError, match=match) as info:
        search("relu", **args)
    assert "\n" not in str(info.value)


def test_objective_that_is_nan_everywhere_stops_after_the_initial_points():
    calls = []

    def broken(approx):
        calls.append(approx.degree)
        return float("nan")

    with pytest.raises(InputError, match="failed for all 4 initial points"):
        search("relu", objective=broken, degrees="2-3", budget=20, n_initial=4, progress=False)
    assert len(calls) == 4


def test_partial_nan_points_are_failures_not_crashes():
    # twins=False: this objective reads the nominal degree, which twin skipping assumes it does not
    res = search("relu", objective=lambda a: float("nan") if a.degree == 2 else a.metrics["rms_error"],
                 degrees="2-3", range_bounds=(1, 5), budget=6, n_initial=4, seed=0, progress=False, twins=False)
    assert res.best.degrees == [3] and 0 < res.nan_rate < 1
    assert "counted as failures" in " ".join(res.warnings)


def test_missing_botorch_raises_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "botorch", None)
    with pytest.raises(MissingExtraError, match=r"polyfit-ppml\[search\]"):
        search("relu", budget=8, **SMALL)


# -- result I/O and plots ------------------------------------------------------------------------
def test_history_json_round_trips_with_the_best_artifact(tmp_path):
    res = search("relu", objective=lambda a: float("nan") if a.degree == 4 else a.metrics["rms_error"],
                 strategy="random", budget=6, seed=2, **{k: v for k, v in SMALL.items() if k != "objective"})
    path = res.save(tmp_path / "history.json")
    data = json.loads(open(path).read())
    assert data["schema"] == "polyfit/search-result" and len(data["evaluations"]) == 6
    back = load_result(path)
    assert [e.point for e in back.evaluations] == [e.point for e in res.evaluations]
    np.testing.assert_array_equal(back.scores, res.scores)       # NaN stored as null, read back as NaN
    assert back.best.coefficients == res.best.coefficients and back.best_index == res.best_index
    assert not list(tmp_path.glob(".*.tmp"))


def test_loading_something_else_is_an_artifact_error(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps({"schema": "polyfit/approximation"}))
    with pytest.raises(pf.ArtifactError):
        SearchResult.load(tmp_path / "a.json")


def test_plots_history_surface_and_pareto(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    res = search("relu", strategy="random", budget=6, seed=0, **SMALL)
    fig = res.plot()
    assert [ax.get_title() for ax in fig.axes[::1] if ax.get_title()][:3] == [
        "score per evaluation", "evaluated surface: degree × range", "score vs depth"]
    out = res.save_plot(tmp_path / "s.png")
    assert open(out, "rb").read(4) == b"\x89PNG"


def test_progress_bar_writes_plain_text_to_stderr(capsys):
    search("relu", strategy="random", budget=3, seed=0, **{**SMALL, "progress": True})
    err = capsys.readouterr().err
    assert "search [" in err and "3/3" in err and "best" in err


def test_bits_and_methods_are_searched_as_exact_discrete_dimensions():
    res = search("relu", degrees="2-3", range_bounds=(1, 8), objective="uniform:a=4", bits=(8, 10),
                 methods=("lstsq", "minimax"), budget=6, n_initial=5, seed=0, progress=False)
    assert res.space.dims == ("degree", "range", "bits", "method")
    assert len(res.space.fixed_features_list()) == 8 and len(res.iterations) == 1
    for e in res.evaluations:
        assert e.bits in (8, 10) and e.method in ("lstsq", "minimax")
    best = res.best_evaluation
    assert res.best.stages[0].quantized.frac_bits == best.bits
