"""Every check of a user-supplied value, in one place, so that the API, the CLI and the readers agree.

Each ``check_*`` returns the value in its canonical type or raises a one-line
:class:`~polyfit.errors.InputError` that names the value and what is allowed.

What counts as what (the one rule every check follows):

- **an integer** is a Python or numpy integer — never a bool, a float (``4.0`` included) or a
  string (``"4"``). Files are read the same way (:mod:`polyfit.jsonio`: ``4.0`` is not an
  integer there either), and the CLI turns its text into an int with :func:`integer_text`
  before any check sees it.
- **a number** is a real number (``numbers.Real``: int, float, numpy scalars, Fraction) —
  never a bool or a string; finiteness and ranges are each check's to state.
- **a list of integers** is an iterable of integers, or (CLI and API alike) the text
  ``"7,7,13"`` (:func:`integer_list`); ``"2-9"`` is a range where a check says so
  (:func:`parse_degrees`).

The module imports nothing of polyfit but its errors, so every layer may use it
(docs/architecture.md).
"""
from __future__ import annotations

import math
import numbers
import sys

import numpy as np

from .errors import InputError

# -- limits of a fit ------------------------------------------------------------------------
MAX_DEGREE = 1000
MAX_BITS = 52
MAX_POINTS = 1_000_000            # grid points or samples of one fit
MAX_MATRIX_ENTRIES = 50_000_000   # points × (degree + 1): the least-squares matrix, 400 MB of float64

# -- limits of a composite ------------------------------------------------------------------
COMPOSITE_FUNCTIONS = ("sign", "relu", "abs", "step")
ALPHA_RANGE = (1.0, 40.0)
# The gap of alpha 40 (2^-40) is the narrowest the search tabulates: the stage maps cover
# z = ln(ε/(1 − ε)) … the target in steps of ½, so a smaller ε only adds work (ε = 1e-300 ran
# for minutes) for gaps no fixed-point or CKKS input resolves.
EPSILON_MIN = 2.0 ** -40
MAX_STAGE_DEGREE = 63           # highest composite stage degree
MAX_DEPTH_LIMIT = 64            # the deepest the degree-set search explores (alpha 40 needs 48)

# -- limits of verify -----------------------------------------------------------------------
VERIFY_BACKENDS = ("ckks", "openfhe", "fixed-point", "crypten")
MAX_SAMPLES = 16384  # N/2 slots of TenSEAL's largest ring (N = 32768): one ciphertext
MIN_RING_BITS, MAX_RING_BITS = 16, 128


# -- what a value is ------------------------------------------------------------------------
def is_integer(value) -> bool:
    """True for Python and numpy integers; False for bools, floats and strings."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_number(value) -> bool:
    """True for real numbers (``numbers.Real``); False for bools and strings."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def check_integer(value, name: str, lo: int, hi: int | None = None) -> int:
    """``value`` as an int with lo ≤ value ≤ hi (no upper bound when ``hi`` is None).

    The InputError reads "<name> <value> must be an integer from <lo> to <hi>" (or "≥ <lo>").
    """
    if not is_integer(value) or value < lo or (hi is not None and value > hi):
        allowed = f"≥ {lo}" if hi is None else f"from {lo} to {hi}"
        raise InputError(f"{name} {value!r} must be an integer {allowed}")
    return int(value)


def real_number(value, name: str, allowed: str | None = None) -> float:
    """``value`` as a float when it is a number; ``allowed`` (e.g. "1 ≤ alpha ≤ 40") is named in
    the message. Finiteness is the caller's to check."""
    if not is_number(value):
        what = f"a number ({allowed})" if allowed else "a number"
        raise InputError(f"{name} {value!r} must be {what}, not {type(value).__name__}")
    return float(value)


def check_positive_number(value, name: str, allowed: str = "a positive finite number") -> float:
    """``value`` as a float when it is a finite number > 0; else "<name> <value> must be <allowed>"."""
    if not is_number(value) or not (math.isfinite(float(value)) and float(value) > 0):
        raise InputError(f"{name} {value!r} must be {allowed}")
    return float(value)


# -- text (the CLI's argparse types call these) ---------------------------------------------
def integer_text(text: str) -> int:
    """A command-line integer: what ``int()`` reads ("4", "-2"), not "4.0" or "four"."""
    try:
        return int(text)
    except ValueError:
        raise InputError(f"invalid integer {text!r}") from None


def number_text(text: str) -> float:
    """A command-line number: what ``float()`` reads, inf and nan included (ranges and
    finiteness are the library's to check, so that the message names what is allowed)."""
    try:
        return float(text)
    except ValueError:
        raise InputError(f"invalid number {text!r}") from None


def integer_list(spec, name: str, example: str = "7,7,13") -> tuple[int, ...]:
    """``"7,7,13"`` (spaces around items allowed; an empty item such as ``"7,,7"`` or ``"7,"`` is
    refused, not guessed at) or an iterable of integers → a tuple of ints, in order.

    Order, duplicates and ranges are the caller's to check.
    """
    if isinstance(spec, str):
        try:
            return tuple(int(v) for v in spec.split(","))
        except ValueError:
            raise InputError(f"{name} {spec!r} must be a comma-separated list of integers, e.g. {example}") from None
    try:
        values = tuple(spec)
    except TypeError:
        raise InputError(f"{name} {spec!r} must be a list of integers, e.g. [{example.replace(',', ', ')}]") from None
    for v in values:
        if not is_integer(v):
            raise InputError(f"{name} {list(values)!r} must be integers; {v!r} is not")
    return tuple(int(v) for v in values)


def parse_degrees(spec) -> tuple[int, ...]:
    """``"2-9"``, ``"3,7,15,31"``, an int, or an iterable of ints → sorted unique degrees 1 … 1000.

    >>> parse_degrees("2-5"), parse_degrees("3,7,15")
    ((2, 3, 4, 5), (3, 7, 15))
    """
    if isinstance(spec, str) and "-" in spec.strip() and "," not in spec:
        try:
            lo, hi = (int(v) for v in spec.strip().split("-"))
        except ValueError:
            raise InputError(f"degrees {spec!r} must be LO-HI (e.g. 2-9) or a list (e.g. 3,7,15,31)") from None
        if lo > hi:
            raise InputError(f"degree range {spec!r} is inverted; write LO-HI with LO <= HI")
        values = list(range(lo, hi + 1))
    elif isinstance(spec, str):
        try:
            values = list(integer_list(spec, "degrees"))
        except InputError:
            raise InputError(f"degrees {spec!r} must be LO-HI (e.g. 2-9) or a list (e.g. 3,7,15,31)") from None
    elif is_integer(spec):
        values = [int(spec)]
    elif not _iterable(spec):
        raise InputError(f"degrees {spec!r} must be LO-HI, a list of integers or an iterable")
    else:
        values = list(spec)
        if not all(is_integer(v) for v in values):
            raise InputError(f"degrees {values!r} must be integers")
    values = sorted(set(values))
    if not values:
        raise InputError(f"degrees {spec!r} is empty; give at least one degree from 1 to {MAX_DEGREE}")
    if values[0] < 1 or values[-1] > MAX_DEGREE:
        raise InputError(f"degrees {values[0]}..{values[-1]} out of range; allowed: 1 to {MAX_DEGREE}")
    return tuple(values)


def _iterable(value) -> bool:
    try:
        iter(value)
    except TypeError:
        return False
    return True


# -- a fit ----------------------------------------------------------------------------------
def check_degree(degree) -> int:
    """A polynomial degree, an integer 0 … :data:`MAX_DEGREE`."""
    if not is_integer(degree):
        raise InputError(f"degree {degree!r} must be an integer from 0 to {MAX_DEGREE}")
    if not 0 <= degree <= MAX_DEGREE:
        raise InputError(f"degree {degree} is out of range; allowed: 0 to {MAX_DEGREE}")
    return int(degree)


def check_domain(domain) -> tuple[float, float]:
    """``A`` (meaning [-A, A], A > 0 finite) or ``(lo, hi)`` with lo < hi, both finite."""
    if is_number(domain):
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


def check_bits(bits) -> int | None:
    """Fractional bits F of integer coefficients, an integer 1 … :data:`MAX_BITS`, or None."""
    if bits is None:
        return None
    if not is_integer(bits) or not 1 <= bits <= MAX_BITS:
        text = " (a string is not a number)" if isinstance(bits, (str, bytes)) else ""
        raise InputError(f"bits {bits!r} is out of range; allowed: integers 1 to {MAX_BITS}{text}")
    return int(bits)


def max_points(degree: int) -> int:
    """The most grid points (or samples) a fit of this degree may use: ≤ 1,000,000 and
    points × (degree + 1) ≤ 5·10^7 (the least-squares matrix)."""
    return min(MAX_POINTS, MAX_MATRIX_ENTRIES // (int(degree) + 1))


def check_points(points, degree: int) -> int | None:
    """Grid points of a discrete fit: an integer, more than the degree, at most :func:`max_points`."""
    if points is None:
        return None
    top = max_points(degree)
    if not is_integer(points) or not degree < points <= top:
        text = ", not a string" if isinstance(points, (str, bytes)) else ""
        raise InputError(f"points {points!r} must be an integer from {degree + 1} to {top} at degree {degree}{text} "
                         "(more than the degree; at most 1,000,000, and points × (degree + 1) ≤ 5e7)")
    return int(points)


def check_input_scale(input_scale, domain=None) -> float:
    """s of t = s·x: a finite, non-zero number; with ``domain``, the t-interval's bound
    |s|·max|domain| must be a normal float64 too (1e308 on [-5, 5] overflows to inf)."""
    try:
        scale = real_number(input_scale, "input_scale")
    except InputError:
        scale = math.nan
    if not math.isfinite(scale) or scale == 0.0:
        raise InputError(f"input_scale {input_scale!r} must be a finite, non-zero number")
    if domain is not None:
        bound = abs(scale) * max(abs(domain[0]), abs(domain[1]))
        if not (sys.float_info.min <= bound <= sys.float_info.max):
            raise InputError(f"input_scale {scale:g} maps the domain [{domain[0]:g}, {domain[1]:g}] to |t| ≤ {bound:g}, "
                             "beyond float64; allowed: |input_scale|·max|domain| from 2.2e-308 to 1.8e308")
    return scale


def check_exclude(exclude, domain=None) -> tuple[float, float] | None:
    """The interval (a, b), a < b, left out of a fit and its metrics; or None. With ``domain``
    (lo, hi), (a, b) must leave at least its ends: a ≥ lo or b ≤ hi."""
    if exclude is None:
        return None
    try:
        if isinstance(exclude, (str, bytes)):
            raise TypeError
        a, b = (real_number(v, "exclude end") for v in exclude)
    except (TypeError, ValueError):
        raise InputError(f"exclude {exclude!r} must be a pair (a, b) of numbers") from None
    if not a < b:
        raise InputError(f"exclude {exclude!r} must have a < b")
    if domain is not None and a < domain[0] and domain[1] < b:
        raise InputError(f"exclude ({a:g}, {b:g}) covers the whole domain [{domain[0]:g}, {domain[1]:g}]: nothing "
                         "would be fitted; exclude a gap inside the domain")
    return (a, b)


def check_samples(samples, degree: int) -> np.ndarray:
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


def check_callable_output(name: str, func, x: np.ndarray) -> None:
    """A Python callable target must return one real, finite number per input of ``x`` (the
    fitting and metric grids); anything else is one InputError naming what it returned."""
    allowed = f"target callable {name!r} must return one real, finite number per input (shape {x.shape})"
    try:
        with np.errstate(all="ignore"):
            raw = func(x.copy())
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


# -- a composite ----------------------------------------------------------------------------
def check_function(function) -> str:
    """The composite's function: sign, relu, abs or step."""
    if function not in COMPOSITE_FUNCTIONS:
        raise InputError(f"unknown function {function!r}; allowed: {', '.join(COMPOSITE_FUNCTIONS)}")
    return function


def check_alpha(alpha) -> float:
    """Bits of precision of a composite, 1 ≤ alpha ≤ 40."""
    value = real_number(alpha, "alpha", "1 ≤ alpha ≤ 40")
    if not (ALPHA_RANGE[0] <= value <= ALPHA_RANGE[1]):
        raise InputError(f"alpha {alpha!r} is out of range; allowed: 1 ≤ alpha ≤ 40 (bits of precision)")
    return value


def check_epsilon(epsilon) -> float:
    """Gap half-width of a composite sign, as a fraction of the range: 2^-40 ≤ ε < 1."""
    value = real_number(epsilon, "epsilon", "2^-40 ≤ epsilon < 1")
    if not (EPSILON_MIN <= value < 1.0):
        raise InputError(f"epsilon {epsilon!r} is out of range; allowed: 2^-40 (≈ 9.09e-13) ≤ epsilon < 1 "
                         "(gap half-width as a fraction of the range; 2^-40 is the gap of alpha 40)")
    return value


def check_max_depth(max_depth) -> int:
    """Most CKKS levels of a composite, 1 … :data:`MAX_DEPTH_LIMIT`."""
    return check_integer(max_depth, "max_depth", 1, MAX_DEPTH_LIMIT)


def check_stage_degree(degree) -> int:
    """One composite sign stage's degree: an odd positive integer."""
    if not is_integer(degree) or degree < 1 or degree % 2 == 0:
        raise InputError(f"stage degree {degree!r} must be an odd positive integer (1, 3, 5, …)")
    return int(degree)


def check_degrees(degrees) -> tuple[int, ...]:
    """Composite stage degrees, stage 0 first: odd integers 1 … 63, as a list or ``"7,7,13"``."""
    if isinstance(degrees, str):
        try:
            degrees = integer_list(degrees, "degrees")
        except InputError:
            raise InputError(f"degrees {degrees!r} must be odd positive integers, e.g. 7,7,13") from None
    try:
        out = tuple(degrees)
    except TypeError:
        raise InputError(f"degrees {degrees!r} must be a list of odd positive integers, e.g. [7, 7, 13]") from None
    if not out:
        raise InputError("degrees must name at least one stage, e.g. [7, 7, 13]")
    for d in out:
        if not is_integer(d) or d < 1 or d % 2 == 0:
            raise InputError(f"degree {d!r} in {list(out)} is not an odd positive integer (allowed: 1, 3, 5, …, {MAX_STAGE_DEGREE})")
        if d > MAX_STAGE_DEGREE:
            raise InputError(f"degree {d} in {list(out)} is above the supported {MAX_STAGE_DEGREE}")
    return tuple(int(d) for d in out)


def check_max_degree(max_degree) -> int:
    """Largest stage degree the composite search considers, 3 … 63."""
    return check_integer(max_degree, "max_degree", 3, MAX_STAGE_DEGREE)


def check_bound(domain) -> float:
    """B from ``B`` or a symmetric ``(-B, B)`` (validated by :func:`check_domain`)."""
    lo, hi = check_domain(domain)
    if lo != -hi:
        raise InputError(f"domain {domain!r} must be symmetric (-B, B) or a number B > 0")
    return hi


# -- verify ---------------------------------------------------------------------------------
def check_verify_options(backend: str, levels, samples, ring_bits, frac_bits, tolerance, parties=2) -> None:
    """The options of :func:`polyfit.verify` (one InputError for the first bad one)."""
    if backend not in VERIFY_BACKENDS:
        raise InputError(f"unknown backend {backend!r}; allowed: {', '.join(VERIFY_BACKENDS)}")
    if levels is not None:
        check_integer(levels, "levels", 1)
    check_integer(samples, "samples", 2, MAX_SAMPLES)
    check_integer(ring_bits, "ring bits", MIN_RING_BITS, MAX_RING_BITS)
    if frac_bits is not None:
        check_integer(frac_bits, "frac bits", 0, int(ring_bits) - 1)
    if tolerance is not None:
        check_positive_number(tolerance, "tolerance", "a positive finite number (or None for the backend's default)")
    check_integer(parties, "parties", 2, 3)
