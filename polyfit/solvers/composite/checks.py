"""Validation of the composite's inputs: one-line InputErrors naming what is allowed."""
from __future__ import annotations

import numpy as np

from ...errors import InputError
from ...problem import check_domain, check_integer

FUNCTIONS = ("sign", "relu", "abs", "step")
ORDERS = ("depth", "multiplications")
DEFAULT_MAX_DEGREE = 31
MAX_DEGREE_LIMIT = 63
ALPHA_RANGE = (1.0, 40.0)


def check_function(function) -> str:
    if function not in FUNCTIONS:
        raise InputError(f"unknown function {function!r}; allowed: {', '.join(FUNCTIONS)}")
    return function


def check_alpha(alpha) -> float:
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise InputError(f"alpha {alpha!r} must be a number in [1, 40]") from None
    if not (ALPHA_RANGE[0] <= value <= ALPHA_RANGE[1]):
        raise InputError(f"alpha {alpha!r} is out of range; allowed: 1 ≤ alpha ≤ 40 (bits of precision)")
    return value


def check_epsilon(epsilon) -> float:
    try:
        value = float(epsilon)
    except (TypeError, ValueError):
        raise InputError(f"epsilon {epsilon!r} must be a number with 0 < epsilon < 1") from None
    if not (0.0 < value < 1.0):
        raise InputError(f"epsilon {epsilon!r} is out of range; allowed: 0 < epsilon < 1 (fraction of the range)")
    return value


def check_degrees(degrees) -> tuple[int, ...]:
    if isinstance(degrees, str):
        try:
            degrees = [int(v) for v in degrees.split(",")]
        except ValueError:
            raise InputError(f"degrees {degrees!r} must be odd positive integers, e.g. 7,7,13") from None
    try:
        out = tuple(degrees)
    except TypeError:
        raise InputError(f"degrees {degrees!r} must be a list of odd positive integers, e.g. [7, 7, 13]") from None
    if not out:
        raise InputError("degrees must name at least one stage, e.g. [7, 7, 13]")
    for d in out:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1 or d % 2 == 0:
            raise InputError(f"degree {d!r} in {list(out)} is not an odd positive integer (allowed: 1, 3, 5, …, {MAX_DEGREE_LIMIT})")
        if d > MAX_DEGREE_LIMIT:
            raise InputError(f"degree {d} in {list(out)} is above the supported {MAX_DEGREE_LIMIT}")
    return tuple(int(d) for d in out)


def check_max_degree(max_degree) -> int:
    return check_integer(max_degree, "max_degree", 3, MAX_DEGREE_LIMIT)


def check_bound(domain) -> float:
    """B from ``B`` or a symmetric ``(-B, B)`` (validated by :func:`polyfit.problem.check_domain`)."""
    lo, hi = check_domain(domain)
    if lo != -hi:
        raise InputError(f"domain {domain!r} must be symmetric (-B, B) or a number B > 0")
    return hi
