"""The mechanisms that land the search on the optimum, on cheap synthetic objectives: the
golden-section refinement finds a cliff, no point is proposed twice, degree twins are
skipped and reported."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

import polyfit as pf
from polyfit.solvers.search import SearchSpace, search
from polyfit.solvers.search.refine import GOLDEN, refinement_points
from polyfit.solvers.search.twins import find_twins, part_degrees, twin_classes
from polyfit.targets import get_target


def cliff(a: float) -> float:
    """1 + (a − 6)/6 for a ≥ 6, a jump to 100 below: the optimum sits on the edge a* = 6."""
    return 1.0 + (a - 6.0) / 6.0 if a >= 6.0 else 100.0


@dataclass
class _Eval:
    point: dict
    score: float
    phase: str = "bo"


def _golden_run(func, space, starts, steps, **kwargs):
    evals = [_Eval({"degree": 4, "range": a, "bits": None, "method": "lstsq"}, func(a)) for a in starts]
    for _ in range(steps):
        new = refinement_points(space, evals, "minimize", **kwargs)
        if not new:
            break
        evals += [_Eval(p, func(p["range"]), "refine") for p in new]
    return evals


# -- refinement ---------------------------------------------------------------------------------
def test_golden_refinement_lands_on_a_cliff_edge():
    space = SearchSpace((4,), (0.5, 50.0))
    evals = _golden_run(cliff, space, [2.0, 9.0, 30.0], 20)
    best = min(evals, key=lambda e: e.score)
    assert 6.0 <= best.point["range"] <= 6.0 * 1.002 and len(evals) <= 23


def test_refinement_never_proposes_a_point_twice_and_stops_when_converged():
    space = SearchSpace((4,), (0.5, 50.0))
    evals = _golden_run(lambda a: (math.log(a) - 1.0) ** 2, space, [1.0, 10.0], 200, xtol=1e-3)
    t = np.sort([math.log(e.point["range"]) for e in evals])
    assert np.min(np.diff(t)) >= GOLDEN * 1e-3 * 0.999
    assert len(evals) < 40 and not refinement_points(space, evals, "minimize", xtol=1e-3)


def test_refinement_moves_to_a_contending_cell_once_the_best_has_converged():
    space = SearchSpace((4, 6), (0.5, 50.0))
    evals = [_Eval({"degree": 6, "range": a, "bits": None, "method": "lstsq"}, cliff(a)) for a in (5.999, 6.0, 6.001)]
    evals.append(_Eval({"degree": 4, "range": 8.0, "bits": None, "method": "lstsq"}, 1.5))
    assert refinement_points(space, evals, "minimize", xtol=1e-2)[0]["degree"] == 4
    assert refinement_points(space, evals, "minimize", xtol=1e-2, cells=1) == []
    evals[-1].score = 50.0    # more than 10 times the best: not a contender
    assert refinement_points(space, evals, "minimize", xtol=1e-2) == []


def test_a_contender_gets_probe_steps_before_the_incumbent_takes_the_rest():
    # Degree 2 leads by a little; degree 4's edge (0.5 at a = 6) is only found by probing it.
    space = SearchSpace((2, 4), (0.5, 50.0))
    scores = {2: cliff, 4: lambda a: cliff(a) - 0.5}
    evals = [_Eval({"degree": d, "range": a, "bits": None, "method": "lstsq"}, scores[d](a))
             for d, a in ((2, 7.66), (4, 0.59), (4, 26.5), (2, 1.67), (4, 10.7))]
    for _ in range(10):
        p = refinement_points(space, evals, "minimize")[0]
        evals.append(_Eval(p, scores[p["degree"]](p["range"]), "refine"))
    best = min(evals, key=lambda e: e.score)
    assert best.point["degree"] == 4 and best.score < 0.6


def test_batch_refinement_splits_the_bracket_into_q_distinct_points():
    space = SearchSpace((4,), (0.5, 50.0))
    evals = [_Eval({"degree": 4, "range": a, "bits": None, "method": "lstsq"}, cliff(a)) for a in (4.0, 7.0, 12.0)]
    points = refinement_points(space, evals, "minimize", q=3)
    ranges = sorted(p["range"] for p in points)
    assert len(ranges) == 3 and 4.0 < ranges[0] < ranges[-1] < 12.0 and len(set(ranges)) == 3


def test_search_refines_onto_a_cliff_optimum():
    # The objective ignores the fit: degree 4 is better, and a = 6 is an edge the GP cannot draw.
    # Degree 2 leads after the global phase here; probing degree 4 finds its edge.
    res = search("relu", degrees="2-4", range_bounds=(0.5, 50.0), budget=24, n_initial=4, refine=16, seed=0,
                 objective=lambda approx: cliff(approx.domain[1]) - 0.5 * (approx.degree == 4), progress=False)
    best = res.best_evaluation
    assert best.degree == 4 and best.score <= (cliff(6.0) - 0.5) * 1.01
    assert {e.phase for e in res.evaluations} >= {"initial", "refine"}


def test_bo_never_proposes_an_evaluated_point_again():
    # A smooth bowl BO converges onto quickly: it must not re-evaluate its incumbent.
    res = search("relu", degrees="2,4", range_bounds=(1.0, 20.0), budget=16, n_initial=4, refine=0, seed=1,
                 objective=lambda approx: (math.log(approx.domain[1]) - 1.5) ** 2 + (approx.degree == 2), progress=False)
    for degree in (2, 4):
        u = np.sort([res.space.to_unit(e.point)[1] for e in res.evaluations if e.degree == degree])
        assert u.size < 2 or np.min(np.diff(u)) >= 1e-3 * 0.999


# -- twins ----------------------------------------------------------------------------------------
def test_parity_is_measured_on_the_target_not_its_name():
    assert part_degrees(pf.expr("x/2 + cos(x)"), 10.0) == (None, 1)
    assert part_degrees(get_target("sigmoid"), 10.0) == (0, None)
    assert part_degrees(get_target("exp"), 10.0) == (None, None)


def test_twin_classes_pair_2k_with_2k_plus_1_when_the_odd_part_is_linear():
    assert twin_classes(range(2, 8), None, 1) == {2: 2, 3: 2, 4: 4, 5: 4, 6: 6, 7: 6}
    assert twin_classes(range(2, 8), -1, None) == {2: 2, 3: 3, 4: 3, 5: 5, 6: 5, 7: 7}


def test_relu_twins_are_confirmed_by_probe_fits():
    found = find_twins(get_target("relu"), tuple(range(2, 10)), (0.5, 50.0), ("lstsq",), {})
    assert found.skipped == ((3, 2), (5, 4), (7, 6), (9, 8)) and "odd part" in found.reason


def test_an_asymmetric_fit_weight_keeps_every_degree():
    weight = lambda x: 1.0 + (x > 0)   # noqa: E731 (the fit is no longer symmetric)
    assert find_twins(get_target("relu"), (2, 3), (0.5, 50.0), ("lstsq",), {"weight": weight}).skipped == ()


def test_search_skips_twins_and_reports_them_in_the_history(tmp_path):
    res = search("silu", degrees="2-5", range_bounds=(1.0, 10.0), objective="uniform:a=4", budget=4,
                 strategy="random", seed=0, progress=False)
    assert res.space.degrees == (2, 4) and res.space.twins == ((3, 2), (5, 4))
    assert all(e.degree in (2, 4) for e in res.evaluations)
    data = json.loads(open(res.save(tmp_path / "h.json"), encoding="utf-8").read())
    assert data["space"]["twins"] == [{"degree": 3, "same_as": 2}, {"degree": 5, "same_as": 4}]
    assert "same fit" in " ".join(data["warnings"]) and "same fit as 2" in res.summary()
    kept = search("silu", degrees="2-5", range_bounds=(1.0, 10.0), objective="uniform:a=4", budget=4,
                  strategy="random", seed=0, progress=False, twins=False)
    assert kept.space.degrees == (2, 3, 4, 5) and kept.space.twins == ()


def test_twins_score_the_same():
    from polyfit.search_objectives import parse_objective

    obj = parse_objective("gaussian:sigma=2")
    assert obj(pf.fit("gelu", 7, 5.0))["score"] == pytest.approx(obj(pf.fit("gelu", 6, 5.0))["score"], rel=1e-9)
