"""Polynomial bases and the maps between them (pure functions).

Conventions (as numpy.polynomial): coefficients are lowest degree first.

- monomial:  p(x) = Σ_k c_k x^k
- chebyshev: p(x) = Σ_k c_k T_k(t),  t = (2x − hi − lo)/(hi − lo) maps the stage's
  ``interval`` [lo, hi] onto the window [-1, 1].

Every Chebyshev evaluation and change of basis of the project lives here: float64
evaluation and conversion (numpy.polynomial), series over a subset of degrees and their
derivatives in any arithmetic (float arrays or mpmath object arrays, used by the Remez
engine), exact conversions in rational arithmetic (``fractions.Fraction``), and the Chebyshev
points of both kinds (fitting grids, Remez references).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from numpy.polynomial import chebyshev as C

BASES = ("monomial", "chebyshev")


def to_window(x, interval):
    """Affine map t = (2x − hi − lo)/(hi − lo) of ``interval`` = (lo, hi) onto [-1, 1]."""
    lo, hi = interval
    return (2.0 * np.asarray(x, dtype=float) - hi - lo) / (hi - lo)


def monomial_eval(coefficients, x):
    """Plain float64 Horner evaluation of Σ c_k x^k (numpy in, numpy out); the artifact's
    stages use :func:`monomial_eval_accurate`, which equals it where its rounding is negligible."""
    return np.polynomial.polynomial.polyval(np.asarray(x, dtype=float), np.asarray(coefficients, dtype=float))


#: the artifact's value of a monomial stage is within this × max(1, |p(x)|) of the exact value
#: of the stored polynomial at the float64 input x (:func:`monomial_eval_accurate`)
MONOMIAL_EVAL_TOLERANCE = 2.0**-48
_UNIT_ROUNDOFF = 2.0**-53
_SPLITTER = 134217729.0      # 2^27 + 1: Veltkamp's split of a float64 into two 26-bit halves


def _gamma(n: int) -> float:
    """γ_n = n·u/(1 − n·u), Higham's constant for n roundings."""
    return n * _UNIT_ROUNDOFF / (1.0 - n * _UNIT_ROUNDOFF)


def monomial_eval_accurate(coefficients, x):
    """Σ c_k x^k within ``MONOMIAL_EVAL_TOLERANCE``·max(1, |p(x)|) of its exact value at each x.

    The exact value is that of the stored float64 coefficients at the float64 input x (both
    dyadic rationals). Plain float64 Horner loses digits when Σ|c_k||x|^k ≫ |p(x)| (degree 63
    with integers near 2^53 × 2^-F: 4.68e-7 read for an exact error of 3.43e-7). Per point,
    the cheapest of three evaluations whose error bound meets the tolerance:

    1. Horner (the same operations as ``numpy.polynomial.polynomial.polyval``, so the same
       values). Its error is ≤ γ_2d·Σ|c_k||x|^k (Higham, *Accuracy and Stability*, eq. 5.3):
       when that meets the tolerance at max|x|, every point is done at once; otherwise the
       running error bound 2u(2μ − |p̂|) of Higham's Algorithm 5.1 (μ the Horner sum of the
       |partial values|, twice its first-order value for safety) decides per point;
    2. compensated Horner (Graillat, Langlois, Louvet 2005: Horner's rounding errors, found by
       error-free transformations, summed by a second Horner), error
       ≤ u·|p(x)| + γ_2d²·Σ|c_k||x|^k: as if computed in twice the precision, then rounded;
    3. exact evaluation in Python integers, correctly rounded.

    Non-finite inputs and overflowing points keep Horner's value (inf/nan propagate).

    >>> c = [math.comb(20, k) * (-1.0) ** k for k in range(21)]   # (1 − x)^20 expanded: ≈ 1e-20 at 1.1
    >>> abs(float(monomial_eval(c, 1.1))) > 1e-11 > 2.0**-48 > abs(float(monomial_eval_accurate(c, 1.1)))
    True
    """
    c = np.asarray(coefficients, dtype=float)
    x_arr = np.asarray(x, dtype=float)
    degree = len(c) - 1
    if degree < 1 or x_arr.size == 0:
        return np.polynomial.polynomial.polyval(x_arr, c)
    abs_c = np.abs(c)
    with np.errstate(all="ignore"):
        reach = float(np.max(np.abs(x_arr[np.isfinite(x_arr)]), initial=0.0))
        if _gamma(2 * degree + 2) * float(np.polynomial.polynomial.polyval(reach, abs_c)) <= MONOMIAL_EVAL_TOLERANCE:
            return np.polynomial.polynomial.polyval(x_arr, c)   # the common low-degree path
        value, running = _horner_with_bound(c, x_arr)
        todo = running > MONOMIAL_EVAL_TOLERANCE * np.maximum(1.0, np.abs(value))   # NaN: False
        if not np.any(todo):
            return value
        value = np.array(value, dtype=float)
        flat_x, flat_v = x_arr.reshape(-1), value.reshape(-1)
        todo = np.flatnonzero(todo.reshape(-1) & np.isfinite(flat_x) & np.isfinite(flat_v))
        size = np.polynomial.polynomial.polyval(np.abs(flat_x[todo]), abs_c)        # Σ|c_k||x|^k
        compensated = _compensated_horner(c, flat_x[todo])
        flat_v[todo] = compensated
        gamma = _gamma(2 * degree + 2)
        bound = _UNIT_ROUNDOFF * np.abs(compensated) + 2.0 * gamma * gamma * size
        exact_points = todo[~(bound <= MONOMIAL_EVAL_TOLERANCE * np.maximum(1.0, np.abs(compensated)))]
        if exact_points.size:
            numerators, shift = _dyadic_integers(c)
            flat_v[exact_points] = [_exact_horner(numerators, shift, float(v)) for v in flat_x[exact_points]]
    return value if x_arr.ndim else value[()]


def _horner_with_bound(c: np.ndarray, x: np.ndarray):
    """Horner's p̂(x) (polyval's operations) and 2u(2μ − |p̂|), twice Higham's running error bound."""
    s = c[-1] + x * 0.0
    abs_x = np.abs(x)
    mu = np.abs(s) / 2
    for k in range(len(c) - 2, -1, -1):
        s = c[k] + s * x
        mu = mu * abs_x + np.abs(s)
    return s, 2.0 * _UNIT_ROUNDOFF * (2.0 * mu - np.abs(s))


def _compensated_horner(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """CompHorner (Graillat, Langlois, Louvet): Horner plus the Horner sum of its own rounding
    errors, each product's by Dekker's TwoProduct (Veltkamp split), each sum's by TwoSum."""
    split = _SPLITTER * x
    x_hi = split - (split - x)
    x_lo = x - x_hi
    s = np.full_like(x, c[-1])
    correction = np.zeros_like(x)
    for k in range(len(c) - 2, -1, -1):
        product = s * x
        split = _SPLITTER * s
        s_hi = split - (split - s)
        s_lo = s - s_hi
        product_error = ((s_hi * x_hi - product) + s_hi * x_lo + s_lo * x_hi) + s_lo * x_lo
        total = product + c[k]
        z = total - product
        sum_error = (product - (total - z)) + (c[k] - z)
        s = total
        correction = correction * x + (product_error + sum_error)
    return s + correction


def _dyadic_integers(c: np.ndarray) -> tuple[list[int], int]:
    """Integers N_k and e ≥ 0 with c_k = N_k / 2^e exactly (float64 numbers are dyadic)."""
    ratios = [float(v).as_integer_ratio() for v in c]
    shift = max(d.bit_length() - 1 for _, d in ratios)
    return [n << (shift - (d.bit_length() - 1)) for n, d in ratios], shift


def _exact_horner(numerators: list[int], shift: int, x: float) -> float:
    """Σ_k (N_k/2^shift)·x^k exactly in integers, then correctly rounded to float64.

    With x = m/2^s: 2^(shift + s·d)·p(x) = Σ_k N_k m^k 2^(s(d−k)), by Horner on integers.
    """
    m, den = x.as_integer_ratio()
    s = den.bit_length() - 1
    d = len(numerators) - 1
    acc = numerators[d]
    for k in range(d - 1, -1, -1):
        acc = acc * m + (numerators[k] << (s * (d - k)))
    try:
        return acc / (1 << (shift + s * d))          # int / int: correctly rounded
    except OverflowError:
        return math.copysign(math.inf, acc)


def chebyshev_eval(coefficients, x, interval):
    """Clenshaw evaluation of Σ c_k T_k(t) with t the window map of ``interval``."""
    return np.polynomial.chebyshev.chebval(to_window(x, interval), np.asarray(coefficients, dtype=float))


def chebyshev_to_monomial(coefficients, interval):
    """Monomial coefficients in x of Σ c_k T_k(t(x)).

    Exact in exact arithmetic; in float64 the monomial coefficients of a high-degree
    polynomial can lose many digits (see :func:`monomial_precision_loss`).
    """
    series = np.polynomial.Chebyshev(np.asarray(coefficients, dtype=float), domain=list(interval))
    coef = series.convert(kind=np.polynomial.Polynomial, domain=[-1, 1], window=[-1, 1]).coef
    return pad(coef, len(coefficients))


def monomial_to_chebyshev(coefficients, interval):
    """Chebyshev coefficients over ``interval`` of Σ c_k x^k."""
    series = np.polynomial.Polynomial(np.asarray(coefficients, dtype=float))
    coef = series.convert(kind=np.polynomial.Chebyshev, domain=list(interval)).coef
    return pad(coef, len(coefficients))


def monomial_precision_loss(chebyshev_coefficients, interval, points: int = 2001) -> float:
    """Max |p_mono(x) − p_cheb(x)| / max(1, max|p_cheb|) over ``interval``.

    Measures the digits lost by converting a Chebyshev series to monomial coefficients
    and evaluating them with Horner's rule in float64.
    """
    x = np.linspace(interval[0], interval[1], points)
    reference = chebyshev_eval(chebyshev_coefficients, x, interval)
    mono = monomial_eval(chebyshev_to_monomial(chebyshev_coefficients, interval), x)
    scale = max(1.0, float(np.max(np.abs(reference))))
    return float(np.max(np.abs(mono - reference)) / scale)


def pad(coef, length: int) -> np.ndarray:
    """``coef`` as exactly ``length`` coefficients: zeros appended, or higher terms cut.

    >>> pad([1.0, 2.0], 4)
    array([1., 2., 0., 0.])
    """
    out = np.zeros(length)
    out[: min(length, len(coef))] = coef[:length]
    return out


# --------------------------------------------------------------------------------------
# Series over a subset of degrees, in any arithmetic (float64 arrays or mpmath object arrays)
# --------------------------------------------------------------------------------------
def chebyshev_full(coefficients, degrees) -> np.ndarray:
    """The dense series c_0 … c_max of Σ_j coefficients[j]·T_{degrees[j]} (zeros elsewhere).

    Keeps the dtype of ``coefficients`` (object arrays of mpmath numbers stay exact).

    >>> chebyshev_full([2.0, 3.0], (1, 3))
    array([0., 2., 0., 3.])
    """
    coefficients = np.asarray(coefficients)
    dtype = object if coefficients.dtype == object else float
    full = np.zeros(max(degrees) + 1, dtype=dtype)   # object zeros are int 0: exact with any number
    full[list(degrees)] = coefficients
    return full


def chebyshev_series(coefficients, degrees, u) -> np.ndarray:
    """p(u) = Σ_j coefficients[j]·T_{degrees[j]}(u) by Clenshaw's recurrence (any arithmetic)."""
    return C.chebval(u if np.asarray(u).dtype == object else np.asarray(u, dtype=float),
                     chebyshev_full(coefficients, degrees))


def chebyshev_series_slope(coefficients, degrees, u) -> np.ndarray:
    """p′(u) for :func:`chebyshev_series` (d/du, by ``chebder`` then Clenshaw; any arithmetic)."""
    full = chebyshev_full(coefficients, degrees)
    u = u if np.asarray(u).dtype == object else np.asarray(u, dtype=float)
    if full.size < 2:
        return u * 0
    return C.chebval(u, C.chebder(full))


def chebyshev_columns(t, count: int):
    """[T_0(t), …, T_{count−1}(t)] and their derivatives dT_k/dt, as lists of arrays.

    Three-term recurrences T_{k+1} = 2tT_k − T_{k−1}, T′_{k+1} = 2T_k + 2tT′_k − T′_{k−1};
    they work for float arrays and for mpmath object arrays alike.
    """
    one = t * 0 + 1
    zero = t * 0
    values, slopes = [one], [zero]
    if count > 1:
        values.append(t)
        slopes.append(one)
    for k in range(1, count - 1):
        values.append(2 * t * values[k] - values[k - 1])
        slopes.append(2 * values[k] + 2 * t * slopes[k] - slopes[k - 1])
    return values[:count], slopes[:count]


def chebyshev_vander(u, degrees, slopes: bool = False):
    """Matrix [T_k(u_i)]_{i, k∈degrees} (and, with ``slopes``, [T′_k(u_i)]) in u's arithmetic.

    float64 through ``numpy.polynomial.chebyshev.chebvander``; object arrays (mpmath) through
    :func:`chebyshev_columns`.
    """
    degrees = list(degrees)
    u_arr = np.asarray(u)
    if u_arr.dtype != object and not slopes:
        return C.chebvander(np.asarray(u, dtype=float), max(degrees))[:, degrees]
    values, derivatives = chebyshev_columns(u_arr if u_arr.dtype == object else u_arr.astype(float), max(degrees) + 1)
    matrix = np.stack([values[k] for k in degrees], axis=1)
    if not slopes:
        return matrix
    return matrix, np.stack([derivatives[k] for k in degrees], axis=1)


# --------------------------------------------------------------------------------------
# Changes of basis: float64 matrices and exact rational conversions
# --------------------------------------------------------------------------------------
def monomial_to_chebyshev_matrix(degree: int, interval) -> np.ndarray:
    """M with M[:, k] = Chebyshev coefficients (over ``interval``) of t^k.

    With t = c + h·u (u the window variable), t^k = (c + h u)·t^(k−1) and
    u·T_j = (T_{j+1} + T_{|j−1|})/2 give column k from column k − 1 exactly.

    >>> monomial_to_chebyshev_matrix(2, (-1.0, 1.0))
    array([[1. , 0. , 0.5],
           [0. , 1. , 0. ],
           [0. , 0. , 0.5]])
    """
    lo, hi = interval
    c, h = 0.5 * (hi + lo), 0.5 * (hi - lo)
    M = np.zeros((degree + 1, degree + 1))
    M[0, 0] = 1.0
    for k in range(1, degree + 1):
        prev = M[:, k - 1]
        times_u = np.zeros(degree + 1)
        times_u[1:] += 0.5 * prev[:-1]          # T_j → T_{j+1}/2
        times_u[:-1] += 0.5 * prev[1:]          # T_j → T_{j−1}/2 (j ≥ 1)
        times_u[1] += 0.5 * prev[0]             # T_0 → T_1 (u·T_0 = T_1)
        M[:, k] = c * prev + h * times_u
    return M


def exact(value) -> Fraction:
    """``value`` as a Fraction: floats exactly, other numbers (mpmath, Fraction) via their decimal string."""
    if isinstance(value, Fraction):
        return value
    return Fraction(value) if isinstance(value, (float, int)) else Fraction(str(value))


def exact_chebyshev_to_monomial(coefficients, interval) -> list:
    """Monomial coefficients in y of Σ_k b_k T_k(t), t = (2y − lo − hi)/(hi − lo), exactly.

    Rational arithmetic on the (float or mpmath) inputs: T_{k+1}(t(y)) = 2t(y)T_k − T_{k−1}
    expanded as polynomials in y; round once later.

    >>> [float(c) for c in exact_chebyshev_to_monomial([0.0, 0.0, 1.0], (0.0, 1.0))]  # T_2(2y − 1)
    [1.0, -8.0, 8.0]
    """
    lo, hi = (exact(v) for v in interval)
    scale, shift = 2 / (hi - lo), -(lo + hi) / (hi - lo)   # t = scale·y + shift
    n = len(coefficients)
    prev, cur = [Fraction(1)], [shift, scale]
    out = [exact(coefficients[0])] + [Fraction(0)] * (n - 1)
    if n > 1:
        for i, c in enumerate(cur):
            out[i] += exact(coefficients[1]) * c
    for k in range(2, n):
        nxt = [Fraction(0)] * (k + 1)
        for i, c in enumerate(cur):
            nxt[i] += 2 * shift * c
            nxt[i + 1] += 2 * scale * c
        for i, c in enumerate(prev):
            nxt[i] -= c
        prev, cur = cur, nxt
        for i, c in enumerate(cur):
            out[i] += exact(coefficients[k]) * c
    return out


def exact_chebyshev_coefficients(monomial, half_width) -> list:
    """Chebyshev coefficients over [−U, U] (U = ``half_width``) of Σ c_k x^k, exactly.

    x = U·v and v^k = 2^(1−k) Σ_j C(k, j) T_{k−2j}(v) (the j = k/2 term halved).

    >>> [float(c) for c in exact_chebyshev_coefficients([0, 0, 1], 2.0)]  # x² = 2 + 2·T_2(x/2)
    [2.0, 0.0, 2.0]
    """
    u = exact(half_width)
    out = [Fraction(0)] * len(monomial)
    for k, c in enumerate(monomial):
        if c == 0:
            continue
        scaled = exact(c) * u ** k
        for j in range(k // 2 + 1):
            term = scaled * math.comb(k, j) / Fraction(2) ** (k - 1) if k else scaled
            if k and 2 * j == k:
                term /= 2
            out[k - 2 * j] += term
    return out


def exact_monomial_to_chebyshev_matrix(degree: int, interval) -> list:
    """M (list of rows of Fractions) with M[j][k] = Chebyshev coefficient of T_j over ``interval``
    of t^k, exactly: the float version's recurrence t^k = (c + h u)·t^(k−1),
    u·T_j = (T_{j+1} + T_{|j−1|})/2 run in rationals (the interval's floats are dyadic).

    >>> [float(v) for v in [row[2] for row in exact_monomial_to_chebyshev_matrix(2, (-1.0, 1.0))]]
    [0.5, 0.0, 0.5]
    """
    lo, hi = (exact(v) for v in interval)
    half = Fraction(1, 2)
    c, h = (hi + lo) * half, (hi - lo) * half
    columns = [[Fraction(0)] * (degree + 1) for _ in range(degree + 1)]
    columns[0][0] = Fraction(1)
    for k in range(1, degree + 1):
        prev, col = columns[k - 1], columns[k]
        for j, p in enumerate(prev):
            if p == 0:
                continue
            col[j] += c * p
            if j == 0:
                col[1] += h * p                      # u·T_0 = T_1
            else:
                col[j - 1] += h * half * p           # u·T_j = (T_{j−1} + T_{j+1})/2
                if j < degree:
                    col[j + 1] += h * half * p
    return [[columns[k][j] for k in range(degree + 1)] for j in range(degree + 1)]


# -- Chebyshev points ---------------------------------------------------------------------
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
