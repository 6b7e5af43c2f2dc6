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
# The gap of alpha 40 (2^-40) is the narrowest the search tabulates: the stage maps cover
# z = ln(ε/(1 − ε)) … the target in steps of ½, so a smaller ε only adds work (ε = 1e-300 ran
# for minutes) for gaps no fixed-point or CKKS input resolves.
EPSILON_MIN = 2.0 ** -40
MAX_DEPTH_LIMIT = 64           # the deepest the degree-set search explores (alpha 40 needs 48)


def check_function(function) -> str:
    if function not in FUNCTIONS:
        raise InputError(f"unknown function {function!r}; allowed: {', '.join(FUNCTIONS)}")
    return function


def _number(value, name: str, allowed: str) -> float:
    """``value`` as a float; strings and bools are not numbers (one-line InputError)."""
    if isinstance(value, (str, bool)):
        raise InputError(f"{name} {value!r} must be a number ({allowed}), not {type(value).__name__}")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} {value!r} must be a number ({allowed})") from None


def check_alpha(alpha) -> float:
    value = _number(alpha, "alpha", "1 ≤ alpha ≤ 40")
    if not (ALPHA_RANGE[0] <= value <= ALPHA_RANGE[1]):
        raise InputError(f"alpha {alpha!r} is out of range; allowed: 1 ≤ alpha ≤ 40 (bits of precision)")
    return value


def check_epsilon(epsilon) -> float:
    value = _number(epsilon, "epsilon", "2^-40 ≤ epsilon < 1")
    if not (EPSILON_MIN <= value < 1.0):
        raise InputError(f"epsilon {epsilon!r} is out of range; allowed: 2^-40 (≈ 9.09e-13) ≤ epsilon < 1 "
                         "(gap half-width as a fraction of the range; 2^-40 is the gap of alpha 40)")
    return value


def check_max_depth(max_depth) -> int:
    return check_integer(max_depth, "max_depth", 1, MAX_DEPTH_LIMIT)


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
