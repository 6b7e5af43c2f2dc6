"""Bayesian optimisation of polynomial degree and fit range (Sisyphus): ``pf.search``.

Search space: degree d from a finite set (a range such as 2..9, or depth-efficient values
3, 7, 15, 31) × fit range a ∈ [a_lo, a_hi] on a log scale (the fit domain is [−a, a]),
optionally × fractional bits and × fitting method. Each point is fitted with
:func:`polyfit.fit` and scored by an objective (:mod:`polyfit.search_objectives`).

Optimiser (BoTorch, used as it is):

- every point is encoded in the unit cube: discrete values by their index i ↦ i/(n−1),
  the range by u = (ln a − ln a_lo)/(ln a_hi − ln a_lo) — the GP sees normalised inputs;
- the first ``n_initial`` points are a scrambled Sobol sequence (seeded), discrete
  coordinates mapped to equal-mass bins;
- then, per iteration, a ``SingleTaskGP`` (Standardize outcome transform) is fitted by
  maximising the marginal likelihood, and ``qLogNoisyExpectedImprovement`` is maximised by
  ``optimize_acqf_mixed`` with one fixed-feature set per combination of discrete values, so
  the degree is handled exactly (never rounded from a continuous value);
- objectives whose scores span decades (``log_scale``) are modelled as ±log10(score); the
  GP always maximises (minimised scores are negated); failed points (NaN/±inf) enter the
  model at the worst value seen;
- ``pareto=True`` models (score, CKKS levels) with a two-output GP and maximises
  ``qLogNoisyExpectedHypervolumeImprovement`` (reference point just below the worst
  observed values);
- batches of q = ``batch_size`` points are proposed jointly (sequential greedy) and
  evaluated with ``executor.map`` (any ``concurrent.futures.Executor``).

The run is reproducible for a given ``seed`` (torch's global RNG state is saved and
restored). ``strategy="random"`` draws every point uniformly in the unit cube instead
(the baseline the benchmark compares against).
"""
from __future__ import annotations

import itertools
import json
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, MissingExtraError, PolyfitError
from ..problem import MAX_BITS, MAX_DEGREE

SCHEMA = "polyfit/search-result"
SCHEMA_VERSION = "1.0"
METHODS = ("lstsq", "minimax")
STRATEGIES = ("bo", "random")
PLOT_DECADES = 4   # plots show scores up to 10^4 × the best (exploding fits reach 1e20+)
DEFAULT_ACQUISITION = {"num_restarts": 4, "raw_samples": 64, "mc_samples": 128, "maxiter": 100, "threads": 1,
                       "floor_decades": 2.0}


# ---------------------------------------------------------------------------------------
# Search space
# ---------------------------------------------------------------------------------------
def parse_degrees(spec) -> tuple[int, ...]:
    """``"2-9"``, ``"3,7,15,31"``, an int, or an iterable of ints → sorted unique degrees.

    >>> parse_degrees("2-5"), parse_degrees("3,7,15")
    ((2, 3, 4, 5), (3, 7, 15))
    """
    if isinstance(spec, str):
        text = spec.strip()
        try:
            if "-" in text and "," not in text:
                lo, hi = (int(v) for v in text.split("-"))
                values = list(range(lo, hi + 1))
            else:
                lo = hi = 0
                values = [int(v) for v in text.split(",") if v.strip()]
        except ValueError:
            raise InputError(f"degrees {spec!r} must be LO-HI (e.g. 2-9) or a list (e.g. 3,7,15,31)") from None
        if lo > hi:
            raise InputError(f"degree range {spec!r} is inverted; write LO-HI with LO <= HI")
    elif isinstance(spec, (int, np.integer)) and not isinstance(spec, bool):
        values = [int(spec)]
    else:
        try:
            values = list(spec)
        except TypeError:
            raise InputError(f"degrees {spec!r} must be LO-HI, a list of integers or an iterable") from None
        if not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
            raise InputError(f"degrees {values!r} must be integers")
    values = sorted({int(v) for v in values})
    if not values:
        raise InputError(f"degrees {spec!r} is empty; give at least one degree from 1 to {MAX_DEGREE}")
    if values[0] < 1 or values[-1] > MAX_DEGREE:
        raise InputError(f"degrees {values[0]}..{values[-1]} out of range; allowed: 1 to {MAX_DEGREE}")
    return tuple(values)


@dataclass(frozen=True)
class SearchSpace:
    """Degrees × log-scale range [a_lo, a_hi] (× bits × methods), encoded in the unit cube.

    Dimensions, in order: ``degree`` (always), ``range``, then ``bits`` and ``method`` when
    they have more than one value. A point is a dict with keys degree, range, bits, method.
    """

    degrees: tuple[int, ...]
    range_bounds: tuple[float, float]
    bits: tuple[int | None, ...] = (None,)
    methods: tuple[str, ...] = ("lstsq",)

    def __post_init__(self):
        object.__setattr__(self, "degrees", parse_degrees(self.degrees))
        try:
            lo, hi = (float(v) for v in self.range_bounds)
        except (TypeError, ValueError):
            raise InputError(f"range bounds {self.range_bounds!r} must be two numbers LO HI") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0:
            raise InputError(f"range bounds ({lo:g}, {hi:g}) must be finite with LO > 0 (the range is log-scaled)")
        if not lo < hi:
            raise InputError(f"range bounds ({lo:g}, {hi:g}) are empty or inverted; need 0 < LO < HI")
        object.__setattr__(self, "range_bounds", (lo, hi))
        bits = tuple(self.bits) if self.bits is not None else (None,)
        for b in bits:
            if b is not None and (isinstance(b, bool) or not isinstance(b, (int, np.integer)) or not 1 <= b <= MAX_BITS):
                raise InputError(f"bits {b!r} is out of range; allowed: integers 1 to {MAX_BITS}")
        if not bits or len(set(bits)) != len(bits):
            raise InputError(f"bits {bits!r} must be distinct and non-empty")
        object.__setattr__(self, "bits", tuple(None if b is None else int(b) for b in bits))
        methods = (self.methods,) if isinstance(self.methods, str) else tuple(self.methods)
        bad = [m for m in methods if m not in METHODS]
        if bad or not methods or len(set(methods)) != len(methods):
            raise InputError(f"methods {methods!r} must be distinct values of: {', '.join(METHODS)}")
        object.__setattr__(self, "methods", methods)

    @property
    def dims(self) -> tuple[str, ...]:
        names = ["degree", "range"]
        if len(self.bits) > 1:
            names.append("bits")
        if len(self.methods) > 1:
            names.append("method")
        return tuple(names)

    def _values(self, name):
        return {"degree": self.degrees, "bits": self.bits, "method": self.methods}[name]

    @staticmethod
    def _index_to_unit(index: int, count: int) -> float:
        return index / (count - 1) if count > 1 else 0.0

    def to_unit(self, point: dict) -> list[float]:
        lo, hi = self.range_bounds
        out = []
        for name in self.dims:
            if name == "range":
                out.append((math.log(point["range"]) - math.log(lo)) / (math.log(hi) - math.log(lo)))
            else:
                values = self._values(name)
                out.append(self._index_to_unit(values.index(point[name]), len(values)))
        return out

    def from_unit(self, u, bins: bool = False) -> dict:
        """Decode a unit-cube vector; discrete coordinates snap to the nearest value
        (``bins=True``: to equal-mass bins, for Sobol/random draws)."""
        lo, hi = self.range_bounds
        point: dict[str, Any] = {"degree": self.degrees[0], "bits": self.bits[0], "method": self.methods[0]}
        for name, value in zip(self.dims, (float(v) for v in u)):
            value = min(max(value, 0.0), 1.0)
            if name == "range":
                point["range"] = float(math.exp(math.log(lo) + value * (math.log(hi) - math.log(lo))))
            else:
                values = self._values(name)
                n = len(values)
                index = min(int(value * n), n - 1) if bins else int(round(value * (n - 1)))
                point[name] = values[index]
        return point

    def fixed_features_list(self) -> list[dict[int, float]]:
        """One {dim: unit value} per combination of discrete values (optimize_acqf_mixed)."""
        discrete = [(i, name) for i, name in enumerate(self.dims) if name != "range"]
        combos = itertools.product(*(range(len(self._values(name))) for _, name in discrete))
        return [{i: self._index_to_unit(k, len(self._values(name))) for (i, name), k in zip(discrete, combo)}
                for combo in combos]

    def describe(self) -> dict:
        return {"degrees": list(self.degrees), "range_bounds": list(self.range_bounds), "range_scale": "log",
                "bits": list(self.bits), "methods": list(self.methods), "dims": list(self.dims)}

    @classmethod
    def from_dict(cls, data: dict) -> "SearchSpace":
        return cls(tuple(data["degrees"]), tuple(data["range_bounds"]), tuple(data.get("bits", [None])),
                   tuple(data.get("methods", ["lstsq"])))


# ---------------------------------------------------------------------------------------
# Evaluations and the result
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Evaluation:
    """One evaluated point: where (degree, range, bits, method), its score and its cost.

    ``phase`` is ``"initial"`` (Sobol), ``"bo"`` or ``"random"``; ``batch`` numbers the
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
        return _json_ready(dict(self.__dict__))

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
        iterations: per BO proposal round, ``model_fit_s`` and ``acquisition_s``.
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
        """Median seconds per BO round spent fitting the GP and maximising the acquisition."""
        if not self.iterations:
            return {"model_fit_s": 0.0, "acquisition_s": 0.0, "rounds": 0}
        fit_s = [it["model_fit_s"] for it in self.iterations]
        acq_s = [it["acquisition_s"] for it in self.iterations]
        return {"model_fit_s": float(np.median(fit_s)), "acquisition_s": float(np.median(acq_s)),
                "rounds": len(self.iterations)}

    def __repr__(self) -> str:
        e = self.best_evaluation
        best = (f"best score {e.score:.4g} at degree {e.degree}, range {e.range:.4g}" if e else "no successful point")
        return (f"SearchResult(target={self.target}, evaluations={len(self.evaluations)}, {best}, "
                f"objective={self.objective.get('kind')}, {self.direction})")

    def summary(self) -> str:
        """Readable multi-line summary for the CLI."""
        lines = [f"search   {self.target}: {len(self.evaluations)} evaluations "
                 f"({self.settings.get('strategy', 'bo')}, {self.settings.get('n_initial')} initial, seed {self.settings.get('seed')}), "
                 f"{self.elapsed_s:.1f} s"]
        obj = self.objective
        lines.append(f"objective {obj.get('kind')} ({self.direction})" + (f": {json.dumps(obj.get('distribution'))}" if obj.get("distribution") else ""))
        sp = self.space
        lines.append(f"space    degrees {list(sp.degrees)}, range [{sp.range_bounds[0]:g}, {sp.range_bounds[1]:g}] (log)"
                     + (f", bits {list(sp.bits)}" if len(sp.bits) > 1 or sp.bits[0] is not None else "")
                     + (f", methods {list(sp.methods)}" if len(sp.methods) > 1 else ""))
        e = self.best_evaluation
        if e is not None:
            lines.append(f"best     score {e.score:.6g} at degree {e.degree}, range {e.range:.6g}"
                         + (f", bits {e.bits}" if e.bits is not None else "") + f", method {e.method}"
                         + f" (evaluation {e.index + 1}, CKKS levels {e.ckks_levels})")
        failed = sum(not ev.ok for ev in self.evaluations)
        if failed:
            lines.append(f"failed   {failed} of {len(self.evaluations)} points scored NaN/inf (counted as failures)")
        if any("nan_rate" in ev.info for ev in self.evaluations) and e is not None:
            lines.append(f"nan rate {e.info.get('nan_rate', 0.0):.4f} of samples at the best point")
        o = self.overhead_per_iteration()
        if o["rounds"]:
            lines.append(f"overhead {o['model_fit_s']:.3f} s GP fit + {o['acquisition_s']:.3f} s acquisition per round "
                         f"(median of {o['rounds']})")
        if self.settings.get("pareto"):
            front = ", ".join(f"L{self.evaluations[i].ckks_levels}: {self.evaluations[i].score:.3g} (d={self.evaluations[i].degree})"
                              for i in self.pareto_indices())
            lines.append(f"pareto   {front}")
        for note in self.warnings:
            lines.append(f"warning  {note}")
        return "\n".join(lines)

    # -- I/O ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        from .._version import __version__

        return _json_ready({
            "schema": SCHEMA, "schema_version": SCHEMA_VERSION, "polyfit_version": __version__,
            "target": self.target, "space": self.space.describe(), "objective": self.objective,
            "settings": self.settings, "elapsed_s": self.elapsed_s, "warnings": list(self.warnings),
            "best_index": self.best_index, "pareto_indices": self.pareto_indices(),
            "evaluations": [e.to_dict() for e in self.evaluations],
            "iterations": list(self.iterations),
            "best": self.best.to_dict() if self.best is not None else None,
        })

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def save(self, path) -> str:
        """Write the history JSON atomically (temp file + rename); returns the path."""
        from ..atomic import atomic_write_text

        return atomic_write_text(path, self.to_json())

    @classmethod
    def from_dict(cls, data) -> "SearchResult":
        from ..artifact import from_dict as approximation_from_dict
        from ..errors import ArtifactError

        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            raise ArtifactError(f"not a search history: schema must be {SCHEMA!r}")
        if str(data.get("schema_version", "")).split(".")[0] != SCHEMA_VERSION.split(".")[0]:
            raise ArtifactError(f"search history schema_version {data.get('schema_version')!r} is not supported; reads 1.x")
        try:
            best = approximation_from_dict(data["best"]) if data.get("best") else None
            return cls(str(data["target"]), SearchSpace.from_dict(data["space"]), dict(data["objective"]),
                       tuple(Evaluation.from_dict(e) for e in data["evaluations"]), best,
                       tuple(data.get("iterations", [])), dict(data.get("settings", {})),
                       float(data.get("elapsed_s", 0.0)), tuple(data.get("warnings", [])))
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"malformed search history: {' '.join(str(exc).split())}") from None

    @classmethod
    def load(cls, path) -> "SearchResult":
        from ..errors import ArtifactError

        try:
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
        except FileNotFoundError:
            raise ArtifactError(f"search history not found: {str(path)!r}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArtifactError(f"cannot read search history {str(path)!r}: {' '.join(str(exc).split())}") from None
        return cls.from_dict(data)

    # -- plots ----------------------------------------------------------------------------
    def plot(self, kinds=("history", "surface", "pareto")):
        """Matplotlib figure: score per evaluation (with best so far), the evaluated
        surface over degree × range, and the score vs CKKS-levels Pareto front."""
        import matplotlib.pyplot as plt

        kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
        unknown = [k for k in kinds if k not in ("history", "surface", "pareto")]
        if unknown or not kinds:
            raise InputError(f"plot kinds {kinds!r}; allowed: history, surface, pareto")
        fig, axes = plt.subplots(1, len(kinds), figsize=(5.2 * len(kinds), 4.2), squeeze=False)
        for ax, kind in zip(axes[0], kinds):
            getattr(self, f"_plot_{kind}")(ax)
        fig.suptitle(f"polyfit search: {self.target}, {self.objective.get('kind')} ({self.direction})")
        fig.tight_layout()
        return fig

    def save_plot(self, path) -> str:
        """Render :meth:`plot` to a PNG atomically (temp file in the same folder + rename)."""
        from ..atomic import save_figure

        return save_figure(self.plot, path)

    def _log_axis(self) -> bool:
        s = self.scores
        s = s[np.isfinite(s)]
        return bool(self.objective.get("log_scale", self.objective.get("kind") == "expected_error")) and s.size > 0 and np.all(s > 0)

    def _plot_history(self, ax):
        s = self.scores
        n = np.arange(1, s.size + 1)
        phases = np.array([e.phase for e in self.evaluations])
        for phase, marker in (("initial", "s"), ("bo", "o"), ("random", "x")):
            m = (phases == phase) & np.isfinite(s)
            if m.any():
                ax.scatter(n[m], s[m], marker=marker, s=18, label=phase)
        failed = ~np.isfinite(s)
        if failed.any():
            finite = s[np.isfinite(s)]
            y = np.full(failed.sum(), finite.max() if self.direction == "minimize" and finite.size else (finite.min() if finite.size else 0.0))
            ax.scatter(n[failed], y, marker="v", color="red", s=18, label="NaN/inf")
        ax.step(n, self.best_so_far(), where="post", color="black", label="best so far")
        if self._log_axis():
            ax.set_yscale("log")
            _clip_log_axis(ax, s, self.direction)
        ax.set_xlabel("evaluation")
        ax.set_ylabel("score")
        ax.set_title("score per evaluation")
        ax.legend(fontsize=7)

    def _plot_surface(self, ax):
        ev = [e for e in self.evaluations if e.ok]
        if not ev:
            ax.set_title("no successful evaluation")
            return
        x = np.array([e.range for e in ev])
        y = np.array([e.degree for e in ev])
        c = np.array([e.score for e in ev])
        if self._log_axis():
            c = np.log10(c)
            label = "log10 score"
            if c.max() - c.min() > PLOT_DECADES:   # exploding fits would wash out the colours
                c = np.minimum(c, c.min() + PLOT_DECADES)
                label += f" (clipped at best + {PLOT_DECADES})"
        else:
            label = "score"
        sc = ax.scatter(x, y, c=c, cmap="viridis_r" if self.direction == "minimize" else "viridis", s=40, edgecolor="k", lw=0.3)
        ax.figure.colorbar(sc, ax=ax, label=label)
        b = self.best_evaluation
        ax.scatter([b.range], [b.degree], marker="*", s=220, color="red", label="best")
        ax.set_xscale("log")
        ax.set_yticks(list(self.space.degrees) if len(self.space.degrees) <= 16 else ax.get_yticks())
        ax.set_xlabel("range a (fit on [-a, a])")
        ax.set_ylabel("degree")
        ax.set_title("evaluated surface: degree × range")
        ax.legend(fontsize=7)

    def _plot_pareto(self, ax):
        ev = [e for e in self.evaluations if e.ok and e.ckks_levels is not None]
        if not ev:
            ax.set_title("no successful evaluation")
            return
        ax.scatter([e.ckks_levels for e in ev], [e.score for e in ev], s=16, color="0.6", label="evaluated")
        front = [self.evaluations[i] for i in self.pareto_indices()]
        front.sort(key=lambda e: e.ckks_levels)
        ax.plot([e.ckks_levels for e in front], [e.score for e in front], "o-", color="C3", label="Pareto front")
        for e in front:
            ax.annotate(f"d={e.degree}, a={e.range:.3g}", (e.ckks_levels, e.score), fontsize=7,
                        xytext=(4, 4), textcoords="offset points")
        if self._log_axis():
            ax.set_yscale("log")
            _clip_log_axis(ax, [e.score for e in ev], self.direction)
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("CKKS levels")
        ax.set_ylabel("score")
        ax.set_title("score vs depth")
        ax.legend(fontsize=7)


def _clip_log_axis(ax, scores, direction) -> None:
    """Show PLOT_DECADES decades above the best score (minimising) and say how many points
    lie above (exploding fits)."""
    s = np.asarray(scores, dtype=float)
    s = s[np.isfinite(s) & (s > 0)]
    top = s.min() * 10 ** PLOT_DECADES if s.size else 0.0
    if direction == "minimize" and s.size and s.max() > top:
        ax.set_ylim(s.min() / 2, top)
        ax.text(0.02, 0.98, f"{int(np.sum(s > top))} point(s) above {top:.1e}", transform=ax.transAxes,
                va="top", fontsize=7)


def load_result(path) -> SearchResult:
    """Read a search history written by :meth:`SearchResult.save`."""
    return SearchResult.load(path)


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


def _json_ready(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.ndarray):
        return _json_ready(value.tolist())
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _json_ready(value.item())
    return value


# ---------------------------------------------------------------------------------------
# Evaluating one point (a top-level function so process executors can pickle it)
# ---------------------------------------------------------------------------------------
def portable_target(target):
    """A picklable stand-in for ``target`` (process executors): ``("expr", text)`` for a
    parsed SymPy expression (its numpy function is a closure made by lambdify); any other
    Target (named targets are module-level functions) is passed as it is."""
    if target.name == "expr" and target.expr:
        return ("expr", target.expr)
    return target


def _resolve_target(spec):
    from ..targets import parse_expr

    if isinstance(spec, tuple) and len(spec) == 2 and spec[0] == "expr":
        return parse_expr(spec[1])
    return spec


def evaluate_point(target, point: dict, objective, fit_options: dict) -> dict:
    """Fit ``point`` with :func:`polyfit.fit` and score it; never raises for a bad fit.

    ``target`` is a Target or what :func:`portable_target` made of one. Returns a dict with
    score (NaN when the fit or the objective failed), ckks_levels, info, fit_s and
    objective_s.
    """
    from ..fitting import fit

    target = _resolve_target(target)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            approx = fit(target, point["degree"], point["range"], bits=point["bits"], method=point["method"], **fit_options)
        except PolyfitError as exc:
            return {"score": float("nan"), "ckks_levels": None, "info": {"failure": " ".join(str(exc).split())},
                    "fit_s": time.perf_counter() - t0, "objective_s": 0.0}
        t1 = time.perf_counter()
        with np.errstate(all="ignore"):
            out = objective(approx)
        t2 = time.perf_counter()
    if isinstance(out, dict):
        if "score" not in out:
            raise InputError(f"objective returned a dict without 'score' (keys: {sorted(out)})")
        info = {k: v for k, v in out.items() if k != "score"}
        score = out["score"]
    else:
        info, score = {}, out
    try:
        score = float(score)
    except (TypeError, ValueError):
        raise InputError(f"objective returned {score!r}; it must return a number or a dict with 'score'") from None
    notes = sorted({" ".join(str(w.message).split()) for w in caught})
    if notes:
        info["fit_warnings"] = notes
    return {"score": score, "ckks_levels": int(approx.depth.get("ckks_levels")) if approx.depth else None,
            "info": info, "fit_s": t1 - t0, "objective_s": t2 - t1}


# ---------------------------------------------------------------------------------------
# The search
# ---------------------------------------------------------------------------------------
def search(target="relu", *, degrees="2-9", range_bounds=(0.5, 50.0), objective="gaussian:sigma=2",
           direction=None, bits=None, methods=("lstsq",), max_depth=None, budget=50, n_initial=None,
           batch_size=1, executor=None, seed=0, pareto=False, strategy="bo", fit_options=None,
           progress=None, acquisition=None) -> SearchResult:
    """Bayesian optimisation of degree and fit range for ``target`` (Sisyphus).

    Args:
        target: name, callable or :func:`polyfit.expr` — what :func:`polyfit.fit` fits.
        degrees: ``"2-9"``, ``"3,7,15,31"`` or an iterable of ints; searched exactly.
        range_bounds: (a_lo, a_hi), 0 < a_lo < a_hi; each fit is on [−a, a], a log-scaled.
        objective: a spec (``"gaussian:sigma=2"``, ``"uniform:a=5"``, ``"samples:path=F"``),
            an objective from :mod:`polyfit.search_objectives` (``ExpectedError``,
            ``NetworkAccuracy``) or any callable Approximation → score (or dict with "score").
        direction: ``"minimize"``/``"maximize"`` for a plain callable (default minimize).
        bits: None (float coefficients) or an iterable of fractional bits to search over.
        methods: fitting methods to search over (``"lstsq"``, ``"minimax"``).
        max_depth: keep only degrees whose CKKS levels ⌈log2(d+1)⌉ are ≤ this.
        budget: total number of evaluations (initial points included).
        n_initial: Sobol points before the first model (default max(2·dims, min(10, budget//5))).
        batch_size: q, points proposed per round; evaluated with ``executor.map``.
        executor: a ``concurrent.futures.Executor`` (or anything with ``map``); default serial.
        seed: makes the run reproducible.
        pareto: also minimise CKKS levels (qLogNEHVI); the result's ``pareto_indices``.
        strategy: ``"bo"`` or ``"random"`` (uniform draws: the baseline).
        fit_options: extra keyword arguments of :func:`polyfit.fit` (points, grid, ...).
        progress: write a progress bar to stderr (default: when stderr is a terminal).
        acquisition: num_restarts, raw_samples, mc_samples, maxiter of the optimiser,
            threads (torch threads while proposing; default 1, restored afterwards) and
            floor_decades (log-scale scores worse than the best by more than this many
            decades are modelled at that floor; default 2, None disables).

    Returns:
        A :class:`SearchResult`.

    Raises:
        InputError: bad bounds, budget < n_initial, unknown objective spec, or an objective
            that returned NaN for every initial point (nothing to model).

    >>> import polyfit as pf
    >>> res = pf.search("relu", degrees="2-4", range_bounds=(1, 10), objective="gaussian:sigma=2",
    ...                 budget=6, n_initial=6, seed=0, progress=False)
    >>> len(res.evaluations), res.best.degrees[0] in (2, 3, 4)
    (6, True)
    """
    from ..search_objectives import resolve_objective
    from ..depth import optimal_levels
    from ..targets import get_target

    started = time.perf_counter()
    target = get_target(target)
    obj = resolve_objective(objective, direction)
    direction = obj.direction
    all_degrees = deg = parse_degrees(degrees)
    if max_depth is not None:
        if (isinstance(max_depth, bool) or not isinstance(max_depth, (int, float, np.integer))
                or not float(max_depth).is_integer() or max_depth < 1):
            raise InputError(f"max depth {max_depth!r} must be an integer >= 1 (CKKS levels)")
        deg = tuple(d for d in deg if optimal_levels(d) <= max_depth)
        if not deg:
            raise InputError(f"no degree in {all_degrees[0]}..{all_degrees[-1]} fits max depth {max_depth}: "
                             f"degree {all_degrees[0]} needs {optimal_levels(all_degrees[0])} CKKS levels")
    space = SearchSpace(deg, range_bounds, tuple(bits) if bits is not None else (None,), methods)
    if strategy not in STRATEGIES:
        raise InputError(f"strategy {strategy!r} is unknown; allowed: {', '.join(STRATEGIES)}")
    budget = _check_count("budget", budget, 1)
    seed = _check_count("seed", seed, 0)
    batch_size = _check_count("batch size", batch_size, 1)
    if n_initial is None:
        n_initial = min(budget, max(2 * len(space.dims), min(10, budget // 5)))
        if budget < 2 * len(space.dims) and strategy == "bo":
            raise InputError(f"budget {budget} is less than the {2 * len(space.dims)} initial points "
                             f"a {len(space.dims)}-dimensional search needs; allowed: budget >= {2 * len(space.dims)}")
    n_initial = _check_count("initial points", n_initial, 1)
    if budget < n_initial:
        raise InputError(f"budget {budget} is less than the {n_initial} initial points; allowed: budget >= initial points")
    acq = {**DEFAULT_ACQUISITION, **(acquisition or {})}
    unknown = set(acq) - set(DEFAULT_ACQUISITION)
    if unknown:
        raise InputError(f"acquisition options {sorted(unknown)} unknown; allowed: {', '.join(DEFAULT_ACQUISITION)}")
    fit_options = dict(fit_options or {})
    for key in ("bits", "method", "degree", "domain", "target"):
        if key in fit_options:
            raise InputError(f"fit option {key!r} is set by the search; remove it from fit_options")
    if pareto and strategy != "bo":
        raise InputError("pareto=True needs strategy 'bo'")
    torch, botorch = _import_botorch() if strategy == "bo" else (None, None)

    log_scale = bool(getattr(obj, "log_scale", False))
    mapper = executor.map if executor is not None else map
    bar = _Progress(budget, enabled=sys.stderr.isatty() if progress is None else bool(progress))
    portable = portable_target(target) if executor is not None else target
    evaluations: list[Evaluation] = []
    iterations: list[dict] = []
    notes: list[str] = []
    if len(deg) < len(all_degrees):
        notes.append(f"max depth {max_depth}: degrees searched {list(deg)}")

    def run_batch(points, phase, batch):
        outs = list(mapper(evaluate_point, itertools.repeat(portable), points, itertools.repeat(obj),
                           itertools.repeat(fit_options)))
        for point, out in zip(points, outs):
            ev = Evaluation(len(evaluations), phase, batch, point["degree"], point["range"], point["bits"],
                            point["method"], out["score"], out["ckks_levels"], out["info"], out["fit_s"], out["objective_s"])
            evaluations.append(ev)
            bar.update(ev, best_so_far([e.score for e in evaluations], direction)[-1])

    try:
        if strategy == "random":
            rng = np.random.default_rng(seed)
            for start in range(0, budget, batch_size):
                q = min(batch_size, budget - start)
                run_batch([space.from_unit(u, bins=True) for u in rng.random((q, len(space.dims)))], "random", start // batch_size)
            _check_not_all_failed(evaluations)
        else:
            with torch.random.fork_rng():
                torch.manual_seed(int(seed))
                unit = botorch.utils.sampling.draw_sobol_samples(
                    bounds=_unit_bounds(torch, len(space.dims)), n=n_initial, q=1, seed=int(seed)).squeeze(1)
                initial = [space.from_unit(u.tolist(), bins=True) for u in unit]
                for start in range(0, n_initial, batch_size):
                    run_batch(initial[start:start + batch_size], "initial", start // batch_size)
                _check_not_all_failed(evaluations)
                batch = math.ceil(n_initial / batch_size)
                while len(evaluations) < budget:
                    q = min(batch_size, budget - len(evaluations))
                    points, timing = _propose(torch, botorch, space, evaluations, direction, log_scale, pareto, q,
                                              acq, seed=int(seed) * 7919 + batch)
                    iterations.append({"batch": batch, "q": q, **timing})
                    run_batch(points, "bo", batch)
                    batch += 1
    finally:
        bar.close()

    scores = [e.score for e in evaluations]
    i_best = best_index(scores, direction)
    best = None
    if i_best is not None:
        best = _refit_best(target, evaluations[i_best], fit_options, obj)
    failed = sum(not e.ok for e in evaluations)
    if failed:
        notes.append(f"{failed} of {len(evaluations)} points scored NaN or ±inf and were counted as failures")
    settings = {"seed": int(seed), "budget": budget, "n_initial": n_initial if strategy == "bo" else 0,
                "batch_size": batch_size, "strategy": strategy, "pareto": bool(pareto), "max_depth": max_depth,
                "acquisition": acq if strategy == "bo" else None, "fit_options": _json_ready(fit_options),
                "model": "SingleTaskGP (unit-cube inputs, Standardize)" if strategy == "bo" else None,
                "acquisition_function": ("qLogNoisyExpectedHypervolumeImprovement" if pareto else "qLogNoisyExpectedImprovement")
                if strategy == "bo" else None}
    description = {**obj.describe(), "direction": direction, "log_scale": log_scale}
    return SearchResult(target.name, space, description, tuple(evaluations), best, tuple(iterations), settings,
                        time.perf_counter() - started, tuple(notes))


def _check_count(name, value, minimum) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} {value!r} must be an integer >= {minimum}")
    return int(value)


def _check_not_all_failed(evaluations) -> None:
    if evaluations and not any(e.ok for e in evaluations):
        e = evaluations[0]
        why = e.info.get("failure", "the objective returned NaN or ±inf")
        raise InputError(f"the objective failed for all {len(evaluations)} initial points (e.g. degree {e.degree}, "
                         f"range {e.range:g}: {why}); nothing to optimise, stopping")


def _refit_best(target, ev: Evaluation, fit_options, obj):
    from ..fitting import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        approx = fit(target, ev.degree, ev.range, bits=ev.bits, method=ev.method, **fit_options)
    prov = dict(approx.provenance)
    prov["search"] = _json_ready({"score": ev.score, "evaluation": ev.index, "objective": obj.describe(),
                                  "info": ev.info})
    return approx.replace(provenance=prov)


def _import_botorch():
    try:
        import torch
        import botorch  # noqa: F401
        import botorch.utils.sampling  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "botorch"
        raise MissingExtraError("search", "search", "torch" if missing == "torch" else "botorch") from None
    return torch, botorch


def _unit_bounds(torch, dims):
    return torch.stack([torch.zeros(dims, dtype=torch.double), torch.ones(dims, dtype=torch.double)])


def _model_targets(evaluations, direction, log_scale, pareto, floor_decades=None) -> np.ndarray:
    """Training targets for the GP (maximised): ±score or ±log10(score); failures at the
    worst value seen. With ``pareto`` a second column −ckks_levels."""
    s = np.array([e.score for e in evaluations], dtype=float)
    ok = np.isfinite(s)
    if log_scale:
        with np.errstate(all="ignore"):
            s = np.log10(np.maximum(s, 1e-300))
    y = -s if direction == "minimize" else s
    y = np.where(ok, y, np.min(y[ok]))
    if log_scale and floor_decades is not None:
        # Scores more than floor_decades decades worse than the best are all just "bad": an
        # exploding polynomial (1e9) would otherwise dominate the GP's scale and flatten
        # the region near the optimum that the search has to resolve.
        y = np.maximum(y, y.max() - floor_decades)
    if not pareto:
        return y[:, None]
    levels = np.array([e.ckks_levels if e.ckks_levels is not None else np.nan for e in evaluations], dtype=float)
    levels = np.where(np.isfinite(levels), levels, np.nanmax(levels) if np.isfinite(levels).any() else 0.0)
    return np.column_stack([y, -levels])


def _propose(torch, botorch, space: SearchSpace, evaluations, direction, log_scale, pareto, q, acq, seed):
    """Fit the GP to all evaluations and return q new points (and the time each step took)."""
    # A GP on tens of points is overhead-bound: extra torch threads only contend for cores
    # (measured 5-10x slower with 2 threads on a busy 2-core machine). Restored afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(int(acq["threads"]))
    try:
        return _propose_points(torch, space, evaluations, direction, log_scale, pareto, q, acq, seed)
    finally:
        torch.set_num_threads(threads)


def _propose_points(torch, space, evaluations, direction, log_scale, pareto, q, acq, seed):
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.optim import optimize_acqf_mixed
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import ExactMarginalLogLikelihood

    X = torch.tensor([space.to_unit(e.point) for e in evaluations], dtype=torch.double)
    floor = acq["floor_decades"]
    Y = torch.tensor(_model_targets(evaluations, direction, log_scale, pareto, None if floor is None else float(floor)),
                     dtype=torch.double)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BoTorch's optimisation/numerical warnings: the fit still returns a model
        model = SingleTaskGP(X, Y)
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    t1 = time.perf_counter()
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([int(acq["mc_samples"])]), seed=seed)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jitter notices while pruning the baseline
        acqf = _acquisition(space, model, X, Y, sampler, pareto)
        candidates, _ = optimize_acqf_mixed(
            acqf, bounds=_unit_bounds(torch, len(space.dims)), q=q, num_restarts=int(acq["num_restarts"]),
            raw_samples=int(acq["raw_samples"]), fixed_features_list=space.fixed_features_list(),
            options={"maxiter": int(acq["maxiter"])})
    t2 = time.perf_counter()
    points = [space.from_unit(c.tolist()) for c in candidates.detach()]
    return points, {"model_fit_s": t1 - t0, "acquisition_s": t2 - t1}


def _acquisition(space, model, X, Y, sampler, pareto):
    """qLogNEI for one objective; qLogNEHVI for (score, −levels) with the reference point
    10 % of the observed span below the worst observed values."""
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement

    if pareto:
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement

        span = (Y.max(0).values - Y.min(0).values).clamp_min(1e-6)
        ref_point = (Y.min(0).values - 0.1 * span).tolist()
        return qLogNoisyExpectedHypervolumeImprovement(model, ref_point=ref_point, X_baseline=X, sampler=sampler,
                                                       prune_baseline=True)
    return qLogNoisyExpectedImprovement(model, X_baseline=X, sampler=sampler)


class _Progress:
    """A plain-text progress bar on stderr: ``search [####......] 12/50 best 3.1e-03 (d=7, a=4.2)``."""

    WIDTH = 24

    def __init__(self, total: int, enabled: bool):
        self.total = total
        self.enabled = enabled
        self.stream = sys.stderr
        self.count = 0
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()

    def update(self, ev: Evaluation, best: float) -> None:
        self.count += 1
        if not self.enabled:
            return
        filled = int(self.WIDTH * self.count / self.total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        last = f"{ev.score:.3g}" if ev.ok else "NaN"
        line = (f"search [{bar}] {self.count}/{self.total}  last {last} (d={ev.degree}, a={ev.range:.3g})  "
                f"best {best:.4g}")
        if self.tty:
            self.stream.write("\r" + line.ljust(90))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.tty and self.count:
            self.stream.write("\n")
            self.stream.flush()
