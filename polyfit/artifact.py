"""Artifact JSON (SPEC §3, schema 1): validating reads, and the function forms of writing.

The dict form belongs to the value (:meth:`Approximation.to_dict`, :meth:`~Approximation.save`):
floats are written with Python's shortest round-trip repr, so a reader gets the exact float64
values back, and non-finite numbers (an exploding polynomial's error) are written as ``null``
(JSON has no Infinity/NaN). This module reads them back: every section type-checked
(:data:`ARTIFACT`), then the value built.
"""
from __future__ import annotations

from . import jsonio
from .approximation import COMBINES, SCHEMA, SCHEMA_VERSION, Approximation, Quantization, Stage
from .basis import BASES
from .errors import ArtifactError, InputError
from .expression import MAX_LENGTH
from .jsonio import json_ready, read_json
from .targets import NAMED, Target, parse_expr
from .validate import MAX_DEGREE

__all__ = ["ARTIFACT", "SCHEMA", "SCHEMA_VERSION", "dumps", "from_dict", "json_ready", "load", "save", "to_dict"]

READABLE_MAJOR = 1
REQUIRED_KEYS = ("schema", "schema_version", "target", "domain", "stages")
MAX_STAGES = 64             # stages of one approximation (published composites use at most 4)
MAX_FRAC_BITS = 1074        # 2^-1074 is float64's smallest step: integers·2^-f stay exact
MAX_GRID_POINTS = 10**6     # metric grid a reader re-evaluates (report, verify)


def to_dict(approx: Approximation) -> dict:
    """The JSON-ready dict of SPEC §3: :meth:`Approximation.to_dict` (the value owns its dict form)."""
    return approx.to_dict()


def dumps(approx: Approximation) -> str:
    return approx.to_json()


def save(approx: Approximation, path) -> str:
    """Write the artifact atomically; returns the path (:meth:`Approximation.save`)."""
    return approx.save(path)


def load(path) -> Approximation:
    """Read and validate an artifact file (through :func:`polyfit.jsonio.read_json`).

    Raises:
        ArtifactError: missing file, invalid JSON, wrong schema, unknown major version,
            or malformed fields (the message names the file and the problem).
    """
    data = read_json(path, "artifact")
    try:
        return from_dict(data)
    except ArtifactError as exc:
        raise ArtifactError(f"invalid artifact {str(path)!r}: {exc}") from None


# Shapes of SPEC §3 (jsonio checkers). Report sections are null, {} or complete; numbers
# are finite or null; extra keys are allowed everywhere.
_PAIR = jsonio.array(jsonio.number(), 2, 2)
_COUNT = jsonio.optional(jsonio.integer(0))
_TARGET = jsonio.obj({"name": jsonio.string(200), "expr": jsonio.optional(jsonio.string(MAX_LENGTH))}, required=("name",))
_STAGE = jsonio.obj({
    "basis": jsonio.string(choices=BASES),
    "degree": jsonio.integer(0, MAX_DEGREE),
    "coefficients": jsonio.array(jsonio.number(), 1, MAX_DEGREE + 1),
    "interval": jsonio.optional(_PAIR),
    "quantized": jsonio.optional(jsonio.obj({"frac_bits": jsonio.integer(0, MAX_FRAC_BITS),
                                             "integers": jsonio.array(jsonio.integer(), 1, MAX_DEGREE + 1)},
                                            required=("frac_bits", "integers"))),
}, required=("basis", "coefficients"))
_ROUNDS = ("horner", "power_tree", "single_round")
_METRICS = jsonio.section({
    "max_abs_error": jsonio.optional(jsonio.number(0)), "rms_error": jsonio.optional(jsonio.number(0)),
    "grid_points": jsonio.integer(2, MAX_GRID_POINTS), "exclude": jsonio.optional(_PAIR),
    "argmax_x": jsonio.optional(jsonio.number()),
}, required=("max_abs_error", "rms_error", "grid_points"))
_DEPTH = jsonio.section({
    "degrees": jsonio.array(jsonio.integer(0, MAX_DEGREE), 1, MAX_STAGES),
    "ckks_levels": _COUNT, "ct_ct_multiplications": _COUNT, "scalar_multiplications": _COUNT,
    "backends": jsonio.obj({k: _COUNT for k in ("lattigo", "openfhe", "tenseal")}, required=("lattigo", "openfhe", "tenseal")),
    "mpc_rounds": jsonio.obj({**{k: _COUNT for k in _ROUNDS}, "parties": jsonio.optional(jsonio.integer(2, 64)),
                              "three_party": jsonio.optional(jsonio.obj({k: _COUNT for k in _ROUNDS}, required=_ROUNDS))},
                             required=_ROUNDS),
    "note": jsonio.optional(jsonio.string(2000)),
}, required=("degrees", "ckks_levels", "ct_ct_multiplications", "backends", "mpc_rounds"))
_SCHEDULE_KEYS = ("frac_bits", "rounds_2party", "rounds_3party", "bytes_per_element", "simulated_max_error",
                  "failure_probability", "fits")
_CHOSEN_SCHEDULE = (
    jsonio.obj({"name": jsonio.string(200), "frac_bits": jsonio.integer(0, MAX_FRAC_BITS),
                "ring_bits": jsonio.integer(1, 4096), "input_bound": jsonio.number(0),
                "params": jsonio.optional(jsonio.obj({"magnitude_bits": jsonio.optional(jsonio.integer(-4096, 4096)),
                                                      "coefficient_shift": jsonio.integer(-4096, 4096),
                                                      "headroom_bits": jsonio.optional(jsonio.integer(-4096, 4096))})),
                "rounds_2party": _COUNT, "rounds_3party": _COUNT, "bytes_per_element": jsonio.number(0),
                "simulated_max_error": jsonio.number(0), "failure_probability": jsonio.number(0, 1),
                "fits": jsonio.boolean()},
               required=_SCHEDULE_KEYS))
_NO_SCHEDULE = jsonio.obj({"name": jsonio.optional(jsonio.string(200)), "fits": jsonio.optional(jsonio.boolean()),
                           "reason": jsonio.optional(jsonio.string(2000))})


def _mpc_schedule(value, where):
    """The chosen schedule's record, or — ``name`` absent or null — the record of none fitting
    (``{"name": null, "fits": false, "reason": …}``, what mpc_schedule.schedule_report writes)."""
    chosen = isinstance(value, dict) and value.get("name") is not None
    return (_CHOSEN_SCHEDULE if chosen else _NO_SCHEDULE)(value, where)


_PRECISION = jsonio.section({
    "frac_bits": jsonio.integer(0, MAX_FRAC_BITS), "ring_bits": jsonio.integer(1, 4096),
    "input_bound": jsonio.number(0), "peak_bits": _COUNT, "fits": jsonio.boolean(),
    "failure_probability": jsonio.optional(jsonio.number(0, 1)),
    "model": jsonio.optional(jsonio.string()),
    "single_rescale": jsonio.optional(jsonio.obj({"peak_bits": _COUNT, "fits": jsonio.boolean()}, required=("peak_bits", "fits"))),
    "mpc_schedule": jsonio.optional(_mpc_schedule),
}, required=("frac_bits", "ring_bits", "input_bound", "peak_bits", "fits"))
_PROVENANCE = jsonio.section({
    "solver": jsonio.optional(jsonio.string(200)), "backend": jsonio.optional(jsonio.string(200)),
    "options": jsonio.optional(jsonio.obj()), "elapsed_s": jsonio.optional(jsonio.number(0)),
    "warnings": jsonio.optional(jsonio.array(jsonio.string(2000), 0, 1000)),
    "basis_choice": jsonio.optional(jsonio.obj({k: jsonio.string(2000) for k in ("chosen", "requested", "reason")},
                                               required=("chosen", "requested", "reason"))),
})
ARTIFACT = jsonio.obj({
    "schema": jsonio.string(choices=(SCHEMA,)),
    "schema_version": jsonio.version(READABLE_MAJOR, "artifacts"),
    "polyfit_version": jsonio.string(100),
    "target": _TARGET,
    "domain": _PAIR,
    "input_scale": jsonio.number(),
    "stages": jsonio.array(_STAGE, 1, MAX_STAGES),
    "combine": jsonio.string(choices=COMBINES),
    "objective": jsonio.optional(jsonio.obj()),
    "metrics": _METRICS, "depth": _DEPTH, "precision": _PRECISION, "provenance": _PROVENANCE,
}, required=REQUIRED_KEYS)


def from_dict(data) -> Approximation:
    """Validate a schema-1 dict (every section's types, see :data:`ARTIFACT`) and build the
    Approximation (reports kept as stored)."""
    if not isinstance(data, dict):
        raise ArtifactError("top level must be a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        raise ArtifactError(f"missing key(s) {', '.join(missing)}")
    if data["schema"] != SCHEMA:
        raise ArtifactError(f"schema is {jsonio.describe(data['schema'])}, expected {SCHEMA!r}")
    ARTIFACT(data, "")
    lo, hi = data["domain"]
    if not lo < hi:
        raise ArtifactError(f"domain {data['domain']} must have lo < hi")
    try:
        stages = tuple(_stage_from_dict(i, s) for i, s in enumerate(data["stages"]))
        return Approximation(
            target=_target_from_dict(data["target"]),
            domain=(float(lo), float(hi)),
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


def _stage_from_dict(index: int, data) -> Stage:
    coefs = [float(c) for c in data["coefficients"]]
    if "degree" in data and data["degree"] != len(coefs) - 1:
        raise ArtifactError(f"stage {index} says degree {data['degree']} but has {len(coefs)} coefficients")
    q = data.get("quantized")
    quant = Quantization(q["frac_bits"], tuple(q["integers"])) if q else None
    interval = tuple(data["interval"]) if data.get("interval") is not None else None
    return Stage(data["basis"], coefs, interval, quant)


def _target_from_dict(data) -> Target:
    name, expr = data["name"], data.get("expr")
    if name in NAMED and (expr is None or expr == NAMED[name].expr):
        return NAMED[name]
    if expr:
        parsed = parse_expr(expr)
        return Target(name, expr, parsed.func, parsed.breakpoints)

    def unavailable(x, _name=name):
        raise InputError(f"target {_name!r} was a Python callable; the artifact has no expression to evaluate it")

    return Target(name, None, unavailable)
