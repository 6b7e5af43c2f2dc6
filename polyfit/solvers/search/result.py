"""What a search did: :class:`Evaluation` (one point), :class:`SearchResult` (all of them,
the best re-fit, timings) and the history JSON (schema ``polyfit/search-result``)."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...artifact import json_ready
from .space import SearchSpace

SCHEMA = "polyfit/search-result"
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Evaluation:
    """One evaluated point: where (degree, range, bits, method), its score and its cost.

    ``index`` is the 0-based position in the history (``best_index`` counts the same way);
    ``phase`` is ``"initial"`` (Sobol), ``"bo"``, ``"refine"`` or ``"random"``; ``batch`` numbers the
    proposal round; ``info`` holds the objective's extra values (nan_rate, mse, ...) or a
    ``failure`` message; times are seconds.
    """

    index: int
    phase: str
    batch: int
    degree: int
    range: float
    bits: int | None
    method: str
    score: float
    ckks_levels: int | None
    info: dict
    fit_s: float
    objective_s: float

    @property
    def point(self) -> dict:
        return {"degree": self.degree, "range": self.range, "bits": self.bits, "method": self.method}

    @property
    def ok(self) -> bool:
        return math.isfinite(self.score)

    def to_dict(self) -> dict:
        return json_ready(dict(self.__dict__))

    @classmethod
    def from_dict(cls, data: dict) -> "Evaluation":
        score = data.get("score")
        return cls(int(data["index"]), str(data["phase"]), int(data["batch"]), int(data["degree"]),
                   float(data["range"]), data.get("bits"), str(data.get("method", "lstsq")),
                   float("nan") if score is None else float(score), data.get("ckks_levels"),
                   dict(data.get("info") or {}), float(data.get("fit_s", 0.0)), float(data.get("objective_s", 0.0)))


@dataclass(frozen=True)
class SearchResult:
    """Everything a search did: every evaluation, the best Approximation, timings.

    Attributes:
        target: the target's name.
        space: the :class:`SearchSpace`.
        objective: the objective's description (``describe()``), with ``direction``.
        evaluations: every evaluated point, in evaluation order.
        best: the best point re-fitted with :func:`polyfit.fit` (its provenance has a
            ``search`` entry), or None when no point succeeded.
        iterations: per proposal round: ``phase`` (bo or refine), ``q``; BO rounds
            ``model_fit_s``, ``acquisition_s``, ``converged``; refinement rounds ``proposal_s``.
        settings: seed, budget, n_initial, batch_size, strategy, pareto, acquisition options.
        elapsed_s: wall time of the whole search.
    """

    target: str
    space: SearchSpace
    objective: dict
    evaluations: tuple[Evaluation, ...]
    best: Any = None
    iterations: tuple[dict, ...] = ()
    settings: dict = field(default_factory=dict)
    elapsed_s: float = 0.0
    warnings: tuple[str, ...] = ()

    # -- views ----------------------------------------------------------------------------
    @property
    def direction(self) -> str:
        return self.objective.get("direction", "minimize")

    @property
    def scores(self) -> np.ndarray:
        return np.array([e.score for e in self.evaluations], dtype=float)

    @property
    def best_index(self) -> int | None:
        return best_index(self.scores, self.direction)

    @property
    def best_evaluation(self) -> Evaluation | None:
        i = self.best_index
        return None if i is None else self.evaluations[i]

    @property
    def best_score(self) -> float:
        e = self.best_evaluation
        return float("nan") if e is None else e.score

    @property
    def nan_rate(self) -> float:
        """Fraction of evaluations whose score was NaN or ±inf (failed points)."""
        s = self.scores
        return float(np.mean(~np.isfinite(s))) if s.size else 0.0

    def best_so_far(self) -> np.ndarray:
        """Best score after each evaluation (NaN until the first success)."""
        return best_so_far(self.scores, self.direction)

    def regret(self, optimum: float) -> np.ndarray:
        """Relative regret |best_so_far − optimum| / |optimum| after each evaluation."""
        return np.abs(self.best_so_far() - optimum) / abs(optimum)

    def pareto_indices(self) -> list[int]:
        """Indices of evaluations not dominated in (score, ckks_levels), best score first."""
        return pareto_indices(self.scores, [e.ckks_levels for e in self.evaluations], self.direction)

    def overhead_per_iteration(self) -> dict:
        """Median seconds per BO round spent fitting the GP and maximising the acquisition
        (refinement rounds, which fit no model, are counted apart)."""
        bo = [it for it in self.iterations if it.get("phase", "bo") == "bo"]
        refine = sum(it.get("phase") == "refine" for it in self.iterations)
        if not bo:
            return {"model_fit_s": 0.0, "acquisition_s": 0.0, "rounds": 0, "refine_rounds": refine}
        return {"model_fit_s": float(np.median([it["model_fit_s"] for it in bo])),
                "acquisition_s": float(np.median([it["acquisition_s"] for it in bo])), "rounds": len(bo),
                "refine_rounds": refine}

    def timing(self) -> dict:
        """Where the wall time went, in seconds: ``fit`` (pf.fit of every point), ``objective``
        (scoring), ``model_fit`` and ``acquisition`` (all BO rounds), ``refine`` (golden-section
        steps), ``twins`` (probe fits), ``imports`` (torch and BoTorch, when this search was the
        first to load them), ``other`` (the rest: Sobol design, re-fit of the best, worker
        start-up) and ``total``."""
        parts = {"fit": sum(e.fit_s for e in self.evaluations),
                 "objective": sum(e.objective_s for e in self.evaluations),
                 "model_fit": sum(it.get("model_fit_s", 0.0) for it in self.iterations),
                 "acquisition": sum(it.get("acquisition_s", 0.0) for it in self.iterations),
                 "refine": sum(it.get("proposal_s", 0.0) for it in self.iterations),
                 "twins": float(self.settings.get("twins_s", 0.0)),
                 "imports": float(self.settings.get("import_s", 0.0))}
        parts["other"] = max(self.elapsed_s - sum(parts.values()), 0.0)
        parts["total"] = self.elapsed_s
        return {k: float(v) for k, v in parts.items()}

    def __repr__(self) -> str:
        e = self.best_evaluation
        best = (f"best score {e.score:.4g} at degree {e.degree}, range {e.range:.4g}" if e else "no successful point")
        return (f"SearchResult(target={self.target}, evaluations={len(self.evaluations)}, {best}, "
                f"objective={self.objective.get('kind')}, {self.direction})")

    def summary(self) -> str:
        """Readable multi-line summary for the CLI. Evaluations are named by their index in
        the history (0-based, as ``best_index`` and ``evaluations[i]`` of the JSON)."""
        n_refine = sum(e.phase == "refine" for e in self.evaluations)
        lines = [f"search   {self.target}: {len(self.evaluations)} evaluations "
                 f"({self.settings.get('strategy', 'bo')}, {self.settings.get('n_initial')} initial"
                 + (f", {n_refine} refinement" if n_refine else "") + f", seed {self.settings.get('seed')}), "
                 f"{self.elapsed_s:.1f} s"]
        obj = self.objective
        # the objective's own label (ExpectedError), else its description as plain UTF-8 text
        text = obj.get("label") or (f"{obj.get('kind')}: {_plain(obj['distribution'])}" if obj.get("distribution")
                                    else _plain({k: v for k, v in obj.items() if k not in ("direction", "log_scale")}))
        lines.append(f"objective {text} ({self.direction})")
        sp = self.space
        lines.append(f"space    degrees {list(sp.degrees)}, range [{sp.range_bounds[0]:g}, {sp.range_bounds[1]:g}] (log)"
                     + (f", bits {list(sp.bits)}" if len(sp.bits) > 1 or sp.bits[0] is not None else "")
                     + (f", methods {list(sp.methods)}" if len(sp.methods) > 1 else ""))
        if sp.twins:
            lines.append("twins    not evaluated: " + ", ".join(f"{d} (same fit as {k})" for d, k in sp.twins))
        e = self.best_evaluation
        if e is not None:
            lines.append(f"best     score {e.score:.6g} at degree {e.degree}, range {e.range:.6g}"
                         + (f", bits {e.bits}" if e.bits is not None else "") + f", method {e.method}"
                         + f" (evaluation index {e.index} of 0..{len(self.evaluations) - 1}, {e.phase}; "
                         f"CKKS levels {e.ckks_levels})")
        failed = sum(not ev.ok for ev in self.evaluations)
        if failed:
            lines.append(f"failed   {failed} of {len(self.evaluations)} points scored NaN/inf (counted as failures)")
        if any("nan_rate" in ev.info for ev in self.evaluations) and e is not None:
            lines.append(f"nan rate {e.info.get('nan_rate', 0.0):.4f} of samples at the best point")
        o = self.overhead_per_iteration()
        if o["rounds"]:
            lines.append(f"overhead {o['model_fit_s']:.3f} s GP fit + {o['acquisition_s']:.3f} s acquisition per BO round "
                         f"(median of {o['rounds']})")
        t = self.timing()
        lines.append(f"time     {t['total']:.1f} s: fits {t['fit']:.1f}, objective {t['objective']:.1f}, "
                     f"GP fit {t['model_fit']:.1f}, acquisition {t['acquisition']:.1f}, twins {t['twins']:.1f}, "
                     f"imports {t['imports']:.1f}, other {t['other']:.1f}")
        if self.settings.get("pareto"):
            front = ", ".join(f"L{self.evaluations[i].ckks_levels}: {self.evaluations[i].score:.3g} (d={self.evaluations[i].degree})"
                              for i in self.pareto_indices())
            lines.append(f"pareto   {front}")
        for note in self.warnings:
            lines.append(f"warning  {note}")
        return "\n".join(lines)

    # -- I/O ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        from ..._version import __version__

        return json_ready({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "polyfit_version": __version__,
            "target": self.target, "space": self.space.describe(), "objective": self.objective,
            "settings": self.settings, "elapsed_s": self.elapsed_s, "warnings": list(self.warnings),
            "best_index": self.best_index, "pareto_indices": self.pareto_indices(),
            "evaluations": [e.to_dict() for e in self.evaluations],
            "iterations": list(self.iterations),
            "best": self.best.to_dict() if self.best is not None else None,
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False, ensure_ascii=False) + "\n"

    def save(self, path) -> str:
        """Write the history JSON atomically (temp file + rename); returns the path."""
        from ...atomic import atomic_write_text

        return atomic_write_text(path, self.to_json())

    @classmethod
    def from_dict(cls, data) -> "SearchResult":
        """Validate a history dict (every section's types: :func:`history_shape`) and build it."""
        from ...artifact import from_dict as approximation_from_dict
        from ...errors import ArtifactError, InputError

        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ArtifactError(f"not a search history: schema must be {SCHEMA!r}")
        history_shape()(data, "")
        try:
            best = approximation_from_dict(data["best"]) if data.get("best") else None
        except ArtifactError as exc:
            raise ArtifactError(f"best: {exc}") from None
        try:
            result = cls(data["target"], SearchSpace.from_dict(data["space"]), dict(data["objective"]),
                         tuple(Evaluation.from_dict(e) for e in data["evaluations"]), best,
                         tuple(data.get("iterations") or []), dict(data.get("settings") or {}),
                         float(data.get("elapsed_s") or 0.0), tuple(data.get("warnings") or []))
        except InputError as exc:  # the space's own checks (degrees, bounds)
            raise ArtifactError(f"space: {' '.join(str(exc).split())}") from None
        check_consistent(result, data)
        return result

    @classmethod
    def load(cls, path) -> "SearchResult":
        """Read a history file through :func:`polyfit.jsonio.read_json` and validate it."""
        from ...errors import ArtifactError
        from ...jsonio import read_json

        data = read_json(path, "search history")
        try:
            return cls.from_dict(data)
        except ArtifactError as exc:
            raise ArtifactError(f"invalid search history {str(path)!r}: {exc}") from None

    # -- plots ----------------------------------------------------------------------------
    def plot(self, kinds=("history", "surface", "pareto")):
        """Matplotlib figure: score per evaluation (with best so far), the evaluated
        surface over degree × range, and the score vs CKKS-levels Pareto front."""
        from .plots import plot_result

        return plot_result(self, kinds)

    def save_plot(self, path) -> str:
        """Render :meth:`plot` to a PNG atomically (temp file in the same folder + rename)."""
        from ...atomic import save_figure

        return save_figure(self.plot, path)


def load_result(path) -> SearchResult:
    """Read a search history written by :meth:`SearchResult.save`."""
    return SearchResult.load(path)


def check_consistent(result: SearchResult, data: dict) -> None:
    """Refuse a history whose parts disagree: every evaluation at its own index and inside
    the space, ``best_index`` and ``pareto_indices`` (when stored) what the scores give, the
    ``best`` artifact fitted at the best evaluation's degree and range, every BO round timed."""
    from ...errors import ArtifactError

    space = result.space
    lo, hi = space.range_bounds
    degrees = set(space.degrees)
    for i, e in enumerate(result.evaluations):
        where = f"evaluations[{i}]"
        if e.index != i:
            raise ArtifactError(f"{where}.index is {e.index}; evaluations are numbered by their position ({i})")
        if e.degree not in degrees:
            raise ArtifactError(f"{where}.degree {e.degree} is not among the space's degrees {sorted(degrees)}")
        if e.bits not in space.bits or e.method not in space.methods:
            raise ArtifactError(f"{where}: bits {e.bits!r} / method {e.method!r} are not among the space's "
                                f"{list(space.bits)} / {list(space.methods)}")
        if not lo * (1 - 1e-9) <= e.range <= hi * (1 + 1e-9):
            raise ArtifactError(f"{where}.range {e.range:g} lies outside the space's range bounds [{lo:g}, {hi:g}]")
    if "best_index" in data and data["best_index"] != result.best_index:
        raise ArtifactError(f"best_index is {data['best_index']}, but the scores ({result.direction}) give "
                            f"{result.best_index}")
    if "pareto_indices" in data and data["pareto_indices"] != result.pareto_indices():
        raise ArtifactError(f"pareto_indices {data['pareto_indices']} differ from the scores' front {result.pareto_indices()}")
    if result.best is not None:
        e = result.best_evaluation
        if e is None:
            raise ArtifactError("best is given, but no evaluation has a finite score")
        half = max(abs(v) for v in result.best.domain)
        if result.best.degree != e.degree or not math.isclose(half, e.range, rel_tol=1e-9):
            raise ArtifactError(f"best (degree {result.best.degree} on [-{half:g}, {half:g}]) is not the best "
                                f"evaluation's fit (degree {e.degree}, range {e.range:g}, evaluation index {e.index})")
    for j, it in enumerate(result.iterations):
        if it.get("phase", "bo") == "bo" and not ("model_fit_s" in it and "acquisition_s" in it):
            raise ArtifactError(f"iterations[{j}] is a BO round without model_fit_s and acquisition_s")


def _plain(value) -> str:
    """A description dict as readable UTF-8 text: ``kind (key value, key value, ...)``."""
    if isinstance(value, dict):
        head = str(value.get("kind", ""))
        rest = ", ".join(f"{k} {_plain(v)}" for k, v in value.items() if k != "kind")
        return f"{head} ({rest})".strip() if rest else head
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def history_shape():
    """The jsonio checker of a history file: every section typed, sizes bounded."""
    from ... import jsonio
    from ...validate import MAX_DEGREE

    count, seconds = jsonio.integer(0), jsonio.optional(jsonio.number(0))
    evaluation = jsonio.obj({
        "index": count, "phase": jsonio.string(50), "batch": count, "degree": jsonio.integer(0, MAX_DEGREE),
        "range": jsonio.number(above=0), "bits": jsonio.optional(jsonio.integer(0, 1074)),
        "method": jsonio.string(50), "score": jsonio.optional(jsonio.number()),
        "ckks_levels": jsonio.optional(count), "info": jsonio.optional(jsonio.obj()),
        "fit_s": seconds, "objective_s": seconds,
    }, required=("index", "phase", "batch", "degree", "range"))
    space = jsonio.obj({
        "degrees": jsonio.array(jsonio.integer(0, MAX_DEGREE), 1, MAX_DEGREE + 1),
        "range_bounds": jsonio.array(jsonio.number(above=0), 2, 2),
        "bits": jsonio.array(jsonio.optional(jsonio.integer(0, 1074)), 1, 64),
        "methods": jsonio.array(jsonio.string(50), 1, 8),
        "twins": jsonio.optional(jsonio.array(jsonio.obj({"degree": jsonio.integer(0, MAX_DEGREE),
                                                          "same_as": jsonio.integer(0, MAX_DEGREE)},
                                                         required=("degree", "same_as")), 0, MAX_DEGREE + 1)),
    }, required=("degrees", "range_bounds"))
    return jsonio.obj({
        "schema_version": jsonio.version(int(SCHEMA_VERSION.split(".")[0]), "search histories"),
        "target": jsonio.string(200), "space": space,
        "objective": jsonio.obj({"direction": jsonio.string(20, choices=("minimize", "maximize"))}),
        "settings": jsonio.optional(jsonio.obj({"twins_s": jsonio.number(0), "import_s": jsonio.number(0)})),
        "elapsed_s": seconds,
        "warnings": jsonio.optional(jsonio.array(jsonio.string(2000), 0, 1000)),
        "evaluations": jsonio.array(evaluation, 0, 10**5),
        "iterations": jsonio.optional(jsonio.array(jsonio.obj({"model_fit_s": jsonio.number(0), "acquisition_s": jsonio.number(0),
                                                          "proposal_s": jsonio.number(0), "phase": jsonio.string(50)}),
                                               0, 10**5)),
        "best": jsonio.optional(jsonio.obj()),
    }, required=("schema_version", "target", "space", "objective", "evaluations"))


# ---------------------------------------------------------------------------------------
# Pure helpers over score arrays
# ---------------------------------------------------------------------------------------
def best_index(scores, direction: str) -> int | None:
    s = np.asarray(scores, dtype=float)
    ok = np.isfinite(s)
    if not ok.any():
        return None
    masked = np.where(ok, s, np.inf if direction == "minimize" else -np.inf)
    return int(np.argmin(masked) if direction == "minimize" else np.argmax(masked))


def best_so_far(scores, direction: str) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    fill = np.inf if direction == "minimize" else -np.inf
    acc = (np.minimum if direction == "minimize" else np.maximum).accumulate(np.where(np.isfinite(s), s, fill))
    return np.where(np.isfinite(acc), acc, np.nan)


def pareto_indices(scores, levels, direction: str) -> list[int]:
    """Non-dominated points when minimising (±score, levels); ties keep the first seen."""
    s = np.asarray(scores, dtype=float)
    sign = 1.0 if direction == "minimize" else -1.0
    pts = [(sign * s[i], levels[i], i) for i in range(s.size) if math.isfinite(s[i]) and levels[i] is not None]
    front = []
    for a, la, i in pts:
        dominated = any((b <= a and lb <= la) and (b < a or lb < la) for b, lb, _ in pts)
        duplicate = any(b == a and lb == la for b, lb, j in pts if j < i)
        if not dominated and not duplicate:
            front.append((a, i))
    return [i for _, i in sorted(front)]
