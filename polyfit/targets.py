"""Target functions: named ones, SymPy expressions in x, and Python callables.

A :class:`Target` carries a vectorised numpy function, its SymPy expression as a string
(when one exists), the points where it is not smooth (``breakpoints``, used to split
quadrature) and its parity (``"odd"``, ``"even"`` or ``None``).

SymPy is imported only to parse ``--expr`` strings or to build a Taylor series; the named
targets evaluate with numpy alone, so ``polyfit fit`` stays fast.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .errors import InputError


@dataclass(frozen=True)
class Target:
    """A function to approximate.

    Attributes:
        name: short name (``relu``) or ``expr`` for parsed expressions, or a callable's name.
        expr: SymPy expression in ``x`` as a string, or None for an opaque callable.
        func: vectorised numpy function, float array in, float array out.
        breakpoints: points where the function or a derivative jumps.
        parity: ``"odd"``, ``"even"`` or None.
        shift: constant c with f − c of the stated parity (sigmoid: 1/2 and odd).
    """

    name: str
    expr: str | None
    func: Callable = field(repr=False, compare=False)
    breakpoints: tuple = ()
    parity: str | None = None
    shift: float = 0.0

    def __call__(self, x):
        return np.asarray(self.func(np.asarray(x, dtype=float)), dtype=float)

    def to_dict(self) -> dict:
        return {"name": self.name, "expr": self.expr}


def _gelu(x):
    from scipy.special import erf  # only when GELU is asked for

    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def _sigmoid(x):
    # Two branches so neither overflows.
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


def _relu(x):
    return np.maximum(x, 0.0)


def _step(x):
    return np.heaviside(x, 0.5)


def _silu(x):
    return x * _sigmoid(x)


def _softplus(x):
    return np.logaddexp(0.0, x)


# Module-level functions (not lambdas) so that targets pickle into worker processes.
NAMED: dict[str, Target] = {
    t.name: t
    for t in (
        Target("relu", "Max(0, x)", _relu, (0.0,)),
        Target("sign", "sign(x)", np.sign, (0.0,), "odd"),
        Target("abs", "Abs(x)", np.abs, (0.0,), "even"),
        Target("step", "Heaviside(x, 1/2)", _step, (0.0,), "odd", 0.5),
        Target("sigmoid", "1/(1 + exp(-x))", _sigmoid, (), "odd", 0.5),
        Target("tanh", "tanh(x)", np.tanh, (), "odd"),
        Target("gelu", "x*(1 + erf(x/sqrt(2)))/2", _gelu),
        Target("silu", "x/(1 + exp(-x))", _silu),
        Target("softplus", "log(1 + exp(x))", _softplus),
        Target("exp", "exp(x)", np.exp),
    )
}


def target_names() -> list[str]:
    return sorted(NAMED)


def get_target(spec) -> Target:
    """Resolve a target: a :class:`Target`, a name in :data:`NAMED`, or a callable.

    >>> get_target("relu")(np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    if isinstance(spec, Target):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower()
        if key in NAMED:
            return NAMED[key]
        raise InputError(f"unknown function {spec!r}; allowed: {', '.join(target_names())} (or --expr)")
    if callable(spec):
        name = getattr(spec, "__name__", None) or type(spec).__name__
        return Target(name, None, spec)
    raise InputError(f"target must be a function name, a callable or a Target, got {spec!r}")


def parse_expr(text: str) -> Target:
    """A target from a SymPy expression in ``x`` (parsed by SymPy, never ``eval``).

    Only the symbol ``x`` and SymPy's functions are allowed.
    """
    import sympy

    if not isinstance(text, str) or not text.strip():
        raise InputError(f"unparsable expression {text!r}: give a SymPy expression in x, e.g. 'x*tanh(x)'")
    x = sympy.Symbol("x", real=True)
    try:
        from sympy.parsing.sympy_parser import parse_expr as _parse, standard_transformations

        expr = _parse(text, local_dict={"x": x}, transformations=standard_transformations, evaluate=True)
    except Exception as exc:  # SymPy raises many types for bad syntax
        raise InputError(f"unparsable expression {text!r}: {type(exc).__name__}; give a SymPy expression in x") from None
    if not isinstance(expr, sympy.Expr):
        raise InputError(f"expression {text!r} is not a numeric SymPy expression in x")
    extra = expr.free_symbols - {x}
    if extra:
        names = ", ".join(sorted(str(s) for s in extra))
        raise InputError(f"expression {text!r} uses unknown symbol(s) {names}; only x is allowed")
    try:
        func = sympy.lambdify(x, expr, modules=["numpy", "scipy"])
    except ImportError:  # scipy's special functions are optional for lambdify
        func = sympy.lambdify(x, expr, modules="numpy")

    def vectorised(values, _f=func):
        values = np.asarray(values, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(_f(values), dtype=float)
        return np.broadcast_to(out, values.shape).copy()

    try:
        probe = vectorised(np.linspace(-1.0, 1.0, 5))
    except Exception as exc:  # lambdify can produce code numpy cannot run (e.g. Lambda)
        raise InputError(f"expression {text!r} cannot be evaluated numerically ({type(exc).__name__})") from None
    if probe.shape != (5,):
        raise InputError(f"expression {text!r} does not evaluate to one number per x")
    return Target("expr", str(expr), vectorised, _sympy_breakpoints(expr, x))


def _sympy_breakpoints(expr, x) -> tuple:
    """Zeros of the arguments of Abs/sign/Max/Min/Heaviside/Piecewise conditions, when easy."""
    import sympy

    points = set()
    for node in sympy.preorder_traversal(expr):
        args = []
        if isinstance(node, (sympy.Abs, sympy.sign, sympy.Heaviside)):
            args = [node.args[0]]
        elif isinstance(node, (sympy.Max, sympy.Min)) and len(node.args) == 2:
            args = [node.args[0] - node.args[1]]
        for arg in args:
            try:
                for root in sympy.solve(arg, x):
                    if root.is_real:
                        points.add(float(root))
            except Exception:  # not solvable in closed form: quadrature just converges slower
                continue
    return tuple(sorted(points))


def sympy_expr(target: Target):
    """The target as a SymPy expression in a real symbol ``x`` (for Taylor series)."""
    import sympy

    if target.expr is None:
        raise InputError(f"target {target.name!r} is a Python callable with no expression; a Taylor series needs a named function or --expr")
    x = sympy.Symbol("x", real=True)
    return sympy.sympify(target.expr, locals={"x": x}), x
