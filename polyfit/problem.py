"""The fitting problem every solver receives, and the validation of its inputs.

A :class:`FitProblem` is the complete statement of what a solver optimises: target,
domain, degree, norm, grid, weights, integer constraints. ``objective_dict`` writes it into
the artifact so anyone can re-solve it.
"""
from __future__ import annotations

import hashlib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .errors import InputError
from .metrics import outside
from .targets import Target, get_target

MAX_DEGREE = 1000
MAX_BITS = 52
GRID_KINDS = ("uniform", "chebyshev")
DEFAULT_POINTS = 1000
MAX_POINTS = 1_000_000            # grid points or samples of one fit
MAX_MATRIX_ENTRIES = 50_000_000   # points × (degree + 1): the least-squares matrix, 400 MB of float64


def check_integer(value, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` as an int with lo ≤ value ≤ hi (no upper bound when ``hi`` is None).

    Only Python and numpy integers pass (not bools, floats or strings); the InputError reads
    "<name> <value> must be an integer from <lo> to <hi>" (or "≥ <lo>").
    """
    if (isinstance(value, bool) or not isinstance(value, (int, np.integer))
            or value < lo or (hi is not None and value > hi)):
        allowed = f"≥ {lo}" if hi is None else f"from {lo} to {hi}"
        raise InputError(f"{name} {value!r} must be an integer {allowed}")
    return int(value)


def real_number(value, name: str) -> float:
    """``value`` as a float when it is a real number (Python or numpy; not a bool, not a string).

    Strings are not numbers: ``"10"`` is refused like any other text, with an InputError that
    names the value. Finiteness is the caller's to check.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise InputError(f"{name} {value!r} must be a number, not {type(value).__name__}")
    return float(value)


def check_degree(degree) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) and not (
        isinstance(degree, float) and degree.is_integer()
    ):
        raise InputError(f"degree {degree!r} must be an integer from 0 to {MAX_DEGREE}")
    degree = int(degree)
    if not 0 <= degree <= MAX_DEGREE:
        raise InputError(f"degree {degree} is out of range; allowed: 0 to {MAX_DEGREE}")
    return degree


def check_domain(domain) -> tuple[float, float]:
    """``A`` (meaning [-A, A], A > 0 finite) or ``(lo, hi)`` with lo < hi, both finite."""
    if isinstance(domain, numbers.Real) and not isinstance(domain, (bool, np.bool_)):
        a = float(domain)
        if not math.isfinite(a) or a <= 0:
            raise InputError(f"range {domain!r} must be a finite number > 0 (the domain is [-A, A])")
        return (-a, a)
    try:
        if isinstance(domain, (str, bytes)):  # "12" would otherwise unpack to (1, 2)
            raise TypeError
        lo, hi = (real_number(v, "domain end") for v in domain)
    except (TypeError, ValueError):
        raise InputError(f"domain {domain!r} must be a number A > 0 or a pair (lo, hi)") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"domain ({lo}, {hi}) must be finite")
    if not lo < hi:
        raise InputError(f"domain lo {lo:g} must be < hi {hi:g}")
    return (lo, hi)


def _whole_number(value) -> int | None:
    """``value`` as an int when it is a whole number (10, numpy 10 or 10.0), else None.

    Strings are not numbers: ``"10"`` gives None, like ``degree="4"`` always did.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return int(number) if number.is_integer() else None


def check_bits(bits) -> int | None:
    if bits is None:
        return None
    frac_bits = _whole_number(bits)
    if frac_bits is None or not 1 <= frac_bits <= MAX_BITS:
        text = " (a string is not a number)" if isinstance(bits, (str, bytes)) else ""
        raise InputError(f"bits {bits!r} is out of range; allowed: integers 1 to {MAX_BITS}{text}")
    return frac_bits


def max_points(degree: int) -> int:
    """The most grid points (or samples) a fit of this degree may use: ≤ 1,000,000 and
    points × (degree + 1) ≤ 5·10^7 (the least-squares matrix)."""
    return min(MAX_POINTS, MAX_MATRIX_ENTRIES // (int(degree) + 1))


def check_points(points, degree: int) -> int | None:
    if points is None:
        return None
    count = _whole_number(points)
    top = max_points(degree)
    if count is None or not degree < count <= top:
        text = ", not a string" if isinstance(points, (str, bytes)) else ""
        raise InputError(f"points {points!r} must be an integer from {degree + 1} to {top} at degree {degree}{text} "
                         "(more than the degree; at most 1,000,000, and points × (degree + 1) ≤ 5e7)")
    return count


def chebyshev_nodes(domain, points: int) -> np.ndarray:
    """Chebyshev points of the first kind mapped to ``domain``, ascending."""
    lo, hi = domain
    k = np.arange(points)
    t = -np.cos((2 * k + 1) * np.pi / (2 * points))
    return 0.5 * (hi + lo) + 0.5 * (hi - lo) * t


def chebyshev_extrema(domain, points: int) -> np.ndarray:
    """Chebyshev points of the second kind (Chebyshev–Lobatto: the extrema of T_(n−1)) mapped
    to ``domain``, ascending, both ends included exactly:

        x_k = (hi + lo)/2 − (hi − lo)/2 · cos(π k/(n − 1)),   k = 0 … n − 1   (n = 1: x_0 = lo).

    >>> chebyshev_extrema((0.0, 1.0), 3)
    array([0. , 0.5, 1. ])
    """
    lo, hi = domain
    t = -np.cos(np.pi * np.arange(points) / max(points - 1, 1))
    x = 0.5 * (hi + lo) + 0.5 * (hi - lo) * t
    if points >= 1:
        x[0] = lo
    if points >= 2:
        x[-1] = hi
    return x


@dataclass(frozen=True)
class FitProblem:
    """What a solver optimises.

    The polynomial is in the stage variable t = input_scale·x, so the fitting interval in t
    is ``input_scale · domain``. ``weight`` is None (uniform), a density callable w(x), or
    ``samples`` replace the grid (sample-weighted least squares: each sample weighs 1).
    """

    target: Target
    degree: int
    domain: tuple[float, float]
    norm: str = "l2"                  # "l2" or "linf"
    grid: str = "uniform"             # "uniform", "chebyshev" or "continuous" (l2 only)
    points: int | None = None
    weight: Callable | None = None
    samples: np.ndarray | None = field(default=None, repr=False)
    basis: str = "monomial"
    input_scale: float = 1.0
    frac_bits: int | None = None
    solver: str = "exact"
    compat: str | None = None
    exclude: tuple[float, float] | None = None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def t_domain(self) -> tuple[float, float]:
        a, b = self.domain[0] * self.input_scale, self.domain[1] * self.input_scale
        return (min(a, b), max(a, b))

    def grid_x(self) -> np.ndarray:
        """Discrete fitting points in x (samples if given, else the grid)."""
        if self.samples is not None:
            return np.asarray(self.samples, dtype=float)
        points = self.points or DEFAULT_POINTS
        if self.grid == "chebyshev":
            x = chebyshev_nodes(self.domain, points)
        else:
            x = np.linspace(self.domain[0], self.domain[1], points)
        return outside(x, self.exclude)

    def grid_weights(self, x) -> np.ndarray:
        """Weight per fitting point: 1, or w(x) for a density."""
        if self.weight is None:
            return np.ones_like(x)
        w = np.asarray(self.weight(x), dtype=float)
        if w.shape != x.shape or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InputError("weight function must return finite, non-negative values, one per point")
        return w

    def objective_dict(self, **extra) -> dict:
        """The ``objective`` of the artifact: enough to re-solve the problem."""
        out: dict[str, Any] = {"norm": self.norm}
        if self.samples is not None:
            s = np.ascontiguousarray(self.samples, dtype=float)
            out["grid"] = {"kind": "samples", "points": int(s.size), "sha256": hashlib.sha256(s.tobytes()).hexdigest()}
        elif self.grid == "continuous":
            out["grid"] = {"kind": "continuous", "measure": "lebesgue on the domain"}
        elif self.norm == "l2" or self.points is not None:
            out["grid"] = {"kind": self.grid, "points": self.points or DEFAULT_POINTS}
        if self.weight is None:
            out["weight"] = "uniform"
        else:
            out["weight"] = {"kind": "density", "name": getattr(self.weight, "__name__", type(self.weight).__name__)}
        if self.input_scale != 1.0:
            out["variable"] = {"name": "t", "definition": "t = input_scale * x", "input_scale": self.input_scale}
        if self.exclude is not None:
            out["exclude"] = [float(self.exclude[0]), float(self.exclude[1])]
        out.update(extra)
        return out


def make_problem(target, degree, domain, *, norm="l2", grid="uniform", points=None, weight=None, samples=None,
                 basis="monomial", input_scale=1.0, bits=None, solver="exact", compat=None, exclude=None,
                 options=None) -> FitProblem:
    """Validate user inputs and build a :class:`FitProblem` (raises InputError, one line)."""
    target = get_target(target)
    degree = check_degree(degree)
    domain = check_domain(domain)
    frac_bits = check_bits(bits)
    points = check_points(points, degree)
    if norm not in ("l2", "linf"):
        raise InputError(f"norm {norm!r} is not allowed; allowed: l2, linf")
    if grid not in GRID_KINDS + ("continuous",):
        raise InputError(f"grid {grid!r} is not allowed; allowed: uniform, chebyshev, continuous")
    if basis not in ("monomial", "chebyshev"):
        raise InputError(f"basis {basis!r} is not allowed; allowed: monomial, chebyshev")
    if solver not in ("exact", "gekko"):
        raise InputError(f"solver {solver!r} is not allowed; allowed: exact, gekko")
    if compat not in (None, "pillar"):
        raise InputError(f"compat {compat!r} is not allowed; allowed: pillar")
    try:
        scale = real_number(input_scale, "input_scale")
    except InputError:
        scale = math.nan
    if not math.isfinite(scale) or scale == 0.0:
        raise InputError(f"input_scale {input_scale!r} must be a finite, non-zero number")
    input_scale = scale
    if samples is not None:
        samples = _check_samples(samples, degree)
    if exclude is not None:
        try:
            if isinstance(exclude, (str, bytes)):
                raise TypeError
            a, b = (real_number(v, "exclude end") for v in exclude)
        except (TypeError, ValueError):
            raise InputError(f"exclude {exclude!r} must be a pair (a, b) of numbers") from None
        if not a < b:
            raise InputError(f"exclude {exclude!r} must have a < b")
        exclude = (a, b)
    problem = FitProblem(target, degree, domain, norm, grid, points, weight, samples, basis, input_scale,
                         frac_bits, solver, compat, exclude, dict(options or {}))
    if target.expr is None:
        check_callable_output(problem)
    return problem


def _check_samples(samples, degree: int) -> np.ndarray:
    """Samples as a flat float array: real numbers (not strings), finite, more than the degree,
    at most :func:`max_points`."""
    raw = np.asarray(samples)
    if raw.dtype.kind not in "biuf":
        raise InputError(f"samples must be real numbers; got an array of {raw.dtype} (strings are not numbers)")
    samples = raw.astype(float).ravel()
    top = max_points(degree)
    if not degree < samples.size <= top or not np.all(np.isfinite(samples)):
        raise InputError(f"samples must be finite and from {degree + 1} to {top} values at degree {degree}; "
                         f"got {samples.size}" + ("" if np.all(np.isfinite(samples)) else " with non-finite values"))
    return samples


def check_callable_output(problem: FitProblem) -> None:
    """A Python callable must return one real, finite number per input on the fitting grid and
    on the metric grid; anything else is one InputError naming what it returned."""
    from .metrics import DEFAULT_GRID_POINTS, metric_grid

    target = problem.target
    parts = [metric_grid(problem.domain, DEFAULT_GRID_POINTS, problem.exclude)]
    if problem.grid != "continuous" or problem.samples is not None:
        parts.insert(0, problem.grid_x())
    x = np.concatenate(parts)
    allowed = f"target callable {target.name!r} must return one real, finite number per input (shape {x.shape})"
    try:
        with np.errstate(all="ignore"):
            raw = target.func(x.copy())
    except Exception as exc:  # the user's code: report it on one line, whatever it raised
        raise InputError(f"{allowed}; calling it raised {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    try:
        values = np.asarray(raw)
    except Exception:  # an object numpy cannot read as an array
        values = np.asarray(None, dtype=object)
    if values.dtype.kind == "c":
        raise InputError(f"{allowed}; it returned complex values (e.g. {complex(values.ravel()[0])})")
    if values.dtype.kind not in "biuf":
        raise InputError(f"{allowed}; it returned {type(raw).__name__} of dtype {values.dtype}")
    if values.shape != x.shape:
        raise InputError(f"{allowed}; it returned shape {values.shape}")
    bad = ~np.isfinite(values.astype(float))
    if np.any(bad):
        raise InputError(f"{allowed}; it returned {float(values[bad][0])} at x = {x[bad][0]:g}")
