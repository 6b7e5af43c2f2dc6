"""Exact truncated power series of a smooth SymPy expression, by recurrences (no ``sympy.series``).

For f(c + h) = Σ_k f_k h^k (k = 0 … n) every node of the expression tree is turned into its
n + 1 coefficients, exactly (SymPy numbers: rationals, and constants such as √π or e^c where
they arise), with the classical recurrences (Knuth, TAOCP vol. 2 §4.7; Brent & Kung 1978):

    sum, product          (f + g)_k = f_k + g_k,   (f g)_k = Σ_j f_j g_(k−j)
    g = f^a (f_0 ≠ 0)     g_k = 1/(k f_0) Σ_(j=1..k) ((a + 1) j − k) f_j g_(k−j)      (J. C. P. Miller)
    g = exp f             g_k = 1/k Σ_(j=1..k) j f_j g_(k−j)
    g = log f             g_k = (f_k − 1/k Σ_(j=1..k−1) j g_j f_(k−j)) / f_0
    sin/cos, sinh/cosh    s_k = 1/k Σ j f_j c_(k−j),  c_k = ∓1/k Σ j f_j s_(k−j)
    tan/tanh              t' = (1 ± t²) f', built term by term
    erf, atan, asin, …    g = g(f_0) + ∫ g'(f) f'  with g'(f) a series of f (e.g. 2/√π·exp(−f²))

Function values at the center are kept exact when rational (every named target at 0) and
otherwise become 60-digit Floats, so the coefficients stay numbers instead of growing
polynomials in, say, tanh(1/2). Each recurrence is O(n²) coefficient operations, so degree 1000 takes seconds where ``sympy.series``
takes minutes. Anything not smooth or not covered (Abs, Max, sign, Heaviside, Piecewise, a
branch point such as log or sqrt at 0) raises :class:`NotSmooth`; the caller then uses
SymPy's series (the symmetric rule at kinks).
"""
from __future__ import annotations


import time


class NotSmooth(Exception):
    """The expression has no power series here that these recurrences can build."""


class SeriesTimeout(Exception):
    """The time budget ran out (``args[0]``: the term being built)."""


class _Builder:
    """The recurrences of the module docstring on n + 1 coefficients, within a time budget."""

    def __init__(self, n: int, deadline: float):
        import sympy

        self.sympy = sympy
        self.n = n
        self.deadline = deadline

    def at_center(self, value):
        """A function's value at the center: exact when rational, else a Float of DIGITS digits
        (exact irrational values such as tanh(1/2) would make every later coefficient a
        polynomial in them, whose size grows with the degree)."""
        return value if value.is_Rational else value.evalf(DIGITS)

    def _tick(self, k: int) -> None:
        if time.perf_counter() > self.deadline:
            raise SeriesTimeout(k)

    def total(self, terms):
        return self.sympy.Add(*terms) if terms else self.sympy.Integer(0)

    def constant(self, value):
        return [value] + [self.sympy.Integer(0)] * self.n

    def variable(self, center):
        return ([center, self.sympy.Integer(1)] + [self.sympy.Integer(0)] * (self.n - 1))[: self.n + 1]

    def mul(self, f, g):
        out = []
        for k in range(self.n + 1):
            self._tick(k)
            out.append(self.total([f[j] * g[k - j] for j in range(k + 1) if f[j] != 0 and g[k - j] != 0]))
        return out

    def _convolve_derivative(self, f, g, k):
        """Σ_(j=1..k) j f_j g_(k−j): the k-th coefficient of f'·g times k."""
        self._tick(k)
        return self.total([j * f[j] * g[k - j] for j in range(1, k + 1) if f[j] != 0 and g[k - j] != 0])

    def exp(self, f):
        g = [self.at_center(self.sympy.exp(f[0]))]
        for k in range(1, self.n + 1):
            g.append(self._convolve_derivative(f, g, k) / k)
        return g

    def log(self, f):
        if f[0] == 0:
            raise NotSmooth("log at 0")
        g = [self.at_center(self.sympy.log(f[0]))]
        for k in range(1, self.n + 1):
            self._tick(k)
            inner = self.total([j * g[j] * f[k - j] for j in range(1, k) if f[k - j] != 0])
            g.append((f[k] - inner / k) / f[0])
        return g

    def power(self, f, a):
        a = self.sympy.nsimplify(a)
        if a.is_Integer and a >= 0:
            out, base, e = self.constant(self.sympy.Integer(1)), f, int(a)
            while e:
                if e & 1:
                    out = self.mul(out, base)
                e >>= 1
                if e:
                    base = self.mul(base, base)
            return out
        if f[0] == 0:
            raise NotSmooth("a negative or fractional power at 0")
        g = [self.at_center(f[0] ** a)]
        for k in range(1, self.n + 1):
            self._tick(k)
            g.append(self.total([((a + 1) * j - k) * f[j] * g[k - j] for j in range(1, k + 1) if f[j] != 0])
                     / (k * f[0]))
        return g

    def trig(self, f, hyperbolic: bool):
        """(sin f, cos f), or (sinh f, cosh f)."""
        sp = self.sympy
        s = [self.at_center(sp.sinh(f[0]) if hyperbolic else sp.sin(f[0]))]
        c = [self.at_center(sp.cosh(f[0]) if hyperbolic else sp.cos(f[0]))]
        sign = 1 if hyperbolic else -1
        for k in range(1, self.n + 1):
            s.append(self._convolve_derivative(f, c, k) / k)
            c.append(sign * self._convolve_derivative(f, s, k) / k)
        return s, c

    def tan(self, f, hyperbolic: bool):
        """t = tan f (t' = (1 + t²) f') or tanh f (t' = (1 − t²) f')."""
        sign = -1 if hyperbolic else 1
        t = [self.at_center(self.sympy.tanh(f[0]) if hyperbolic else self.sympy.tan(f[0]))]
        u = [1 + sign * t[0] ** 2]  # u = 1 ± t², known up to the index already built
        for k in range(1, self.n + 1):
            t.append(self._convolve_derivative(f, u, k) / k)
            u.append(sign * self.total([t[i] * t[k - i] for i in range(k + 1) if t[i] != 0 and t[k - i] != 0]))
        return t

    def through_derivative(self, name: str, f):
        """g(f) = g(f_0) + ∫ g'(f)·f' for the inverse functions and erf, g' built from series."""
        sp = self.sympy
        one = self.constant(sp.Integer(1))
        square = self.mul(f, f)

        def combine(a, b, sb):
            return [p + sb * q for p, q in zip(a, b)]

        if name in ("erf", "erfc"):
            outer = [2 / sp.sqrt(sp.pi) * v for v in self.exp([-v for v in square])]
        elif name == "atan":
            outer = self.power(combine(one, square, 1), -1)
        elif name == "atanh":
            outer = self.power(combine(one, square, -1), -1)
        elif name in ("asin", "acos"):
            outer = self.power(combine(one, square, -1), sp.Rational(-1, 2))
            outer = outer if name == "asin" else [-v for v in outer]
        elif name == "asinh":
            outer = self.power(combine(one, square, 1), sp.Rational(-1, 2))
        elif name == "acosh":
            outer = self.power(combine(square, one, -1), sp.Rational(-1, 2))
        else:
            raise NotSmooth(name)
        derivative = [k * f[k] for k in range(1, self.n + 1)] + [sp.Integer(0)]
        d = self.mul(outer, derivative)
        start = self.at_center(getattr(sp, "erf" if name == "erfc" else name)(f[0]))
        g = [start] + [d[k - 1] / k for k in range(1, self.n + 1)]
        return [1 - g[0]] + [-v for v in g[1:]] if name == "erfc" else g


DIGITS = 60  # significant digits of irrational values at the center (float64 needs 17)
INVERSES_AND_ERF = ("erf", "erfc", "atan", "atanh", "asin", "acos", "asinh", "acosh")


def series(expr, x, center, n: int, seconds: float = 60.0) -> list:
    """Exact coefficients f_0 … f_n of expr(center + h) in powers of h.

    Raises:
        NotSmooth: a node these recurrences do not cover, or a branch point at ``center``.
        SeriesTimeout: building took longer than ``seconds``.
    """
    import sympy

    b = _Builder(int(n), time.perf_counter() + seconds)
    cache: dict = {}

    def walk(e):
        if e in cache:
            return cache[e]
        if e == x:
            out = b.variable(center)
        elif not e.has(x):  # a decimal of the text (0.5) is the rational it denotes
            out = b.constant(sympy.nsimplify(e, rational=True) if e.is_Float else e)
        elif e.is_Add:
            parts = [walk(a) for a in e.args]
            out = [b.total([p[k] for p in parts]) for k in range(n + 1)]
        elif e.is_Mul:
            out = walk(e.args[0])
            for a in e.args[1:]:
                out = b.mul(out, walk(a))
        elif e.is_Pow:
            base, exponent = e.args
            out = walk(sympy.exp(exponent * sympy.log(base))) if exponent.has(x) else b.power(walk(base), exponent)
        elif isinstance(e, sympy.exp):
            out = b.exp(walk(e.args[0]))
        elif isinstance(e, sympy.log) and len(e.args) == 1:
            out = b.log(walk(e.args[0]))
        elif isinstance(e, (sympy.sin, sympy.cos, sympy.sinh, sympy.cosh)):
            s, c = b.trig(walk(e.args[0]), isinstance(e, (sympy.sinh, sympy.cosh)))
            out = s if isinstance(e, (sympy.sin, sympy.sinh)) else c
        elif isinstance(e, (sympy.tan, sympy.tanh)):
            out = b.tan(walk(e.args[0]), isinstance(e, sympy.tanh))
        elif len(e.args) == 1 and type(e).__name__ in INVERSES_AND_ERF:
            out = b.through_derivative(type(e).__name__, walk(e.args[0]))
        else:
            raise NotSmooth(type(e).__name__)
        cache[e] = out
        return out

    return walk(expr)
