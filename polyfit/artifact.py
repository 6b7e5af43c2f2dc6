"""Artifact JSON (SPEC §3, schema 1): serialisation, atomic writes and validating reads.

Floats are written with Python's shortest round-trip repr, so a reader gets the exact
float64 values back. Non-finite numbers (an exploding polynomial's error) are written as
``null``: JSON has no Infinity/NaN.
"""
from __future__ import annotations

import json
import math

from ._version import __version__
from .approximation import Approximation, Quantization, Stage
from .atomic import atomic_write_text
from .errors import ArtifactError, InputError
from .targets import NAMED, Target, parse_expr

SCHEMA = "polyfit/approximation"
SCHEMA_VERSION = "1.0"
READABLE_MAJOR = 1
REQUIRED_KEYS = ("schema", "schema_version", "target", "domain", "stages")


def to_dict(approx: Approximation) -> dict:
    """The JSON-ready dict of SPEC §3 (key order as in the spec)."""
    out = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "polyfit_version": __version__,
        "target": approx.target.to_dict(),
        "domain": [approx.domain[0], approx.domain[1]],
        "input_scale": approx.input_scale,
        "stages": [s.to_dict() for s in approx.stages],
        "combine": approx.combine,
        "objective": approx.objective,
        "metrics": approx.metrics,
        "depth": approx.depth,
        "precision": approx.precision,
        "provenance": approx.provenance,
    }
    return json_ready(out)


def json_ready(value):
    """``value`` with numpy scalars/arrays made plain and non-finite floats made None (JSON null)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):  # numpy array or scalar
        return json_ready(value.tolist())
    return value


def dumps(approx: Approximation) -> str:
    return json.dumps(to_dict(approx), indent=2, allow_nan=False) + "\n"


def save(approx: Approximation, path) -> str:
    """Write the artifact atomically; returns the path."""
    return atomic_write_text(path, dumps(approx))


def load(path) -> Approximation:
    """Read and validate an artifact file.

    Raises:
        ArtifactError: missing file, invalid JSON, wrong schema, unknown major version,
            or malformed fields (the message names the file and the problem).
    """
    path = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise ArtifactError(f"artifact not found: {path!r}") from None
    except IsADirectoryError:
        raise ArtifactError(f"artifact path {path!r} is a folder, not a JSON file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read artifact {path!r}: {exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"corrupt artifact {path!r}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    try:
        return from_dict(data)
    except ArtifactError as exc:
        raise ArtifactError(f"invalid artifact {path!r}: {exc}") from None


def from_dict(data) -> Approximation:
    """Validate a schema-1 dict and build the Approximation (reports kept as stored)."""
    if not isinstance(data, dict):
        raise ArtifactError("top level must be a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ArtifactError(f"missing key(s) {', '.join(missing)}")
    if data["schema"] != SCHEMA:
        raise ArtifactError(f"schema is {data['schema']!r}, expected {SCHEMA!r}")
    version = str(data["schema_version"])
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise ArtifactError(f"schema_version {version!r} is not of the form MAJOR.MINOR") from None
    if major != READABLE_MAJOR:
        raise ArtifactError(f"schema_version {version} is not supported; this polyfit ({__version__}) reads {READABLE_MAJOR}.x")
    try:
        lo, hi = (float(v) for v in data["domain"])
        if not lo < hi:
            raise ArtifactError(f"domain {data['domain']} must have lo < hi")
        stages = tuple(_stage_from_dict(i, s) for i, s in enumerate(data["stages"]))
        return Approximation(
            target=_target_from_dict(data["target"]),
            domain=(lo, hi),
            stages=stages,
            input_scale=float(data.get("input_scale", 1.0)),
            combine=data.get("combine", "none"),
            objective=data.get("objective") or {},
            metrics=data.get("metrics") or {},
            depth=data.get("depth") or {},
            precision=data.get("precision") or {},
            provenance=data.get("provenance") or {},
        )
    except ArtifactError:
        raise
    except InputError as exc:
        raise ArtifactError(str(exc)) from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ArtifactError(f"malformed field ({type(exc).__name__}: {exc})") from None


def _stage_from_dict(index: int, data) -> Stage:
    if not isinstance(data, dict) or "coefficients" not in data or "basis" not in data:
        raise ArtifactError(f"stage {index} needs 'basis' and 'coefficients'")
    coefs = [float(c) for c in data["coefficients"]]
    if "degree" in data and int(data["degree"]) != len(coefs) - 1:
        raise ArtifactError(f"stage {index} says degree {data['degree']} but has {len(coefs)} coefficients")
    q = data.get("quantized")
    quant = Quantization(int(q["frac_bits"]), tuple(int(i) for i in q["integers"])) if q else None
    interval = tuple(data["interval"]) if data.get("interval") is not None else None
    return Stage(data["basis"], coefs, interval, quant)


def _target_from_dict(data) -> Target:
    if not isinstance(data, dict) or "name" not in data:
        raise ArtifactError("target must be an object with 'name' (and 'expr')")
    name, expr = data["name"], data.get("expr")
    if name in NAMED and (expr is None or expr == NAMED[name].expr):
        return NAMED[name]
    if expr:
        parsed = parse_expr(expr)
        return Target(name, expr, parsed.func, parsed.breakpoints)

    def unavailable(x, _name=name):
        raise InputError(f"target {_name!r} was a Python callable; the artifact has no expression to evaluate it")

    return Target(name, None, unavailable)
