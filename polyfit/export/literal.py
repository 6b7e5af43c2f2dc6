"""Data into generated Python source, safely: a literal that can only ever be data.

A generated program embeds the artifact's numbers and strings (its target name or expression
comes from a file polyfit did not necessarily write). They enter the source only through
:func:`python_literal`: plain values (None, bool, int, finite float, str, list, dict with str
keys), written by ``repr`` (which escapes quotes, backslashes and line breaks), and the text is
checked by parsing it back with :func:`ast.literal_eval` — which accepts literals only — to
the same value. No user text ever goes into code or comments.
"""
from __future__ import annotations

import ast
import math
import pprint

from ..errors import InputError


def plain_data(value, where: str = "value"):
    """``value`` as plain JSON-like data (tuples → lists, numpy scalars → Python); InputError otherwise."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) or (hasattr(value, "dtype") and getattr(value, "shape", None) == ()):
        number = value.item() if hasattr(value, "item") else value
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise InputError(f"{where} is {number!r}, not a number")
        if isinstance(number, float) and not math.isfinite(number):
            raise InputError(f"{where} is {number!r}; a generated program holds finite numbers only")
        return number
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, (str, bytes))):
        items = value.tolist() if hasattr(value, "tolist") else value
        return [plain_data(v, f"{where}[{i}]") for i, v in enumerate(items)]
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str):
                raise InputError(f"{where} has a key {key!r} that is not a string")
            out[key] = plain_data(v, f"{where}[{key!r}]")
        return out
    raise InputError(f"{where} has type {type(value).__name__}; a generated program holds plain data only")


def python_literal(value, width: int = 100) -> str:
    """Python source for ``value`` that evaluates to exactly ``value`` and can do nothing else.

    >>> python_literal({"name": "relu", "coefficients": [0.5, -0.25], "exclude": None})
    "{'name': 'relu', 'coefficients': [0.5, -0.25], 'exclude': None}"
    """
    data = plain_data(value)
    text = pprint.pformat(data, width=width, sort_dicts=False)
    if ast.literal_eval(text) != data:  # pragma: no cover - pprint writes repr()s of plain data
        raise InputError("the generated literal does not read back as the same data")
    return text
