"""The fitting problem every solver receives, built from checked inputs (:mod:`polyfit.validate`).

A :class:`FitProblem` is the complete statement of what a solver optimises: target,
domain, degree, norm, grid, weights, integer constraints. ``objective_dict`` writes it into
the artifact so anyone can re-solve it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .basis import chebyshev_nodes
from .errors import InputError
from .metrics import DEFAULT_GRID_POINTS, metric_grid, outside
from .targets import Target, get_target
from .validate import (check_bits, check_callable_output, check_degree, check_domain, check_exclude, check_input_scale,
                       check_points, check_samples)

GRID_KINDS = ("uniform", "chebyshev")
DEFAULT_POINTS = 1000


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
    input_scale = check_input_scale(input_scale, domain)
    if samples is not None:
        samples = check_samples(samples, degree)
    exclude = check_exclude(exclude, domain)
    problem = FitProblem(target, degree, domain, norm, grid, points, weight, samples, basis, input_scale,
                         frac_bits, solver, compat, exclude, dict(options or {}))
    if target.expr is None:
        _check_target_output(problem)
    return problem


def _check_target_output(problem: FitProblem) -> None:
    """A Python callable must return one real, finite number per input on the fitting grid and
    on the metric grid (:func:`polyfit.validate.check_callable_output`)."""
    parts = [metric_grid(problem.domain, DEFAULT_GRID_POINTS, problem.exclude)]
    if problem.grid != "continuous" or problem.samples is not None:
        parts.insert(0, problem.grid_x())
    check_callable_output(problem.target.name, problem.target.func, np.concatenate(parts))
