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
    the search explores. The quadrature follows the integrand (:mod:`.distributions`).
(b) :class:`~polyfit.torch.search_objective.NetworkAccuracy` — a trained torch model with every
    activation replaced by the polynomial (in the torch adapter, above the search: the search
    calls it through the objective protocol, ``direction`` and ``describe``, without importing it).
(c) :class:`CallableObjective` — any callable Approximation → score (or dict).

:func:`parse_objective` turns the CLI spec strings (``gaussian:sigma=2``) into (a).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ...errors import InputError
from .distributions import DEFAULT_QUADRATURE_POINTS, DISTRIBUTIONS, QUADRATURE_RTOL, InputDistribution, load_samples

DIRECTIONS = ("minimize", "maximize")
ERRORS = ("mse", "mae")


# ---------------------------------------------------------------------------------------
# (a) expected approximation error
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpectedError:
    """E_{x~D}[(p(x) − f(x))²] (``error="mse"``) or E|p − f| (``"mae"``), + λ·ckks_levels.

    The expectation is taken by :meth:`InputDistribution.expectation` with the integrand's
    growth k = m·d (m = 2 for mse, 1 for mae; d the approximation's degree), so the
    Gaussian support and the grid follow the polynomial. Non-finite values (a polynomial
    overflowing on D's tail) make the score NaN: the search counts the point as failed.

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
        target = approx.target
        squared = self.error == "mse"

        def integrand(x):
            diff = approx(x) - target(x)
            return diff * diff if squared else np.abs(diff)

        err, quadrature = self.distribution.expectation(integrand, power=(2 if squared else 1) * max(approx.degree, 1))
        levels = int(approx.depth.get("ckks_levels", 0)) if approx.depth else 0
        score = err + self.depth_penalty * levels if math.isfinite(err) else float("nan")
        return {"score": score, self.error: err, "ckks_levels": levels, "quadrature": quadrature}

    def describe(self) -> dict:
        return {"kind": "expected_error", "error": self.error, "depth_penalty": self.depth_penalty,
                "distribution": self.distribution.describe(), "direction": self.direction}

    def label(self) -> str:
        """One readable line for reports."""
        penalty = f" + {self.depth_penalty:g}·levels" if self.depth_penalty else ""
        return f"{self.error}{penalty} under {self.distribution.label()}"


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
    elif isinstance(objective, (ExpectedError, CallableObjective)):
        obj = objective
    elif callable(objective) and hasattr(objective, "direction") and hasattr(objective, "describe"):
        obj = objective  # NetworkAccuracy (polyfit.torch) or a user's objective class following the same protocol
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
    whitespace/comma). Common keys: ``error=mse|mae``, ``depth_penalty=λ``, ``points=N`` (initial grid), ``rtol=R``
    (quadrature tolerance).

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
        if key.strip().lower() in pairs:  # formerly the last one silently won
            raise InputError(f"objective {spec!r}: {key.strip()!r} is given twice; give each key once")
        pairs[key.strip().lower()] = value.strip()
    error = pairs.pop("error", "mse")
    penalty = _number(spec, "depth_penalty", pairs.pop("depth_penalty", "0"))
    points = pairs.pop("points", None)
    points = _whole(spec, "points", points) if points is not None else DEFAULT_QUADRATURE_POINTS
    rtol = _number(spec, "rtol", pairs.pop("rtol", str(QUADRATURE_RTOL)))
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
        dist = InputDistribution(kind, params, points=points, rtol=rtol)
    return ExpectedError(dist, error=error, depth_penalty=penalty)


def _number(spec: str, key: str, text) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise InputError(f"objective {spec!r}: {key}={text!r} is not a number") from None
    if not math.isfinite(value):
        raise InputError(f"objective {spec!r}: {key}={text!r} must be finite")
    return value


def _whole(spec: str, key: str, text) -> int:
    value = _number(spec, key, text)
    if not value.is_integer():
        raise InputError(f"objective {spec!r}: {key}={text!r} must be a whole number")
    return int(value)
