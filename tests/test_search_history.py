"""A search history read back is checked for consistency, not only for types: a hand-edited
score, direction, index, degree or best artifact is refused in one ArtifactError line."""
import json

import pytest

pytest.importorskip("botorch")

import polyfit as pf  # noqa: E402
from polyfit.solvers.search import load_result  # noqa: E402


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    res = pf.search("relu", degrees="2-4", range_bounds=(1.0, 20.0), objective="gaussian:sigma=2", progress=False,
                    strategy="random", budget=5, seed=3, twins=False)
    return json.loads(res.to_json())


def edited(history, tmp_path, edit):
    data = json.loads(json.dumps(history))
    edit(data)
    path = tmp_path / "history.json"
    path.write_text(json.dumps(data))
    return path


def other(history):
    """An index that is not the best one."""
    return 1 if history["best_index"] == 0 else 0


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["objective"].update(direction="maximize"), "best_index is"),
    (lambda d: d["objective"].update(direction="sideways"), "objective.direction"),
    (lambda d: d["evaluations"][other(d)].update(score=-1e9), "best_index is"),
    (lambda d: d.update(best_index=other(d)), "best_index is"),
    (lambda d: d["evaluations"][0].update(index=99), r"evaluations\[0\]\.index is 99"),
    (lambda d: d["evaluations"][0].update(degree=40), "not among the space's degrees"),
    (lambda d: d["evaluations"][0].update(method="foo"), "not among the space's"),
    (lambda d: d["evaluations"][0].update(range=1e6), "outside the space's range bounds"),
    (lambda d: d["evaluations"][d["best_index"]].update(range=d["evaluations"][d["best_index"]]["range"] * 0.9),
     "is not the best evaluation's fit"),
    (lambda d: d["iterations"].append({"phase": "bo"}), "BO round without"),
    (lambda d: d["settings"].update(twins_s=None), r"settings\.twins_s"),
], ids=["direction", "direction-bogus", "score", "best_index", "index", "degree", "method", "range", "best",
        "iteration", "twins_s"])
def test_an_inconsistent_history_is_refused(history, tmp_path, edit, message):
    with pytest.raises(pf.ArtifactError, match=message):
        load_result(edited(history, tmp_path, edit))


def test_a_history_with_null_twins_reads_as_no_twins(history, tmp_path):
    back = load_result(edited(history, tmp_path, lambda d: d["space"].update(twins=None)))
    assert back.space.twins == () and back.best_index == history["best_index"]
