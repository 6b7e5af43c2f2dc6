"""Target functions: named ones, SymPy expressions in x, and Python callables.

A :class:`Target` carries a vectorised numpy function, its SymPy expression as a string
(when one exists), the points where it is not smooth (``breakpoints``, used to split
quadrature) and its parity (``"odd"``, ``"even"`` or ``None``).

SymPy is imported only to parse ``--expr`` strings or to build a Taylor series; the named
targets evaluate with numpy alone, so ``polyfit fit`` stays fast. Expression text is parsed
by :mod:`polyfit.expression` (a whitelist over Python's syntax tree), never executed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Mapping
from types import MappingProxyType
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
NAMED: Mapping[str, Target] = MappingProxyType({
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
})


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
    """A target from an expression in ``x``, parsed into data and never executed.

    The grammar (numbers, ``x``, ``pi``, ``E``, ``+ - * / **``, a whitelist of SymPy
    functions and ``Piecewise``) and its cost bounds are those of :mod:`polyfit.expression`.
    The target's ``expr`` is SymPy's text of the parsed expression, which parses back to the
    same expression (so an artifact can be re-read exactly).

    >>> parse_expr("x*tanh(x)").expr
    'x*tanh(x)'
    """
    from . import expression

    expr = expression.parse(text)
    canonical = expression.canonical_text(expr)
    if canonical != text:
        try:
            same = expression.parse(canonical) == expr
        except InputError:
            same = False
        if not same:
            raise InputError(f"expression {expression.show(text)} simplifies to {expression.show(canonical)}, "
                             "which polyfit cannot read back; rewrite it")
    func = expression.CompiledExpression(expr)
    try:
        probe = func(np.linspace(-1.0, 1.0, 5))
    except InputError:
        raise
    except (ArithmeticError, ValueError, TypeError) as exc:
        raise InputError(f"expression {expression.show(text)} cannot be evaluated numerically ({type(exc).__name__})") from None
    if probe.shape != (5,):
        raise InputError(f"expression {expression.show(text)} does not evaluate to one number per x")
    return Target("expr", canonical, func, expression.breakpoints(expr))


def sympy_expr(target: Target):
    """The target as a SymPy expression in a real symbol ``x`` (for Taylor series), parsed
    by :func:`polyfit.expression.parse` like any user text."""
    from . import expression

    if target.expr is None:
        raise InputError(f"target {target.name!r} is a Python callable with no expression; a Taylor series needs a named function or --expr")
    return expression.parse(target.expr), expression.symbol()
