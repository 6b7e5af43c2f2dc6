"""Evaluation plans: a polynomial (or composite) as a list of arithmetic operations.

A plan is data. The depth report counts it and every backend (numpy, CKKS, fixed point)
executes it, so the reported depth and what a backend consumes cannot disagree.

Operations on registers (register 0 holds the input x, at level 0):

    mul        out = a · b        ciphertext–ciphertext product: level max(ℓa, ℓb) + 1
    mul_const  out = a · c        level ℓa + 1 when c is not an integer, ℓa otherwise
    add        out = a + b        level max(ℓa, ℓb)   (free)
    add_const  out = a + c        level ℓa            (free)

CKKS levels of a plan = level of its output register.

One stage of degree d is evaluated by recursive splitting at powers of two,

    p(x) = q(x) + x^h · r(x),   h = 2^(m−1),  m = ⌈log2(d+1)⌉,

with x^(2^i) computed by repeated squaring. By induction a polynomial of degree < 2^m
ends at level ≤ m: q and r end at level ≤ m − 1, x^h is at level m − 1, so the product is
at level m; the scalar c·x of a linear leaf rides on level 1. Hence ⌈log2(d+1)⌉ levels,
the optimum for degree d.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

OP_KINDS = ("mul", "mul_const", "add", "add_const")


@dataclass(frozen=True)
class Op:
    kind: str
    out: int
    a: int
    b: int | None = None
    const: float | None = None


@dataclass(frozen=True)
class Plan:
    """A straight-line program; ``output`` is the register holding the result."""

    ops: tuple[Op, ...]
    output: int
    levels: tuple[int, ...] = field(repr=False, default=())

    @property
    def depth(self) -> int:
        """CKKS levels consumed: the level of the output register."""
        return self.levels[self.output]

    @property
    def ct_ct_multiplications(self) -> int:
        return sum(1 for op in self.ops if op.kind == "mul")

    @property
    def scalar_multiplications(self) -> int:
        return sum(1 for op in self.ops if op.kind == "mul_const")

    def execute(self, x, *, mul=None, mul_const=None, add=None, add_const=None):
        """Run the plan on ``x`` with Python operators, or with the given callables.

        Works for numpy arrays, Python numbers and ciphertext objects that implement
        ``*`` and ``+`` (TenSEAL's CKKSVector), or any backend passing its own callables.
        """
        mul = mul or (lambda a, b: a * b)
        mul_const = mul_const or (lambda a, c: a * c)
        add = add or (lambda a, b: a + b)
        add_const = add_const or (lambda a, c: a + c)
        regs = {0: x}
        for op in self.ops:
            if op.kind == "mul":
                regs[op.out] = mul(regs[op.a], regs[op.b])
            elif op.kind == "mul_const":
                regs[op.out] = mul_const(regs[op.a], op.const)
            elif op.kind == "add":
                regs[op.out] = add(regs[op.a], regs[op.b])
            else:
                regs[op.out] = add_const(regs[op.a], op.const)
        return regs[self.output]


def is_integer(c: float) -> bool:
    return float(c).is_integer()


class _Builder:
    """Appends operations and tracks each register's level."""

    def __init__(self):
        self.ops: list[Op] = []
        self.levels: list[int] = [0]
        self.powers: dict[int, int] = {1: 0}  # exponent → register of x^exponent (current input)

    def _new(self, level: int) -> int:
        self.levels.append(level)
        return len(self.levels) - 1

    def mul(self, a: int, b: int) -> int:
        out = self._new(max(self.levels[a], self.levels[b]) + 1)
        self.ops.append(Op("mul", out, a, b))
        return out

    def mul_const(self, a: int, c: float) -> int:
        out = self._new(self.levels[a] + (0 if is_integer(c) else 1))
        self.ops.append(Op("mul_const", out, a, const=float(c)))
        return out

    def add(self, a: int, b: int) -> int:
        out = self._new(max(self.levels[a], self.levels[b]))
        self.ops.append(Op("add", out, a, b))
        return out

    def add_const(self, a: int, c: float) -> int:
        out = self._new(self.levels[a])
        self.ops.append(Op("add_const", out, a, const=float(c)))
        return out

    def power_of_two(self, h: int) -> int:
        """Register of x^h for h a power of two, by repeated squaring (level log2 h)."""
        if h not in self.powers:
            half = self.power_of_two(h // 2)
            self.powers[h] = self.mul(half, half)
        return self.powers[h]

    def polynomial(self, coefficients) -> tuple[int | None, float]:
        """Plan Σ c_k x^k for the current input; returns (register or None, constant part).

        The constant term is returned separately so it can be added for free at the end
        (and so a zero sub-polynomial costs nothing).
        """
        c = [float(v) for v in coefficients]
        while len(c) > 1 and c[-1] == 0.0:
            c.pop()
        if len(c) == 1:
            return None, c[0]
        if len(c) == 2:
            return (self.mul_const(self.powers[1], c[1]) if c[1] != 1.0 else self.powers[1]), c[0]
        m = math.ceil(math.log2(len(c)))
        h = 2 ** (m - 1)
        low_reg, low_const = self.polynomial(c[:h])
        high_reg, high_const = self.polynomial(c[h:])
        xh = self.power_of_two(h)
        if high_reg is None:
            term = xh if high_const == 1.0 else self.mul_const(xh, high_const)
        else:
            if high_const != 0.0:
                high_reg = self.add_const(high_reg, high_const)
            term = self.mul(xh, high_reg)
        if low_reg is None:
            return term, low_const
        return self.add(low_reg, term), low_const

    def stage(self, input_reg: int, coefficients) -> int:
        """Plan one stage on ``input_reg``; returns the output register."""
        self.powers = {1: input_reg}
        reg, const = self.polynomial(coefficients)
        if reg is None:  # a constant polynomial still yields a ciphertext: 0·x + c
            reg = self.mul_const(input_reg, 0.0)
        return self.add_const(reg, const) if const != 0.0 else reg

    def build(self, output: int) -> Plan:
        return Plan(tuple(self.ops), output, tuple(self.levels))


def stage_plan(coefficients) -> Plan:
    """Plan for one monomial polynomial Σ c_k x^k (coefficients lowest degree first)."""
    b = _Builder()
    return b.build(b.stage(0, coefficients))


def approximation_plan(approximation) -> Plan:
    """Plan for a whole :class:`~polyfit.approximation.Approximation`.

    ``input_scale`` is folded into the first stage's coefficients (c_k·s^k), so it costs no
    level. ``combine`` relu/abs end with one product by x (relu as x·s' with
    s' = (1 + s)/2 folded into the last stage); ``step`` is folded into the last stage.
    """
    stage_coefficients = [np.array(s.monomial_coefficients(), dtype=float) for s in approximation.stages]
    scale = approximation.input_scale
    stage_coefficients[0] = stage_coefficients[0] * scale ** np.arange(len(stage_coefficients[0]))
    last = stage_coefficients[-1]
    if approximation.combine in ("relu", "step"):
        last = last / 2.0
        last[0] += 0.5
    stage_coefficients[-1] = last
    b = _Builder()
    reg = 0
    for coefs in stage_coefficients:
        reg = b.stage(reg, coefs)
    if approximation.combine in ("relu", "abs"):
        reg = b.mul(0, reg)
    return b.build(reg)
