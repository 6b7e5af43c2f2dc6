"""Evaluation plans: a polynomial (or composite) as a list of arithmetic operations.

A plan is data. The depth report counts it and every backend (numpy, CKKS, fixed point)
executes it, so the reported depth and what a backend consumes cannot disagree.

Operations on registers (register 0 holds the input u, at level 0):

    mul        out = a · b        ciphertext–ciphertext product: level max(ℓa, ℓb) + 1
    mul_const  out = a · c        level ℓa + 1 when c is not an integer, ℓa otherwise
    add        out = a + b        level max(ℓa, ℓb)   (free)
    add_const  out = a + c        level ℓa            (free)

CKKS levels of a plan = level of its output register. Integer constants are free because a
backend can apply them by doubling and adding (CKKS) or as plain integers (fixed point).

Scheduling one stage p(u) = Σ c_k u^k of degree d in m = ⌈log2(d+1)⌉ levels
(baby-step giant-step with a level budget, :func:`stage_plan`):

- baby steps u^i, i < k, each at level ⌈log2 i⌉ (u^i = u^(2^(j−1)) · u^(i−2^(j−1)), j = ⌈log2 i⌉);
  giant steps u^(2^j) by repeated squaring, at level j;
- a piece P of degree n that must end at level ≤ L is evaluated *directly* as Σ c_i u^i when
  n < k and every term fits: ⌈log2 i⌉ + [c_i ∉ ℤ] ≤ L (the scalar takes the level the piece
  has to spare);
- otherwise it is *split* at h = 2^(⌈log2(n+1)⌉−1): P = Q + u^h · R, with Q due at level L
  and R at level L − 1. By induction (deg P < 2^L ⇒ deg R < h ≤ 2^(L−1), log2 h ≤ L − 1)
  the split always fits, so every stage ends at exactly the optimum ⌈log2(d+1)⌉.

The low halves Q get one level of slack at every split, so their scalars ride on it and the
baby steps are shared between all chunks; only the top chunk (no slack) is split further.
k = 2 is plain recursive halving; :func:`stage_plan` builds the plan for every baby-step
size k and keeps the one with the fewest ciphertext products (then fewest scalar products).
Zero coefficients cost nothing (odd or even polynomials skip half the baby steps).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

OP_KINDS = ("mul", "mul_const", "add", "add_const")
PLAN_BASES = ("monomial", "chebyshev")


@dataclass(frozen=True)
class Op:
    """One operation ``out = a ∘ b`` or ``out = a ∘ const`` (see module docstring)."""

    kind: str
    out: int
    a: int
    b: int | None = None
    const: float | None = None


@dataclass(frozen=True)
class Plan:
    """A straight-line program; ``output`` is the register holding the result.

    ``levels[r]`` is the CKKS level register r ends at (register 0, the input, is at 0).
    """

    ops: tuple[Op, ...]
    output: int
    levels: tuple[int, ...] = field(repr=False, default=())

    @property
    def depth(self) -> int:
        """CKKS levels consumed: the level of the output register."""
        return self.levels[self.output]

    @property
    def ct_ct_multiplications(self) -> int:
        """Number of ciphertext–ciphertext products (``mul`` operations)."""
        return sum(1 for op in self.ops if op.kind == "mul")

    @property
    def scalar_multiplications(self) -> int:
        """Products by a non-integer constant (each takes a level in CKKS)."""
        return sum(1 for op in self.ops if op.kind == "mul_const" and not is_integer(op.const))

    @property
    def registers(self) -> int:
        return len(self.levels)

    def execute(self, x, *, mul=None, mul_const=None, add=None, add_const=None):
        """Run the plan on ``x`` with Python operators, or with the given callables.

        Works for numpy arrays, Python numbers and ciphertext objects that implement
        ``*`` and ``+``, or any backend passing its own callables (the CKKS backend does,
        to make integer constants free and to catch a chain that runs out of levels).
        """
        return self.trace(x, mul=mul, mul_const=mul_const, add=add, add_const=add_const)[self.output]

    def trace(self, x, *, mul=None, mul_const=None, add=None, add_const=None) -> dict:
        """Like :meth:`execute` but returns every register's value (register → value)."""
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
        return regs


def is_integer(c: float) -> bool:
    """True when the constant is an integer (a free product in every backend)."""
    return float(c).is_integer()


def level_of_power(i: int) -> int:
    """⌈log2 i⌉: the level of u^i computed by the power tree (0 for i ≤ 1)."""
    return (i - 1).bit_length() if i > 1 else 0


class _Builder:
    """Appends operations and tracks each register's level (internal to this module)."""

    def __init__(self, baby_steps: int = 2, basis: str = "monomial"):
        self.ops: list[Op] = []
        self.levels: list[int] = [0]
        self.baby_steps = baby_steps
        self.basis = basis
        self.powers: dict[int, int] = {1: 0}  # exponent → register of u^exponent (current input)

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

    def power(self, i: int) -> int:
        """Register of u^i (or T_i(u)) at level ⌈log2 i⌉ (cached; shared by a stage's pieces).

        Chebyshev: T_i = 2·T_h·T_(i−h) − T_(2h−i) with h = 2^(⌈log2 i⌉−1) (T_0 = 1): one
        product; the 2 and the −1 are integers, so free.
        """
        if i not in self.powers:
            half = 1 << (level_of_power(i) - 1)
            product = self.mul(self.power(half), self.power(i - half))
            if self.basis == "chebyshev":
                doubled = self.mul_const(product, 2.0)
                if 2 * half == i:
                    product = self.add_const(doubled, -1.0)
                else:
                    product = self.add(doubled, self.mul_const(self.power(2 * half - i), -1.0))
            self.powers[i] = product
        return self.powers[i]

    def split(self, c: list[float], h: int) -> tuple[list[float], list[float]]:
        """p = q + B_h·r with deg q < h for the basis B (u^h, or T_h: T_h·T_j = (T_(h+j) + T_(h−j))/2)."""
        if self.basis == "monomial":
            return c[:h], c[h:]
        low = list(c[:h])
        high = [c[h]] + [2.0 * v for v in c[h + 1:]]
        for j in range(1, len(c) - h):
            low[h - j] -= c[h + j]
        return low, high

    def scaled(self, reg: int, c: float) -> int:
        return reg if c == 1.0 else self.mul_const(reg, c)

    def _direct_fits(self, c: list[float], budget: int) -> bool:
        n = len(c) - 1
        if n >= self.baby_steps and n > 1:
            return False
        return all(level_of_power(i) + (0 if is_integer(v) else 1) <= budget
                   for i, v in enumerate(c) if i > 0 and v != 0.0)

    def polynomial(self, coefficients, budget: int) -> tuple[int | None, float]:
        """Plan Σ c_k u^k ending at level ≤ ``budget``; returns (register or None, constant).

        The constant term is returned separately so it is added for free at the end
        (and so a zero sub-polynomial costs nothing).
        """
        c = [float(v) for v in coefficients]
        while len(c) > 1 and c[-1] == 0.0:
            c.pop()
        if len(c) == 1:
            return None, c[0]
        if self._direct_fits(c, budget):
            terms = [self.scaled(self.power(i), v) for i, v in enumerate(c) if i > 0 and v != 0.0]
            reg = terms[0]
            for t in terms[1:]:
                reg = self.add(reg, t)
            return reg, c[0]
        h = 1 << (level_of_power(len(c)) - 1)
        if level_of_power(h) > budget - 1:  # cannot happen for budget ≥ ⌈log2(d+1)⌉
            raise ValueError(f"degree {len(c) - 1} does not fit in {budget} levels")
        low, high = self.split(c, h)
        high_reg, high_const = self.polynomial(high, budget - 1)
        uh = self.power(h)
        if high_reg is None:
            term = self.scaled(uh, high_const)
        else:
            if high_const != 0.0:
                high_reg = self.add_const(high_reg, high_const)
            term = self.mul(uh, high_reg)
        low_reg, low_const = self.polynomial(low, budget)
        if low_reg is None:
            return term, low_const
        return self.add(low_reg, term), low_const

    def stage(self, input_reg: int, coefficients) -> int:
        """Plan one stage on ``input_reg``; it ends ⌈log2(d+1)⌉ levels above its input.

        Budgets in :meth:`polynomial` are relative to the input's level, as are the
        levels ⌈log2 i⌉ of its powers.
        """
        self.powers = {1: input_reg}
        c = [float(v) for v in coefficients] or [0.0]
        while len(c) > 1 and c[-1] == 0.0:
            c.pop()
        reg, const = self.polynomial(c, level_of_power(len(c)))
        if reg is None:  # a constant polynomial still yields a ciphertext: 0·u + c
            reg = self.mul_const(input_reg, 0.0)
        return self.add_const(reg, const) if const != 0.0 else reg

    def build(self, output: int) -> Plan:
        return Plan(tuple(self.ops), output, tuple(self.levels))


def candidate_baby_steps(degree: int) -> list[int]:
    """Baby-step sizes tried for a stage of this degree: 2…min(d+1, 64, max(16, 2√(2d+2))) and powers of two.

    The best k is near √(2d) (Paterson–Stockmeyer), so larger sizes are not worth trying.
    """
    top = max(degree + 1, 2)
    sizes = set(range(2, min(top, 64, max(16, 2 * math.isqrt(2 * top))) + 1))
    k = 2
    while k <= top:
        sizes.add(k)
        k *= 2
    return sorted(sizes)


def _cost(plan: Plan) -> tuple[int, int, int]:
    return plan.ct_ct_multiplications, plan.scalar_multiplications, len(plan.ops)


def _plan_stages(stage_coefficients, combine_with_input: bool, baby_steps, basis: str = "monomial") -> Plan:
    b = _Builder(basis=basis)
    reg = 0
    for coefs, k in zip(stage_coefficients, baby_steps):
        b.baby_steps = k
        reg = b.stage(reg, coefs)
    if combine_with_input:
        reg = b.mul(0, reg)
    return b.build(reg)


def _best_baby_steps(coefficients, basis: str = "monomial") -> tuple[int, Plan]:
    """(k, plan) of the cheapest one-stage plan over :func:`candidate_baby_steps` (first k on ties)."""
    c = np.trim_zeros(np.asarray(coefficients, dtype=float), "b")
    degree = max(len(c) - 1, 0)
    best = None
    for k in candidate_baby_steps(degree):
        plan = _plan_stages([coefficients], False, [k], basis)
        if best is None or _cost(plan) < _cost(best[1]):
            best = (k, plan)
    return best


def stage_plan(coefficients, baby_steps: int | None = None, basis: str = "monomial") -> Plan:
    """Plan for one polynomial Σ c_k u^k, or Σ c_k T_k(u) with ``basis="chebyshev"``.

    Coefficients lowest degree first.

    Ends at level ⌈log2(d+1)⌉ (d the degree after trailing zeros are dropped). With
    ``baby_steps=None`` every baby-step size is tried and the plan with the fewest
    ciphertext products kept.

    >>> stage_plan([0.1, 0.5, 0.2, 0.3, 0.4, 0.1, 0.2, 0.3]).depth
    3
    """
    if basis not in PLAN_BASES:
        raise ValueError(f"unknown plan basis {basis!r}; allowed: {', '.join(PLAN_BASES)}")
    if baby_steps is None:
        return _best_baby_steps(coefficients, basis)[1]
    return _plan_stages([coefficients], False, [int(baby_steps)], basis)


def effective_degree(stage) -> int:
    """Index of the highest non-zero coefficient of ``stage`` (0 for a constant or zero stage).

    The same in both bases: a Chebyshev series whose top coefficients are zero is a polynomial
    of lower degree, and so is its monomial form.

    >>> from polyfit.approximation import Stage
    >>> effective_degree(Stage("monomial", (0.5, 0.25, 0.0, 0.0)))
    1
    """
    nonzero = np.flatnonzero(np.asarray(stage.coefficients, dtype=float))
    return int(nonzero[-1]) if nonzero.size else 0


def stage_input_ranges(approximation, points: int = 2001) -> list[tuple[float, float]]:
    """(min, max) of each stage's input over the domain (stage 1: input_scale · x)."""
    x = np.linspace(approximation.domain[0], approximation.domain[1], points)
    with np.errstate(all="ignore"):
        values = approximation.stage_outputs(x)[:-1]
    return [(float(np.min(v)), float(np.max(v))) for v in values]


def _trimmed(coefficients) -> np.ndarray:
    """``coefficients`` without trailing zeros (at least one coefficient is kept)."""
    c = np.array(coefficients, dtype=float)
    nonzero = np.flatnonzero(c)
    return c[: int(nonzero[-1]) + 1] if nonzero.size else c[:1]


def plan_coefficients(approximation, input_multiplier: float = 1.0) -> tuple[list[np.ndarray], bool]:
    """Monomial coefficients per stage as the plan evaluates them, and whether it ends with ·x.

    Register 0 holds u = input_multiplier · x. Stage 1's variable t = input_scale · x =
    (input_scale / input_multiplier) · u, so its coefficients become c_k · ρ^k with
    ρ = input_scale / input_multiplier (no level spent). ``combine``:
    relu y = x·(1 + s)/2 and step y = (1 + s)/2 fold (1 + s)/2 into the last stage;
    relu/abs end with one product by x = u / input_multiplier, whose 1/input_multiplier is
    folded into the last stage too. Trailing zero coefficients are dropped (the effective
    degree, :func:`effective_degree`), so every model evaluates the same terms.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # beyond float64 stays ±inf: reported unbounded
        stage_coefficients = [_trimmed(s.monomial_coefficients()) for s in approximation.stages]
        rho = approximation.input_scale / float(input_multiplier)
        first = stage_coefficients[0]
        stage_coefficients[0] = first * rho ** np.arange(len(first))
    last = stage_coefficients[-1]
    if approximation.combine in ("relu", "step"):
        last = last / 2.0
        last[0] += 0.5
    if approximation.combine in ("relu", "abs") and input_multiplier != 1.0:
        last = last / float(input_multiplier)
    stage_coefficients[-1] = last
    return stage_coefficients, approximation.combine in ("relu", "abs")


STAGE_INPUT_MARGIN = 1.02  # later stage inputs are scaled into [−1/1.02, 1/1.02] ⊂ [−1, 1]


def stage_input_radii(approximation) -> list[float]:
    """R_k = 1.02 · max|v_k| for every stage k ≥ 1 (v_k its input over the domain, measured on a
    dense grid; the 2 % margin covers values between grid points); 1 for stage 0 and where
    the range is zero or not finite."""
    radii = [1.0]
    for lo, hi in stage_input_ranges(approximation)[1:]:
        radius = STAGE_INPUT_MARGIN * max(abs(lo), abs(hi))
        radii.append(float(radius) if np.isfinite(radius) and radius > 0.0 else 1.0)
    return radii


CHOP = 4 * np.finfo(float).eps  # interpolation noise below this (relative) is set to exact zero


def chebyshev_plan_coefficients(approximation, input_multiplier: float = 1.0,
                                input_offset: float = 0.0) -> list[np.ndarray]:
    """Chebyshev coefficients on [−1, 1] of each stage as the Chebyshev schedule evaluates it.

    Stage 1 reads u = input_multiplier · x + input_offset, so it is q_1(u) = s_1(ρ (u − b))
    with ρ = input_scale / input_multiplier and b = input_offset (an affine u maps a domain
    that is not symmetric about 0, such as [1, 9], exactly onto [−1, 1]; u = x / max|x| would
    leave [−1, 1/9] where a high-degree stage, evaluated on [−1, 1], is huge); every later
    stage k reads w_k = v_k / R_k
    (:func:`stage_input_radii`), so q_k(w) = s_k(R_k w), and each stage's output is divided by
    the next stage's R (no level spent). The last stage folds ``combine`` as
    :func:`plan_coefficients` does ((1 + s)/2 for relu/step, 1/input_multiplier for relu/abs).
    The polynomial is unchanged; in the Chebyshev basis every T_j(w) stays in [−1, 1].

    Each q_k is evaluated as the artifact evaluates it (Clenshaw for a Chebyshev stage) at the
    d + 1 Chebyshev points and interpolated (``chebinterpolate``), which is exact for a
    polynomial of degree d up to rounding, ≈ eps · max|q_k|. Converting through monomial
    coefficients instead loses everything at high degree (tanh, degree 64, [−8, 8]: the
    monomial route gave |CKKS − artifact| = 22). Coefficients below 4 eps · max|c| are set to
    zero (the noise where an odd or even stage has exact zeros), except the leading one.
    """
    stages = approximation.stages
    radii = stage_input_radii(approximation)
    multiplier, offset = float(input_multiplier), float(input_offset)
    if offset != 0.0 and approximation.combine in ("relu", "abs"):
        raise ValueError("an input offset needs x = (u − b)/m for relu/abs; the plan has no such step")
    out = []
    for k, stage in enumerate(stages):
        inner = approximation.input_scale / multiplier if k == 0 else radii[k]
        shift = offset if k == 0 else 0.0
        last = k == len(stages) - 1
        outer = 1.0 if last else radii[k + 1]

        def q(w, stage=stage, inner=inner, shift=shift, outer=outer, last=last):
            v = stage(inner * (np.asarray(w, dtype=float) - shift)) / outer
            if last and approximation.combine in ("relu", "step"):
                v = 0.5 * (1.0 + v)
            if last and approximation.combine in ("relu", "abs") and multiplier != 1.0:
                v = v / multiplier
            return v

        degree = effective_degree(stage)
        c = np.polynomial.chebyshev.chebinterpolate(q, degree) if degree > 0 else np.array([float(q(np.zeros(1))[0])])
        small = np.abs(c) <= CHOP * np.max(np.abs(c))
        small[-1] = False
        c[small] = 0.0
        out.append(c)
    return out


def approximation_plan(approximation, input_multiplier: float = 1.0, basis: str = "monomial",
                       input_offset: float = 0.0) -> Plan:
    """Plan for a whole :class:`~polyfit.approximation.Approximation`.

    Register 0 holds u = input_multiplier · x + input_offset (offset: Chebyshev basis and
    combine none/step only, :func:`chebyshev_plan_coefficients`; multiplier 1 by default: the plan's input is x itself;
    the CKKS backend encrypts u = x / max|x| so every power stays in [-1, 1], and in a
    network the multiplier folds into the preceding linear layer). ``input_scale`` is
    folded into the first stage's coefficients, so it costs no level. Each stage is
    scheduled in ⌈log2(d+1)⌉ levels (:func:`stage_plan`), stages chain, and ``combine``
    relu/abs add one product by x (one level).

    ``basis="chebyshev"`` runs the same schedule on T_k(w) instead of w^k, with every later
    stage's input scaled into [−1, 1] and the coefficients taken straight from the stages, not
    through monomials (:func:`chebyshev_plan_coefficients`): the same products and levels, but
    coefficients of size ~ max|p| instead of the huge, cancelling monomial ones, which is what
    keeps CKKS accurate at high degree.
    """
    if basis not in PLAN_BASES:
        raise ValueError(f"unknown plan basis {basis!r}; allowed: {', '.join(PLAN_BASES)}")
    if input_offset != 0.0 and basis != "chebyshev":
        raise ValueError("an input offset is supported in the chebyshev plan basis only")
    stage_coefficients, ends_with_input = plan_coefficients(approximation, input_multiplier)
    if basis == "chebyshev":
        stage_coefficients = chebyshev_plan_coefficients(approximation, input_multiplier, input_offset)
    baby = [_best_baby_steps(c, basis)[0] for c in stage_coefficients]
    return _plan_stages(stage_coefficients, ends_with_input, baby, basis)
