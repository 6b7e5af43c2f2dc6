"""The approximation model: stages, composition, combine (SPEC §2), as plain values.

An :class:`Approximation` evaluates

    y(x) = combine(x, s_k(… s_2(s_1(input_scale · x))))

with stages applied first to last and ``combine`` one of

    none: y = s      relu: y = (x + x·s)/2      abs: y = x·s      step: y = (1 + s)/2.

Objects are immutable; solvers build them through :func:`polyfit.reports.assemble`, which
attaches the metrics, depth and precision reports.

The value carries its own dict form (:meth:`Approximation.to_dict`, SPEC §3), writes itself
atomically (:meth:`~Approximation.save`, through :mod:`polyfit.atomic`) and draws itself
(:meth:`~Approximation.plot`, through :mod:`polyfit.plot`, which never fits): all three need
nothing above the value layer. Reading a file back — validating every section — is
:mod:`polyfit.artifact`'s job (docs/architecture.md).
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import basis as _basis
from ._version import __version__
from .errors import InputError
from .jsonio import json_ready
from .targets import Target

COMBINES = ("none", "relu", "abs", "step")
SCHEMA = "polyfit/approximation"
SCHEMA_VERSION = "1.0"


@dataclass(frozen=True)
class Quantization:
    """Fixed-point coefficients: ``coefficients[k] == integers[k] * 2**-frac_bits`` exactly."""

    frac_bits: int
    integers: tuple[int, ...]

    def to_dict(self) -> dict:
        return {"frac_bits": int(self.frac_bits), "integers": [int(i) for i in self.integers]}


def real_input(x) -> np.ndarray:
    """``x`` as a float array; InputError unless it holds real numbers (bool, int, float)."""
    raw = np.asarray(x)
    if raw.dtype.kind not in "biuf":
        raise InputError(f"inputs must be real numbers; got {type(x).__name__} of dtype {raw.dtype} "
                         "(strings, None and complex values are not evaluated)")
    return raw.astype(float, copy=False)


@dataclass(frozen=True)
class Stage:
    """One polynomial of degree ``len(coefficients) - 1``.

    Attributes:
        basis: ``"monomial"`` (Σ c_k t^k) or ``"chebyshev"`` (Σ c_k T_k(window(t))).
        coefficients: lowest degree first, in the stage's input variable t.
        interval: (lo, hi) of t mapped onto [-1, 1]; required for chebyshev.
        quantized: integer form of the coefficients, when the solver chose integers.
    """

    basis: str
    coefficients: tuple[float, ...]
    interval: tuple[float, float] | None = None
    quantized: Quantization | None = None

    def __post_init__(self):
        object.__setattr__(self, "coefficients", tuple(float(c) for c in self.coefficients))
        if self.interval is not None:
            object.__setattr__(self, "interval", (float(self.interval[0]), float(self.interval[1])))
        if self.basis not in _basis.BASES:
            raise InputError(f"unknown basis {self.basis!r}; allowed: {', '.join(_basis.BASES)}")
        if not self.coefficients:
            raise InputError("a stage needs at least one coefficient")
        if self.basis == "chebyshev" and self.interval is None:
            raise InputError("a chebyshev stage needs an interval (lo, hi)")
        if self.interval is not None and not self.interval[0] < self.interval[1]:
            raise InputError(f"stage interval {self.interval} must have lo < hi")
        if not all(np.isfinite(self.coefficients)):
            raise InputError(f"stage coefficients must be finite, got {self.coefficients}")
        if self.quantized is not None:
            q = self.quantized
            if len(q.integers) != len(self.coefficients):
                raise InputError(f"quantized has {len(q.integers)} integers for {len(self.coefficients)} "
                                 "coefficients; it needs one integer per coefficient")
            for k, (c, i) in enumerate(zip(self.coefficients, q.integers)):
                if c != float(i) * 2.0 ** -q.frac_bits:
                    raise InputError(
                        f"coefficient {k} = {c!r} is not integers[{k}] * 2**-{q.frac_bits} = {i * 2.0 ** -q.frac_bits!r}"
                    )

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    def __call__(self, t):
        if self.basis == "monomial":  # accurate at any degree: the metrics are the stored polynomial's
            return _basis.monomial_eval_accurate(self.coefficients, t)
        return _basis.chebyshev_eval(self.coefficients, t, self.interval)

    def monomial_coefficients(self) -> np.ndarray:
        """Coefficients of Σ c_k t^k in the stage's input variable t (converted if chebyshev)."""
        if self.basis == "monomial":
            return np.asarray(self.coefficients, dtype=float)
        return _basis.chebyshev_to_monomial(self.coefficients, self.interval)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"basis": self.basis, "degree": self.degree, "coefficients": list(self.coefficients)}
        if self.interval is not None:
            out["interval"] = list(self.interval)
        if self.quantized is not None:
            out["quantized"] = self.quantized.to_dict()
        return out

    @classmethod
    def quantized_monomial(cls, integers, frac_bits: int, interval=None) -> "Stage":
        """A monomial stage with coefficients integers·2^-frac_bits (exact in float64)."""
        ints = tuple(int(i) for i in integers)
        coefs = tuple(float(i) * 2.0 ** -int(frac_bits) for i in ints)
        return cls("monomial", coefs, interval, Quantization(int(frac_bits), ints))


def apply_combine(combine: str, x, s):
    """combine(x, s) for the four combines of SPEC §2."""
    if combine == "none":
        return s
    if combine == "relu":
        return 0.5 * (x + x * s)
    if combine == "abs":
        return x * s
    if combine == "step":
        return 0.5 * (1.0 + s)
    raise InputError(f"unknown combine {combine!r}; allowed: {', '.join(COMBINES)}")


@dataclass(frozen=True)
class Approximation:
    """A polynomial (or composite of polynomials) approximating ``target`` on ``domain``.

    Call it on a numpy array to evaluate. ``metrics``, ``depth``, ``precision`` and
    ``provenance`` are the reports of SPEC §3–4 (plain dicts, JSON-ready).
    """

    target: Target
    domain: tuple[float, float]
    stages: tuple[Stage, ...]
    input_scale: float = 1.0
    combine: str = "none"
    objective: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    depth: dict = field(default_factory=dict)
    precision: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "domain", (float(self.domain[0]), float(self.domain[1])))
        object.__setattr__(self, "stages", tuple(self.stages))
        object.__setattr__(self, "input_scale", float(self.input_scale))
        if not self.stages:
            raise InputError("an approximation needs at least one stage")
        if self.combine not in COMBINES:
            raise InputError(f"unknown combine {self.combine!r}; allowed: {', '.join(COMBINES)}")
        if not (np.isfinite(self.input_scale) and self.input_scale != 0.0):
            raise InputError(f"input_scale must be finite and non-zero, got {self.input_scale}")

    # -- evaluation -------------------------------------------------------------------
    def __call__(self, x):
        """y(x) = combine(x, s_k(… s_1(input_scale·x))); numpy in, numpy out. ``x`` must hold
        real numbers: strings, None and complex values are an InputError, not coerced."""
        x = real_input(x)
        s = x * self.input_scale if self.input_scale != 1.0 else x
        for stage in self.stages:
            s = stage(s)
        return apply_combine(self.combine, x, s)

    evaluate = __call__

    def stage_outputs(self, x) -> list[np.ndarray]:
        """The input of stage 1 followed by each stage's output (for plots and bounds)."""
        values = [real_input(x) * self.input_scale]
        for stage in self.stages:
            values.append(stage(values[-1]))
        return values

    # -- convenience ------------------------------------------------------------------
    @property
    def degree(self) -> int:
        """Degree of the single stage, or the product of stage degrees for a composite."""
        return int(np.prod([s.degree for s in self.stages]))

    @property
    def degrees(self) -> list[int]:
        return [s.degree for s in self.stages]

    @property
    def coefficients(self) -> tuple[float, ...]:
        """Coefficients of a one-stage approximation (raises for composites)."""
        if len(self.stages) != 1:
            raise InputError("coefficients is defined for one stage; use .stages for a composite")
        return self.stages[0].coefficients

    def replace(self, **changes) -> "Approximation":
        return replace(self, **changes)

    # -- I/O ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON-ready dict of SPEC §3 (key order as in the spec; non-finite numbers → None)."""
        return json_ready({
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "polyfit_version": __version__,
            "target": self.target.to_dict(),
            "domain": [self.domain[0], self.domain[1]],
            "input_scale": self.input_scale,
            "stages": [s.to_dict() for s in self.stages],
            "combine": self.combine,
            "objective": self.objective,
            "metrics": self.metrics,
            "depth": self.depth,
            "precision": self.precision,
            "provenance": self.provenance,
        })

    def to_json(self) -> str:
        """The artifact text: :meth:`to_dict` as indented JSON (floats in shortest round-trip form)."""
        return json.dumps(self.to_dict(), indent=2, allow_nan=False) + "\n"

    def save(self, path) -> str:
        """Write the artifact JSON atomically (temp file + rename); returns the path."""
        from .atomic import atomic_write_text

        return atomic_write_text(path, self.to_json())

    def plot(self, reference=None, **kwargs):
        """Matplotlib figure: target vs approximation, and |error| on a log scale.

        ``reference``: an optional callable drawn dashed for comparison (e.g. the unquantized
        fit of a quantized stage, ``pf.fit(target, degree, domain)``; ``polyfit plot`` and
        ``fit --plot`` pass that one). The figure draws only what it is given: it never fits.
        """
        from .plot import plot_approximation

        return plot_approximation(self, reference=reference, **kwargs)

    # -- notebook display ---------------------------------------------------------------
    def __repr__(self) -> str:
        lo, hi = self.domain
        q = [s.quantized.frac_bits for s in self.stages if s.quantized]
        parts = [
            f"target={self.target.name}",
            f"degrees={self.degrees}",
            f"domain=[{lo:g}, {hi:g}]",
        ]
        if self.input_scale != 1.0:
            parts.append(f"input_scale={self.input_scale:g}")
        if self.combine != "none":
            parts.append(f"combine={self.combine}")
        if q:
            parts.append(f"frac_bits={q[0]}")
        if self.metrics:
            parts.append(f"max_abs_error={self.metrics.get('max_abs_error', float('nan')):.3e}")
        if self.depth:
            parts.append(f"ckks_levels={self.depth.get('ckks_levels')}")
        solver = self.provenance.get("solver")
        if solver:
            parts.append(f"solver={solver}")
        return f"Approximation({', '.join(parts)})"

    def _repr_html_(self) -> str:
        rows = []
        for i, stage in enumerate(self.stages):
            coefs = ", ".join(f"{c:.6g}" for c in stage.coefficients)
            q = f" = [{', '.join(map(str, stage.quantized.integers))}]·2^-{stage.quantized.frac_bits}" if stage.quantized else ""
            rows.append(f"<tr><td>stage {i}</td><td>{stage.basis} d={stage.degree}</td><td><code>[{html.escape(coefs)}]{html.escape(q)}</code></td></tr>")
        m = self.metrics or {}
        d = self.depth or {}
        p = self.precision or {}
        summary = (
            f"max |err| {m.get('max_abs_error', float('nan')):.3e}, rms {m.get('rms_error', float('nan')):.3e}; "
            f"CKKS levels {d.get('ckks_levels')}; fixed point {p.get('peak_bits')} bits of {p.get('ring_bits')} "
            f"({'fits' if p.get('fits') else 'overflows'})"
        )
        return (
            f"<div><b>{html.escape(repr(self))}</b><table>{''.join(rows)}</table>"
            f"<p>{html.escape(summary)}</p></div>"
        )
