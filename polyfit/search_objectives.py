"""Objectives of :func:`polyfit.search`: what a candidate Approximation scores.

An objective is called with a fitted :class:`~polyfit.approximation.Approximation` and
returns either a float (the score) or a dict with a ``"score"`` key and any other JSON-ready
values to record with the evaluation (``"nan_rate"``, ``"error"``, ...). Each objective
says which way is better (``direction``) and whether its scores span decades
(``log_scale``: the search then models log10 of the score).

Three kinds:

(a) :class:`ExpectedError` — expected approximation error of the target under an input
    distribution D (Gaussian, uniform, or samples such as profiled activations)::

        mse = E_{x~D}[(p(x) − f(x))²]        mae = E_{x~D}[|p(x) − f(x)|]

    plus an optional depth penalty ``λ · ckks_levels`` (same units as the error). The
    polynomial is fitted on [−a, a] but D weighs every x, so a range too small lets the
    polynomial explode on D's tails and a range too large wastes its accuracy: the trade-off
    the search explores.
(b) :class:`NetworkAccuracy` — a trained torch model, a data loader and a per-sample metric;
    every activation module (``nn.ReLU`` by default) is replaced by the polynomial with
    :func:`polyfit.torch.replace_activations` and :class:`polyfit.torch.PolyActivation`, no
    retraining. Samples whose output holds a NaN or ±inf count as wrong, and the fraction of
    such samples is reported as ``nan_rate`` (Sisyphus dropped them from the denominator).
(c) :class:`CallableObjective` — any callable Approximation → score (or dict).

:func:`parse_objective` turns the CLI spec strings (``gaussian:sigma=2``) into (a).
torch is imported only by (b).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import InputError

DIRECTIONS = ("minimize", "maximize")
DISTRIBUTIONS = ("gaussian", "uniform", "samples")
ERRORS = ("mse", "mae")
#: Gaussian expectations are taken on mean ± GAUSSIAN_TAIL·σ (the weight beyond is < 1e-21).
GAUSSIAN_TAIL = 10.0
DEFAULT_QUADRATURE_POINTS = 8001


# ---------------------------------------------------------------------------------------
# Input distributions
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InputDistribution:
    """A distribution of activation inputs, as quadrature nodes x and weights w (Σ w = 1).

    Attributes:
        kind: ``"gaussian"`` (params mean, sigma), ``"uniform"`` (params lo, hi) or
            ``"samples"`` (the ``samples`` array, each weighing 1/n).
        params: the numbers above.
        samples: the sample array for ``"samples"``.
        points: quadrature points for gaussian/uniform (trapezoid rule on a uniform grid;
            the ReLU kink makes Gauss–Hermite no better than this).
    """

    kind: str
    params: dict = field(default_factory=dict)
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    points: int = DEFAULT_QUADRATURE_POINTS

    def __post_init__(self):
        if self.kind not in DISTRIBUTIONS:
            raise InputError(f"distribution {self.kind!r} is unknown; allowed: {', '.join(DISTRIBUTIONS)}")
        if isinstance(self.points, bool) or not isinstance(self.points, (int, np.integer)) or self.points < 3:
            raise InputError(f"quadrature points {self.points!r} must be an integer >= 3")
        p = {k: float(v) for k, v in self.params.items()}
        object.__setattr__(self, "params", p)
        if not all(math.isfinite(v) for v in p.values()):
            raise InputError(f"{self.kind} parameters must be finite, got {p}")
        if self.kind == "gaussian":
            if set(p) - {"mean", "sigma"} or "sigma" not in p:
                raise InputError(f"gaussian takes sigma (> 0) and optional mean, got {sorted(p)}")
            if p["sigma"] <= 0:
                raise InputError(f"gaussian sigma {p['sigma']:g} must be > 0")
            p.setdefault("mean", 0.0)
        elif self.kind == "uniform":
            if set(p) != {"lo", "hi"}:
                raise InputError(f"uniform takes lo and hi (or a for [-a, a]), got {sorted(p)}")
            if not p["lo"] < p["hi"]:
                raise InputError(f"uniform lo {p['lo']:g} must be < hi {p['hi']:g}")
        else:
            s = np.asarray(self.samples, dtype=float).ravel() if self.samples is not None else np.empty(0)
            if s.size == 0 or not np.all(np.isfinite(s)):
                raise InputError(f"samples must be a non-empty array of finite numbers, got {s.size} values")
            object.__setattr__(self, "samples", s)

    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, w): nodes and weights with Σ w = 1, so E[g] ≈ Σ w·g(x)."""
        if self.kind == "samples":
            return self.samples, np.full(self.samples.size, 1.0 / self.samples.size)
        if self.kind == "gaussian":
            mean, sigma = self.params["mean"], self.params["sigma"]
            x = np.linspace(mean - GAUSSIAN_TAIL * sigma, mean + GAUSSIAN_TAIL * sigma, self.points)
            w = np.exp(-0.5 * ((x - mean) / sigma) ** 2)
        else:
            x = np.linspace(self.params["lo"], self.params["hi"], self.points)
            w = np.ones_like(x)
        w[0] *= 0.5   # trapezoid rule
        w[-1] *= 0.5
        return x, w / w.sum()

    def describe(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, **self.params}
        if self.kind == "samples":
            out["count"] = int(self.samples.size)
        else:
            out["quadrature"] = {"rule": "trapezoid", "points": int(self.points)}
            if self.kind == "gaussian":
                out["quadrature"]["support"] = f"mean ± {GAUSSIAN_TAIL:g} sigma"
        return out


# ---------------------------------------------------------------------------------------
# (a) expected approximation error
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectedError:
    """E_{x~D}[(p(x) − f(x))²] (``error="mse"``) or E|p − f| (``"mae"``), + λ·ckks_levels.

    Non-finite values (a polynomial overflowing on D's tail) make the score NaN: the search
    counts the point as failed.

    >>> import polyfit as pf
    >>> obj = ExpectedError(InputDistribution("uniform", {"lo": -1, "hi": 1}))
    >>> round(obj(pf.fit("relu", 2, 1.0))["score"], 5)
    0.0013
    """

    distribution: InputDistribution
    error: str = "mse"
    depth_penalty: float = 0.0

    direction = "minimize"
    log_scale = True

    def __post_init__(self):
        if self.error not in ERRORS:
            raise InputError(f"error {self.error!r} is unknown; allowed: {', '.join(ERRORS)}")
        if not (math.isfinite(self.depth_penalty) and self.depth_penalty >= 0):
            raise InputError(f"depth penalty {self.depth_penalty!r} must be a finite number >= 0")

    def __call__(self, approx) -> dict:
        x, w = self.distribution.nodes()
        with np.errstate(all="ignore"):
            diff = approx(x) - approx.target(x)
            err = float(np.sum(w * (diff * diff if self.error == "mse" else np.abs(diff))))
        levels = int(approx.depth.get("ckks_levels", 0)) if approx.depth else 0
        score = err + self.depth_penalty * levels if math.isfinite(err) else float("nan")
        return {"score": score, self.error: err, "ckks_levels": levels}

    def describe(self) -> dict:
        return {"kind": "expected_error", "error": self.error, "depth_penalty": self.depth_penalty,
                "distribution": self.distribution.describe(), "direction": self.direction}


# ---------------------------------------------------------------------------------------
# (b) a network with every activation replaced
# ---------------------------------------------------------------------------------------
def top1_correct(outputs, labels):
    """Per-sample 1.0 where argmax(outputs) == labels, else 0.0 (a torch tensor)."""
    return (outputs.argmax(dim=-1) == labels).to(outputs.dtype)


@dataclass
class NetworkAccuracy:
    """Mean per-sample metric of ``model`` on ``loader`` with every activation replaced.

    Args:
        model: a trained ``torch.nn.Module`` (not modified: each call works on a deep copy).
        loader: an iterable of ``(inputs, labels)`` batches (e.g. a DataLoader).
        metric: ``metric(outputs, labels) -> per-sample tensor`` in [0, 1]; default top-1.
        activation_types: module types to replace (default ``(torch.nn.ReLU,)``). A model
            without any such module is an error: functional ``F.relu`` calls cannot be reached.
        device: where to run (default: where the model's parameters are).

    Returns (per call) ``{"score": accuracy, "nan_rate": r, "replaced": n}``: samples whose
    output row holds a non-finite value score 0 and are counted in ``nan_rate``.
    """

    model: Any
    loader: Any
    metric: Callable | None = None
    activation_types: tuple | None = None
    device: Any = None

    direction = "maximize"
    log_scale = False

    def __post_init__(self):
        import torch

        if not isinstance(self.model, torch.nn.Module):
            raise InputError(f"model must be a torch.nn.Module, got {type(self.model).__name__}")
        types = tuple(self.activation_types) if self.activation_types else (torch.nn.ReLU,)
        self.activation_types = types
        if not any(isinstance(m, types) for m in self.model.modules()):
            names = ", ".join(t.__name__ for t in types)
            raise InputError(f"model has no {names} module to replace (functional calls such as F.relu cannot be reached)")

    def network(self, approx):
        """A copy of the model with every activation replaced by ``approx`` (eval mode).

        Uses :func:`polyfit.torch.replace_activations` with one
        :class:`polyfit.torch.PolyActivation` (fixed coefficients) per site.
        """
        return self._replace(approx)[0]

    def _replace(self, approx):
        from .torch import PolyActivation, replace_activations

        net, report = replace_activations(self.model, lambda site: PolyActivation(approx),
                                          kinds=self.activation_types)
        return net.eval(), report

    def __call__(self, approx) -> dict:
        import torch

        net, report = self._replace(approx)
        device = self.device or next((p.device for p in net.parameters()), torch.device("cpu"))
        net.to(device)
        metric = self.metric or top1_correct
        total = correct = nonfinite = 0.0
        with torch.no_grad():
            for inputs, labels in self.loader:
                inputs, labels = inputs.to(device), labels.to(device)
                out = net(inputs)
                ok = torch.isfinite(out.reshape(out.shape[0], -1)).all(dim=1)
                per_sample = torch.as_tensor(metric(out, labels), dtype=torch.float64).reshape(-1)
                per_sample = torch.where(ok.to(per_sample.device), per_sample, torch.zeros_like(per_sample))
                total += out.shape[0]
                correct += float(per_sample.sum())
                nonfinite += float((~ok).sum())
        if total == 0:
            raise InputError("the data loader yielded no samples")
        return {"score": correct / total, "nan_rate": nonfinite / total, "replaced": len(report),
                "samples": int(total)}

    def describe(self) -> dict:
        return {"kind": "network", "model": type(self.model).__name__,
                "activations": [t.__name__ for t in self.activation_types],
                "metric": getattr(self.metric, "__name__", "top1_correct") if self.metric else "top1_correct",
                "nan_policy": "non-finite outputs count as wrong", "direction": self.direction}


# ---------------------------------------------------------------------------------------
# (c) any callable
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CallableObjective:
    """Wraps ``func(approx) -> float | dict`` with its direction."""

    func: Callable
    direction: str = "minimize"
    log_scale: bool = False

    def __post_init__(self):
        if not callable(self.func):
            raise InputError(f"objective {self.func!r} is not callable")
        if self.direction not in DIRECTIONS:
            raise InputError(f"direction {self.direction!r} is unknown; allowed: {', '.join(DIRECTIONS)}")

    def __call__(self, approx):
        return self.func(approx)

    def describe(self) -> dict:
        return {"kind": "callable", "name": getattr(self.func, "__name__", type(self.func).__name__),
                "direction": self.direction, "log_scale": self.log_scale}


# ---------------------------------------------------------------------------------------
# Resolution and the CLI spec language
# ---------------------------------------------------------------------------------------
def resolve_objective(objective, direction=None):
    """A spec string, one of the objective classes, or a callable → an objective object.

    ``direction`` overrides the objective's own (callables default to ``"minimize"``).
    """
    if isinstance(objective, str):
        obj = parse_objective(objective)
    elif isinstance(objective, (ExpectedError, NetworkAccuracy, CallableObjective)):
        obj = objective
    elif callable(objective) and hasattr(objective, "direction") and hasattr(objective, "describe"):
        obj = objective  # a user's objective class following the same protocol
    elif callable(objective):
        obj = CallableObjective(objective, direction or "minimize")
    else:
        raise InputError(f"objective {objective!r} must be a spec string (e.g. 'gaussian:sigma=2'), "
                         "an objective object or a callable Approximation -> score")
    if direction is not None and direction != obj.direction:
        if direction not in DIRECTIONS:
            raise InputError(f"direction {direction!r} is unknown; allowed: {', '.join(DIRECTIONS)}")
        if not isinstance(obj, CallableObjective):
            raise InputError(f"direction {direction!r} conflicts with the objective's own ({obj.direction})")
    return obj


def parse_objective(spec: str) -> ExpectedError:
    """Parse ``KIND:key=value,key=value`` into an :class:`ExpectedError`.

    Kinds: ``gaussian:sigma=S[,mean=M]``, ``uniform:a=A`` (i.e. [−A, A]) or
    ``uniform:lo=L,hi=H``, ``samples:path=FILE`` (``.npy``, or text with one number per
    whitespace/comma). Common keys: ``error=mse|mae``, ``depth_penalty=λ``, ``points=N``.

    >>> parse_objective("gaussian:sigma=2").distribution.params
    {'sigma': 2.0, 'mean': 0.0}
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(f"objective spec {spec!r} is empty; allowed: gaussian:sigma=S, uniform:a=A, uniform:lo=L,hi=H, samples:path=FILE")
    kind, _, rest = spec.strip().partition(":")
    kind = kind.strip().lower()
    if kind not in DISTRIBUTIONS:
        raise InputError(f"objective {spec!r}: unknown kind {kind!r}; allowed: gaussian:sigma=S, uniform:a=A, "
                         "uniform:lo=L,hi=H, samples:path=FILE")
    pairs: dict[str, str] = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip() or not value.strip():
            raise InputError(f"objective {spec!r}: {item!r} is not key=value")
        pairs[key.strip().lower()] = value.strip()
    error = pairs.pop("error", "mse")
    penalty = _number(spec, "depth_penalty", pairs.pop("depth_penalty", "0"))
    points = pairs.pop("points", None)
    points = int(_number(spec, "points", points)) if points is not None else DEFAULT_QUADRATURE_POINTS
    if kind == "samples":
        path = pairs.pop("path", None)
        if path is None or pairs:
            raise InputError(f"objective {spec!r}: samples takes path=FILE (plus error, depth_penalty), got {sorted(pairs) or 'no path'}")
        dist = InputDistribution("samples", samples=load_samples(path))
    else:
        params = {k: _number(spec, k, v) for k, v in pairs.items()}
        if kind == "uniform" and "a" in params:
            a = params.pop("a")
            if a <= 0 or params:
                raise InputError(f"objective {spec!r}: uniform takes a > 0 alone, or lo and hi")
            params = {"lo": -a, "hi": a}
        dist = InputDistribution(kind, params, points=points)
    return ExpectedError(dist, error=error, depth_penalty=penalty)


def load_samples(path) -> np.ndarray:
    """Samples from a ``.npy`` file or a text file of numbers (whitespace or comma separated)."""
    path = str(path)
    try:
        if path.endswith(".npy"):
            data = np.load(path, allow_pickle=False)
        else:
            with open(path, encoding="utf-8") as fh:
                data = np.array(fh.read().replace(",", " ").split(), dtype=float)
    except FileNotFoundError:
        raise InputError(f"samples file {path!r} not found") from None
    except (OSError, ValueError) as exc:
        raise InputError(f"samples file {path!r} is not readable as numbers: {' '.join(str(exc).split())}") from None
    return np.asarray(data, dtype=float).ravel()


def _number(spec: str, key: str, text) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"objective {spec!r}: {key}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"objective {spec!r}: {key}={text!r} must be finite")
    return value
