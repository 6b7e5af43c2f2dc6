"""Reading JSON that anyone may have written: bounded, strict, and checked section by section.

:func:`read_json` is the one reader of polyfit's files (artifacts, search histories, torch
bundles). It refuses, with one-line :class:`~polyfit.errors.ArtifactError` messages:

- files over :data:`MAX_BYTES`, non-UTF-8 text, invalid JSON;
- nesting deeper than :data:`MAX_NESTING` (measured before parsing, so a 10^5-deep file is
  refused instead of exhausting the stack);
- duplicate keys in an object (which one would win is a parser's accident);
- ``NaN``/``Infinity`` literals and numbers that overflow float64 (``1e999``): polyfit writes
  non-finite values as ``null``;
- integer literals over :data:`MAX_INTEGER_DIGITS` digits.

The shape helpers (:func:`integer`, :func:`number`, :func:`string`, :func:`array`,
:func:`obj`, :func:`section`, :func:`optional`, ...) build checkers ``check(value, where)``
that return the value or raise ``ArtifactError("<where> must be <what>, got <value>")``:
no coercion, so ``"4"``, ``4.9`` and ``true`` are not integers and ``"0.5"`` is not a number —
the same rule as every API and CLI check (:mod:`polyfit.validate`).

:func:`json_ready` is the writing side: the one conversion of values to what ``json.dumps``
accepts, used by artifacts, histories, plans and bundles.
"""
from __future__ import annotations

import json
import math
import re

from .errors import ArtifactError
from .validate import is_integer, is_number

MAX_BYTES = 64 * 2**20
MAX_NESTING = 64
MAX_INTEGER_DIGITS = 40

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


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


def read_json(path, what: str = "file"):
    """The parsed JSON of the file at ``path``; ``what`` names it in messages ("artifact")."""
    path = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ArtifactError(f"{what} not found: {path!r}") from None
    except IsADirectoryError:
        raise ArtifactError(f"{what} path {path!r} is a folder, not a JSON file") from None
    except OSError as exc:
        raise ArtifactError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise ArtifactError(f"{what} {path!r} is larger than {MAX_BYTES // 2**20} MiB; polyfit reads JSON files up to that size")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ArtifactError(f"corrupt {what} {path!r}: not UTF-8 text (byte {exc.start})") from None
    try:
        return loads(text)
    except ArtifactError as exc:
        raise ArtifactError(f"corrupt {what} {path!r}: {exc}") from None


def loads(text: str):
    """Parse JSON text with the rules of :func:`read_json` (messages without a file name)."""
    depth = nesting_depth(text)
    if depth > MAX_NESTING:
        raise ArtifactError(f"JSON nested more than {MAX_NESTING} levels deep")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                          parse_float=_finite_float, parse_int=_bounded_int)
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:  # cannot happen below MAX_NESTING; kept so no stack error escapes
        raise ArtifactError(f"JSON nested more than {MAX_NESTING} levels deep") from None


def nesting_depth(text: str, limit: int = MAX_NESTING) -> int:
    """Deepest bracket nesting outside strings (stops counting once past ``limit``)."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif token in "]}":
            depth -= 1
    return deepest


def _unique_keys(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ArtifactError(f"duplicate key {key!r} in one JSON object")
        out[key] = value
    return out


def _no_constant(name):
    raise ArtifactError(f"the literal {name} is not JSON; polyfit writes non-finite numbers as null")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ArtifactError(f"number {text} overflows float64")
    return value


def _bounded_int(text):
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise ArtifactError(f"integer literal {text[:20]}... has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


# ---------------------------------------------------------------------------------------
# Shapes: checkers (value, where) -> value
# ---------------------------------------------------------------------------------------
def describe(value) -> str:
    """Short text of a JSON value for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value[:40]!r}" + ("..." if len(value) > 40 else "")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return repr(value)


def _fail(where, what, value):
    raise ArtifactError(f"{where} must be {what}, got {describe(value)}")


def _range_text(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" from {lo:g} to {hi:g}"
    if lo is not None:
        return f" >= {lo:g}"
    return f" <= {hi:g}" if hi is not None else ""


def integer(lo=None, hi=None):
    """A JSON integer (not 4.0, not "4", not true: :func:`polyfit.validate.is_integer`) in [lo, hi]."""
    what = "an integer" + _range_text(lo, hi)

    def check(value, where):
        if not is_integer(value):
            _fail(where, what, value)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            _fail(where, what, value)
        return value

    return check


def number(lo=None, hi=None, above=None):
    """A finite JSON number (integer or decimal, not a string or a boolean) in [lo, hi], > above.

    An integer literal must be exact in float64 (|n| ≤ 2^53): larger ones are written as decimals.
    """
    what = "a finite number" + _range_text(lo, hi) + (f" > {above:g}" if above is not None else "")

    def check(value, where):
        if not is_number(value) or not math.isfinite(value):
            _fail(where, what, value)
        if isinstance(value, int) and abs(value) > 2**53:
            _fail(where, what + " (an integer literal at most 2^53; write larger numbers as decimals, 1e30)", value)
        if (lo is not None and value < lo) or (hi is not None and value > hi) or (above is not None and value <= above):
            _fail(where, what, value)
        return value

    return check


def string(max_length: int = 1000, choices=None):
    """Printable text (no control characters: it may reach a terminal) of bounded length."""
    what = (f"one of {', '.join(map(repr, choices))}" if choices else
            f"printable text of at most {max_length} characters")

    def check(value, where):
        if not isinstance(value, str) or len(value) > max_length or not value.isprintable():
            _fail(where, what, value)
        if choices is not None and value not in choices:
            _fail(where, what, value)
        return value

    return check


def boolean():
    def check(value, where):
        if not isinstance(value, bool):
            _fail(where, "true or false", value)
        return value

    return check


def optional(shape):
    """``shape`` or null."""
    def check(value, where):
        return None if value is None else shape(value, where)

    return check


def array(item, min_length: int = 0, max_length: int = 10**6):
    """A list of ``item`` with a bounded length."""
    what = f"a list of {min_length} to {max_length} entries" if min_length != max_length else f"a list of {min_length} entries"

    def check(value, where):
        if not isinstance(value, list) or not min_length <= len(value) <= max_length:
            _fail(where, what, value)
        for i, entry in enumerate(value):
            item(entry, f"{where}[{i}]")
        return value

    return check


def obj(fields=None, required=()):
    """An object whose listed ``fields`` (when present) have their shapes; extra keys are allowed."""
    fields = fields or {}

    def check(value, where):
        if not isinstance(value, dict):
            _fail(where, "an object", value)
        missing = [k for k in required if k not in value]
        if missing:
            raise ArtifactError(f"{where or 'the top level'} is missing {', '.join(map(repr, missing))}")
        for key, shape in fields.items():
            if key in value:
                shape(value[key], f"{where}.{key}" if where else key)
        return value

    return check


def section(fields=None, required=()):
    """A report section: null or {} (absent), else an object with ``required`` keys."""
    full = obj(fields, required)

    def check(value, where):
        if value is None or value == {}:
            return {}
        return full(value, where)

    return check


def tensor():
    """A number or a (nested) list of numbers: a tensor's ``tolist()``."""
    scalar = number()

    def check(value, where):
        if isinstance(value, list):
            for i, entry in enumerate(value):
                check(entry, f"{where}[{i}]")
            return value
        return scalar(value, where)

    return check


def present_or_not(key: str, with_key, without_key):
    """``with_key`` for an object that has ``key``, else ``without_key`` (variant records)."""
    def check(value, where):
        return (with_key if isinstance(value, dict) and key in value else without_key)(value, where)

    return check


def any_json():
    def check(value, where):
        return value

    return check


def version(readable_major: int, what: str):
    """A ``"MAJOR.MINOR"`` string whose major polyfit reads (a number is refused: 1.10 ≠ 1.1)."""
    pattern = re.compile(r"(\d+)\.(\d+)")

    def check(value, where):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ArtifactError(f"{where} must be a string \"MAJOR.MINOR\" such as \"{readable_major}.0\", got {describe(value)}")
        if int(value.split(".")[0]) != readable_major:
            raise ArtifactError(f"{where} {value} is not supported; this polyfit reads {what} {readable_major}.x")
        return value

    return check
