"""Input distributions of the search objectives and the quadrature that takes expectations
under them: E_{x~D}[g(x)] for an integrand g such as (p(x) − f(x))².

Per distribution (the rules and their errors; docs/search.md has the measurements):

- ``gaussian`` N(μ, σ²): μ ± t·σ. The support follows the integrand:
  an error |p − f|^m of a degree-d polynomial grows like |x|^k, k = m·d, so t is the
  smallest value (at least 10) at which the tail of |z|^k·φ(z) beyond t holds less than
  ``TAIL_RTOL`` of its mass; then, because the target may grow faster than a polynomial
  (exp), t grows by 2 while the outermost σ of either side still holds more than
  ``TAIL_RTOL`` of the computed expectation (at most ``GAUSSIAN_MAX_SIGMAS``, where φ
  underflows). Error: the cut tail, < ``TAIL_RTOL`` relative, plus the grid error below.
- ``uniform`` U(lo, hi): [lo, hi] (the support is exact).
- both: the resolution follows the integrand too. The rule is Simpson's (the trapezoid rule
  T_h with one Richardson step, S_h = (4·T_h − T_2h)/3); the grid starts at ``points`` nodes
  (rounded up to 8m + 1, so that a symmetric support's centre, where ReLU-like targets have
  their kink, is a panel edge at every level) and doubles while |S_h − S_2h| exceeds
  ``rtol`` relative (S_2h from every other node: no extra evaluation). With the kink on a
  panel edge the squared error is O(h⁴); |p − f| (MAE) has kinks wherever p crosses f and
  converges as O(h²), which the same estimate covers (measured: docs/search.md). The
  estimate is returned with the value.
- ``samples``: the mean over the samples — exact for the empirical distribution; the
  sampling standard error of that mean (an estimate of the error against the population
  the samples came from) is returned with it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ...errors import InputError
from ...validate import check_integer

DISTRIBUTIONS = ("gaussian", "uniform", "samples")
#: Initial grid nodes (8m + 1: the centre of a symmetric support is a panel edge at every level).
DEFAULT_QUADRATURE_POINTS = 8001
#: Target relative error of the grid (|S_h − S_2h| / |S_h|).
QUADRATURE_RTOL = 1e-6
#: The grid stops doubling here (2^20 + 1 nodes: ~40 ms of evaluation for degree 31).
MAX_QUADRATURE_POINTS = 2 ** 20 + 1
#: Relative mass allowed beyond the Gaussian support.
TAIL_RTOL = 1e-13
GAUSSIAN_MIN_SIGMAS = 10.0
#: φ(z) underflows float64 beyond z ≈ 38.6: nothing out there is representable.
GAUSSIAN_MAX_SIGMAS = 38.0


def gaussian_support_sigmas(power: float, tail: float = TAIL_RTOL) -> float:
    """Smallest t ≥ 10 with ∫_{|z|>t} |z|^k φ(z) dz ≤ tail · E|z|^k, k = ``power``.

    Uses the bound ∫_t^∞ z^k e^{−z²/2} dz ≤ t^k e^{−t²/2} / (t − k/t) for t² > k, and
    ∫_0^∞ z^k e^{−z²/2} dz = 2^{(k−1)/2} Γ((k+1)/2). For k = 62 (MSE of degree 31): t = 13.6.

    >>> gaussian_support_sigmas(0), gaussian_support_sigmas(62)
    (10.0, 13.6)
    """
    k = float(max(power, 0.0))
    log_mass = 0.5 * (k - 1) * math.log(2.0) + math.lgamma(0.5 * (k + 1))
    t = max(GAUSSIAN_MIN_SIGMAS, math.sqrt(k) + 1.0)
    while t < GAUSSIAN_MAX_SIGMAS:
        log_tail = k * math.log(t) - 0.5 * t * t - math.log(t - k / t)
        if log_tail - log_mass <= math.log(tail):
            break
        t += 0.1
    return round(min(t, GAUSSIAN_MAX_SIGMAS), 6)


@dataclass(frozen=True)
class InputDistribution:
    """A distribution of activation inputs and the rule that takes expectations under it.

    Attributes:
        kind: ``"gaussian"`` (params mean, sigma), ``"uniform"`` (params lo, hi) or
            ``"samples"`` (the ``samples`` array, each weighing 1/n).
        params: the numbers above.
        samples: the sample array for ``"samples"``.
        points: initial grid nodes for gaussian/uniform (rounded up to 8m + 1; the grid
            doubles from here until the error estimate is below ``rtol``).
        rtol: target relative error of the quadrature.
    """

    kind: str
    params: dict = field(default_factory=dict)
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    points: int = DEFAULT_QUADRATURE_POINTS
    rtol: float = QUADRATURE_RTOL

    def __post_init__(self):
        if self.kind not in DISTRIBUTIONS:
            raise InputError(f"distribution {self.kind!r} is unknown; allowed: {', '.join(DISTRIBUTIONS)}")
        points = check_integer(self.points, "quadrature points", 3, MAX_QUADRATURE_POINTS)
        object.__setattr__(self, "points", 8 * -(-(points - 1) // 8) + 1)   # centre node on a panel edge
        if isinstance(self.rtol, bool) or not isinstance(self.rtol, (int, float)) or not 1e-14 <= self.rtol <= 0.1:
            raise InputError(f"quadrature rtol {self.rtol!r} must be a number from 1e-14 to 0.1")
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

    # -- quadrature -----------------------------------------------------------------------
    def expectation(self, g: Callable, power: float = 2.0) -> tuple[float, dict]:
        """E_{x~D}[g(x)] and what the rule did.

        Args:
            g: vectorised integrand (numpy in, numpy out), e.g. x ↦ (p(x) − f(x))².
            power: k with g(x) = O(|x|^k) as |x| → ∞ (2·degree for a squared polynomial
                error): sets the Gaussian support before the a-posteriori tail check.

        Returns:
            (value, info): info holds ``rule``, and for gaussian/uniform ``points``,
            ``support`` [lo, hi] and ``error_estimate`` (relative, Richardson; the cut
            Gaussian tail adds < ``TAIL_RTOL``); for samples ``count`` and
            ``standard_error`` (absolute, of the sample mean). NaN when g overflows.
        """
        if self.kind == "samples":
            values = np.asarray(g(self.samples), dtype=float)
            value = float(np.mean(values))
            se = float(np.std(values) / math.sqrt(values.size)) if math.isfinite(value) else float("nan")
            return value, {"rule": "sample mean", "count": int(values.size), "standard_error": se}
        if self.kind == "uniform":
            lo, hi = self.params["lo"], self.params["hi"]
            return self._refined(g, lambda x: np.ones_like(x), lo, hi, self.points)
        mean, sigma = self.params["mean"], self.params["sigma"]
        t = gaussian_support_sigmas(power)
        density = lambda x: np.exp(-0.5 * ((x - mean) / sigma) ** 2)  # noqa: E731 (normalised by the rule)
        while True:
            lo, hi = mean - t * sigma, mean + t * sigma
            x, w = _trapezoid(lo, hi, self.points, density)
            with np.errstate(all="ignore"):
                gx = np.asarray(g(x), dtype=float)
                gw = w * gx
            total = float(np.sum(gw))
            if not math.isfinite(total):
                return float("nan"), {"rule": "simpson", "points": int(x.size), "support": [lo, hi],
                                      "error_estimate": None}
            outer = float(np.sum(gw[np.abs(x - mean) > (t - 1.0) * sigma]))
            if t >= GAUSSIAN_MAX_SIGMAS or abs(outer) <= TAIL_RTOL * abs(total):
                break
            t = min(GAUSSIAN_MAX_SIGMAS, t + 2.0)
        return self._refined(g, density, lo, hi, self.points, first=(w, gx))

    def _refined(self, g, density, lo, hi, points, first=None) -> tuple[float, dict]:
        """Simpson's rule (one Richardson step on the trapezoid: S_h = (4·T_h − T_2h)/3) on
        [lo, hi], doubling the grid until |S_h − S_2h| ≤ rtol·|S_h|. T_2h and T_4h use every
        2nd and 4th node, so each level costs one evaluation of g. ``first``: weights and
        integrand values already computed on the initial grid."""
        while True:
            if first is not None:
                (w, gx), first = first, None
            else:
                x, w = _trapezoid(lo, hi, points, density)
                with np.errstate(all="ignore"):
                    gx = np.asarray(g(x), dtype=float)
            with np.errstate(all="ignore"):
                sums = [float(np.sum(w * gx))]
                for step in (2, 4):
                    _, ws = _trapezoid(lo, hi, (points - 1) // step + 1, density)
                    sums.append(float(np.sum(ws * gx[::step])))
            info = {"rule": "simpson", "points": points, "support": [lo, hi], "error_estimate": None}
            if not all(math.isfinite(v) for v in sums):
                return float("nan"), info
            fine, coarse = (4 * sums[0] - sums[1]) / 3, (4 * sums[1] - sums[2]) / 3
            estimate = abs(fine - coarse)
            relative = estimate / abs(fine) if fine != 0 else (0.0 if estimate == 0 else float("inf"))
            if relative <= self.rtol or 2 * points - 1 > MAX_QUADRATURE_POINTS:
                return fine, {**info, "error_estimate": float(min(relative, 1e300))}
            points = 2 * points - 1

    def nodes(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, w) of the initial rule with Σ w = 1 (support for a degree-1 integrand);
        :meth:`expectation` refines both to the integrand."""
        if self.kind == "samples":
            return self.samples, np.full(self.samples.size, 1.0 / self.samples.size)
        if self.kind == "uniform":
            return _trapezoid(self.params["lo"], self.params["hi"], self.points, np.ones_like)
        mean, sigma = self.params["mean"], self.params["sigma"]
        t = gaussian_support_sigmas(2.0)
        return _trapezoid(mean - t * sigma, mean + t * sigma, self.points,
                          lambda x: np.exp(-0.5 * ((x - mean) / sigma) ** 2))

    def describe(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, **self.params}
        if self.kind == "samples":
            out["count"] = int(self.samples.size)
            out["quadrature"] = {"rule": "sample mean"}
        else:
            out["quadrature"] = {"rule": "simpson", "points": int(self.points), "rtol": float(self.rtol),
                                 "refinement": "grid doubles until |S_h - S_2h| <= rtol |S_h|"}
            if self.kind == "gaussian":
                out["quadrature"]["support"] = ("mean ± t·sigma, t ≥ 10 from the integrand's growth "
                                                f"(tail mass < {TAIL_RTOL:g})")
        return out

    def label(self) -> str:
        """One readable line: ``gaussian sigma 2, mean 0 (Simpson, ≥ 8001 points, rtol 1e-06)``."""
        if self.kind == "samples":
            return f"samples ({self.samples.size} values, sample mean)"
        params = ", ".join(f"{k} {v:g}" for k, v in self.params.items())
        return f"{self.kind} {params} (Simpson, ≥ {self.points} points, rtol {self.rtol:g})"


def _trapezoid(lo: float, hi: float, points: int, density) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and normalised weights (Σ w = 1) of the trapezoid rule for ∫ g·density."""
    x = np.linspace(lo, hi, points)
    w = np.asarray(density(x), dtype=float).copy()
    w[0] *= 0.5
    w[-1] *= 0.5
    return x, w / w.sum()


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
