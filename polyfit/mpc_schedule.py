"""MPC schedules: how an approximation is evaluated on secret-shared fixed-point values.

The CKKS plan (:mod:`polyfit.plan`) minimises ciphertext products and levels; in 2-party
fixed point (CrypTen) what matters is different: each product is one Beaver round, each
truncation adds up to one ulp (2^-F) of *absolute* error and fails catastrophically with
probability |v|/2^R (v the value before truncation, R the ring bits). A schedule is a
straight-line program over integer registers, each holding V = v·2^F in Z/2^R (register 0
is the encoded input):

    mul     a b  t   V = T(A·B, F + t)              one Beaver product (2 values opened)
    square  a    t   V = T(A·A, F + t)              one Beaver square  (1 value opened)
    lin     a… w… C t V = T(Σ w_i·A_i + C, t)       local: public integers w_i, C (t = 0: exact)

T(v, t) is the truncation by 2^t (none for t = 0). Products in the same round that share
their right operand are opened together (CrypTen's broadcast Beaver product: rows + 1 opened
values), so 2-party rounds = the depth of the product DAG.

Candidates (:func:`candidates`, docs/reports.md):

- ``horner``: ((c_d·x + c_(d−1))·x + …), constants encoded as CrypTen does (truncation
  toward zero), d − 1 rounds.
- ``ckks-plan``: polyfit's CKKS plan run as CrypTen would (products by non-integer constants
  truncated, integer constants exact).
- ``crypten-polynomial``: CrypTen's ``polynomial()``: powers x..x^(2^⌈log2 d⌉) by a doubling
  tree (``square`` then ``terms·x^m``), each term ``c_k·x^k`` truncated, ⌈log2 d⌉ rounds.
- ``power-tree`` (polyfit's): only the powers the coefficients need (and their ancestors),
  x^k = x^(k−h)·x^h with h = 2^(⌈log2 k⌉−1), ESPN-style per-power pre-scaling
  r_k = x^k / 2^(a_k) with a_k = ⌈log2 max|x^k|⌉ − m (registers of at most m magnitude bits,
  so products stay far from the ring), and one integer-weighted sum with a single
  truncation: Σ round(c_k·2^(a_k+S))·R_k + round(c_0·2^(F+S)), truncated by S.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .plan import approximation_plan, is_integer, plan_coefficients

OP_KINDS = ("mul", "square", "lin")
SCHEDULES = ("power-tree", "crypten-polynomial", "ckks-plan", "horner")
RING_BITS = 64  # CrypTen's ring
TRUNCATION_ROUNDS_3PARTY = 2  # CrypTen (TFP) truncation with > 2 parties: wrap_rng scatter + gather
BYTES_PER_VALUE = 8  # int64
MATERIAL_FAILURE = 2.0 ** -20  # per element: about one failed activation per million
HEADROOM_BITS = (20, 25, 30, 40)  # −log2 of the failure budget per truncation tried for power-tree
MAX_COEFFICIENT_SHIFT = 40


@dataclass(frozen=True)
class MpcOp:
    """One operation of a schedule (module docstring)."""

    kind: str
    out: int
    args: tuple[int, ...]
    shift: int = 0
    weights: tuple[int, ...] = ()
    const: int = 0


@dataclass(frozen=True)
class Schedule:
    """A straight-line fixed-point program; ``output`` holds the result at scale 2^F."""

    name: str
    frac_bits: int
    ops: tuple[MpcOp, ...]
    output: int
    params: dict = field(default_factory=dict)

    def rounds_of(self) -> dict:
        """Register → 2-party round at which it is available (products add one)."""
        rounds = {0: 0}
        for op in self.ops:
            base = max((rounds[a] for a in op.args), default=0)
            rounds[op.out] = base + (1 if op.kind in ("mul", "square") else 0)
        return rounds

    def truncation_bits(self, op: MpcOp) -> int:
        """Bits truncated after ``op`` (0: none)."""
        return self.frac_bits + op.shift if op.kind in ("mul", "square") else op.shift

    def layers_of(self) -> dict:
        """Op output → layer it runs in: products at their round, local ops as late as their
        consumers allow (so independent truncations batch; with > 2 parties each truncating
        batch is a communication step, so late placement saves rounds)."""
        rounds = self.rounds_of()
        last = max(rounds.values(), default=0)
        consumers: dict[int, list[MpcOp]] = {}
        for op in self.ops:
            for a in set(op.args):
                consumers.setdefault(a, []).append(op)
        layer = {}
        for op in reversed(self.ops):
            if op.kind != "lin":
                layer[op.out] = rounds[op.out]
                continue
            due = last
            for consumer in consumers.get(op.out, ()):
                due = min(due, layer[consumer.out] - (0 if consumer.kind == "lin" else 1))
            layer[op.out] = max(due, rounds[op.out])
        return layer

    def steps(self) -> list[tuple[str, list[MpcOp]]]:
        """The execution order shared by the cost model and the CrypTen executor.

        Per layer r: one batched Beaver step for every product of round r (their truncations
        are one batch), then the local ops of layer r in program order; consecutive
        truncating local ops that do not read each other's output are batched.
        """
        layer = self.layers_of()
        out: list[tuple[str, list[MpcOp]]] = []
        for r in range(max(layer.values(), default=0) + 1):
            products = [op for op in self.ops if op.kind != "lin" and layer[op.out] == r]
            if products:
                out.append(("beaver", products))
            batch: list[MpcOp] = []
            for op in (op for op in self.ops if op.kind == "lin" and layer[op.out] == r):
                if batch and (op.shift == 0 or any(a in {b.out for b in batch} for a in op.args)):
                    out.append(("local", batch))
                    batch = []
                if op.shift == 0:
                    out.append(("local", [op]))
                else:
                    batch.append(op)
            if batch:
                out.append(("local", batch))
        return out

    def rounds(self, parties: int = 2) -> int:
        """Communication rounds: Beaver steps, plus (> 2 parties) every truncated value's own
        truncation. The executor (:mod:`polyfit.backends.crypten`) truncates each op's result
        with its own ``div`` (the shifts differ per power), and with > 2 parties each ``div``
        communicates: counting one truncation per step claimed 22 rounds where CrypTen counted
        26 (sign f2g2), 25 where it counted 33 (relu [7, 7] on [−4, 4])."""
        total = 0
        for kind, ops in self.steps():
            if kind == "beaver":
                total += 1
            if parties > 2:
                total += TRUNCATION_ROUNDS_3PARTY * sum(1 for op in ops if self.truncation_bits(op) > 0)
        return total

    def truncations_per_step(self) -> int:
        """The most values truncated in one step (each with its own ``div``)."""
        return max((sum(1 for op in ops if self.truncation_bits(op) > 0) for _, ops in self.steps()), default=0)

    def opened_per_element(self) -> int:
        """Values opened per input element: per Beaver step, square rows + product rows + one per shared operand."""
        total = 0
        for kind, ops in self.steps():
            if kind != "beaver":
                continue
            squares = [op for op in ops if op.kind == "square"]
            products = [op for op in ops if op.kind == "mul"]
            total += len(squares) + len(products) + len({op.args[1] for op in products})
        return total

    def bytes_per_element(self) -> int:
        """Bytes each party's communicator logs per input element with 2 parties (CrypTen's
        all_reduce logs 2 values per opened value, 8 bytes each)."""
        return 2 * BYTES_PER_VALUE * self.opened_per_element()

    def to_dict(self) -> dict:
        return {"name": self.name, "frac_bits": int(self.frac_bits), "params": dict(self.params)}


class _Program:
    """Appends ops to a schedule under construction (internal)."""

    def __init__(self):
        self.ops: list[MpcOp] = []
        self.next = 1

    def _add(self, kind, args, shift=0, weights=(), const=0) -> int:
        for value in (*weights, const):
            _checked(float(value))
        out = self.next
        self.next += 1
        self.ops.append(MpcOp(kind, out, tuple(args), int(shift), tuple(int(w) for w in weights), int(const)))
        return out

    def mul(self, a, b, shift=0):
        return self._add("mul", (a, b), shift)

    def square(self, a, shift=0):
        return self._add("square", (a,), shift)

    def lin(self, terms, const=0, shift=0):
        terms = [(r, w) for r, w in terms if w != 0]
        return self._add("lin", [r for r, _ in terms], shift, [w for _, w in terms], const)


class ScheduleError(ValueError):
    """A schedule cannot be built: a public integer it needs does not fit int64."""


def _checked(value: float) -> int:
    if not (math.isfinite(value) and abs(value) < 2.0 ** 63):
        raise ScheduleError(f"a public constant scaled to {value:g} does not fit a 64-bit integer")
    return int(value)


def crypten_encode(c: float, bits: int) -> int:
    """CrypTen's encoding of a public constant: (2^bits·c).long(), truncation toward zero."""
    try:
        return _checked(math.trunc(math.ldexp(float(c), int(bits))))
    except (OverflowError, ValueError):  # inf, or NaN (a coefficient beyond float64)
        raise ScheduleError(f"constant {c:g} times 2^{bits} does not fit a 64-bit integer") from None


def round_encode(c: float, bits: int) -> int:
    """round(c·2^bits) (Python's round half to even; exact for a float times a power of two)."""
    try:
        return _checked(round(math.ldexp(float(c), int(bits))))
    except (OverflowError, ValueError):  # inf, or NaN (a coefficient beyond float64)
        raise ScheduleError(f"constant {c:g} times 2^{bits} does not fit a 64-bit integer") from None


def _public_mul(p: _Program, reg: int, c: float, frac_bits: int) -> int:
    """reg·c as CrypTen computes it: exact for an integer c, else encoded and truncated by 2^F."""
    if is_integer(c):
        return p.lin([(reg, int(c))])
    return p.lin([(reg, crypten_encode(c, frac_bits))], shift=frac_bits)


def _add_const(p: _Program, reg: int, c: float, frac_bits: int) -> int:
    return reg if c == 0.0 else p.lin([(reg, 1)], crypten_encode(c, frac_bits))


def _constant_stage(p: _Program, c0: float, frac_bits: int) -> int:
    """A constant polynomial: a register holding C = enc(c0) (no input read)."""
    return p.lin([], crypten_encode(c0, frac_bits))


def _horner_stage(p: _Program, x: int, c: np.ndarray, frac_bits: int) -> int:
    d = len(c) - 1
    if d == 0:
        return _constant_stage(p, c[0], frac_bits)
    acc = _add_const(p, _public_mul(p, x, c[d], frac_bits), c[d - 1], frac_bits)
    for k in range(d - 2, -1, -1):
        acc = _add_const(p, p.mul(acc, x), c[k], frac_bits)
    return acc


def _crypten_polynomial_stage(p: _Program, x: int, c: np.ndarray, frac_bits: int) -> int:
    d = len(c) - 1
    if d == 0:
        return _constant_stage(p, c[0], frac_bits)
    if d == 1:
        return _add_const(p, _public_mul(p, x, c[1], frac_bits), c[0], frac_bits)
    terms = [x, p.square(x)]
    while len(terms) < d:
        top = terms[-1]
        terms = terms + [p.mul(t, top) for t in terms]
    # terms.mul(coeffs): a float32 tensor, encoded by truncation, then truncated by 2^F; sum(0); + c0
    with np.errstate(over="ignore"):  # a coefficient beyond float32 becomes inf: ScheduleError
        coefficients32 = c.astype(np.float32)
    products = [p.lin([(t, crypten_encode(coefficients32[k + 1], frac_bits))], shift=frac_bits)
                for k, t in enumerate(terms[:d])]
    total = p.lin([(t, 1) for t in products])
    return _add_const(p, total, c[0], frac_bits)


def needed_powers(c: np.ndarray) -> list[int]:
    """Exponents the power tree computes: nonzero coefficients' powers and their ancestors."""
    need = set()
    stack = [k for k in range(2, len(c)) if c[k] != 0.0]
    while stack:
        k = stack.pop()
        if k in need or k < 2:
            continue
        need.add(k)
        h = 1 << ((k - 1).bit_length() - 1)
        stack += [h, k - h]
    return sorted(need)


def _power_tree_stage(p: _Program, x: int, c: np.ndarray, frac_bits: int, bound: float,
                      magnitude_bits: int | None, coefficient_shift: int) -> tuple[int, dict]:
    """polyfit's power tree (module docstring); returns (register, per-power pre-scales a_k)."""
    d = len(c) - 1
    if d == 0:
        return _constant_stage(p, c[0], frac_bits), {}
    regs, scale = {1: x}, {1: 0}
    if not (math.isfinite(bound) and bound > 0):
        magnitude_bits, bound = None, 1.0  # an unbounded stage input: no pre-scaling to derive
    log_bound = math.log2(bound)
    if magnitude_bits is not None and math.ceil(log_bound) > magnitude_bits and needed_powers(c):
        scale[1] = math.ceil(log_bound) - magnitude_bits  # the input itself is too large to square
        regs[1] = p.lin([(x, 1)], shift=scale[1])
    for k in needed_powers(c):
        h = 1 << ((k - 1).bit_length() - 1)
        i, j = k - h, h
        a_k = 0 if magnitude_bits is None else math.ceil(k * log_bound) - magnitude_bits
        shift = a_k - scale[i] - scale[j]
        if frac_bits + shift < 0:  # cannot scale up by more than the product's own 2^F
            shift = -frac_bits
        scale[k] = scale[i] + scale[j] + shift
        regs[k] = p.square(regs[h], shift) if i == j else p.mul(regs[i], regs[j], shift)
    S = coefficient_shift
    regs[1], scale[1] = x, 0  # the linear term reads the input at full precision
    terms = [(regs[k], round_encode(c[k], scale[k] + S)) for k in range(1, d + 1) if c[k] != 0.0]
    out = p.lin(terms, round_encode(c[0], frac_bits + S), shift=S)
    return out, {str(k): int(a) for k, a in scale.items() if k > 1}


def _finish(p: _Program, reg: int, ends_with_input: bool) -> int:
    return p.mul(0, reg) if ends_with_input else reg


def stage_bounds(approximation, input_bound: float) -> list[float]:
    """max |input| of each stage over |x| ≤ input_bound (stage 1: input_bound itself)."""
    x = np.linspace(-input_bound, input_bound, 2049)
    bounds = [float(input_bound)]
    stages, _ = plan_coefficients(approximation)
    t = x
    with np.errstate(all="ignore"):
        for coefs in stages[:-1]:
            t = np.polynomial.polynomial.polyval(t, coefs)
            bounds.append(float(np.max(np.abs(t))) if np.all(np.isfinite(t)) else math.inf)
    return bounds


def build(approximation, name: str, frac_bits: int, input_bound: float | None = None,
          params: dict | None = None) -> Schedule:
    """Build schedule ``name`` for ``approximation`` at F = ``frac_bits``.

    ``params`` (power-tree only): ``magnitude_bits`` m (None: no pre-scaling) and
    ``coefficient_shift`` S, as :func:`candidates` chooses them and the artifact records them.
    """
    if name not in SCHEDULES:
        raise ValueError(f"unknown MPC schedule {name!r}; allowed: {', '.join(SCHEDULES)}")
    frac_bits = int(frac_bits)
    if input_bound is None:
        input_bound = max(abs(approximation.domain[0]), abs(approximation.domain[1]))
    stages, ends_with_input = plan_coefficients(approximation)
    stages = [_trim(c) for c in stages]
    p = _Program()
    if name == "ckks-plan":
        return _from_plan(approximation, frac_bits)
    reg, recorded = 0, dict(params or {})
    bounds = stage_bounds(approximation, input_bound) if name == "power-tree" else []
    scales = []
    for k, c in enumerate(stages):
        if name == "horner":
            reg = _horner_stage(p, reg, c, frac_bits)
        elif name == "crypten-polynomial":
            reg = _crypten_polynomial_stage(p, reg, c, frac_bits)
        else:
            reg, a = _power_tree_stage(p, reg, c, frac_bits, bounds[k], recorded.get("magnitude_bits"),
                                       int(recorded.get("coefficient_shift", frac_bits)))
            scales.append(a)
    if name == "power-tree":
        recorded["prescale"] = scales
    output = _finish(p, reg, ends_with_input)
    return Schedule(name, frac_bits, tuple(p.ops), output, recorded)


def _trim(c) -> np.ndarray:
    c = np.array(c, dtype=float)
    while len(c) > 1 and c[-1] == 0.0:
        c = c[:-1]
    return c


def _from_plan(approximation, frac_bits: int) -> Schedule:
    """The CKKS plan's ops with CrypTen semantics (module docstring)."""
    plan = approximation_plan(approximation)
    p = _Program()
    regs = {0: 0}
    for op in plan.ops:
        if op.kind == "mul":
            regs[op.out] = p.mul(regs[op.a], regs[op.b])
        elif op.kind == "mul_const":
            regs[op.out] = _public_mul(p, regs[op.a], op.const, frac_bits)
        elif op.kind == "add":
            regs[op.out] = p.lin([(regs[op.a], 1), (regs[op.b], 1)])
        else:
            regs[op.out] = p.lin([(regs[op.a], 1)], crypten_encode(op.const, frac_bits))
    return Schedule("ckks-plan", frac_bits, tuple(p.ops), regs[plan.output], {})


SELECTION_POINTS = 1025


def power_tree_params(approximation, frac_bits: int, input_bound: float, headroom_bits: int | None,
                      ring_bits: int = RING_BITS) -> dict:
    """(m, S) of the power tree for a failure budget of 2^-h per truncation.

    Products of registers of m magnitude bits are below 2^(2m+2F), so m = ⌊(R − 2F − h)/2⌋;
    the final sum is about max|p|·2^(F+S), so S = R − h − F − ⌈log2 max|p|⌉ − 1 (clamped to
    [0, 40]). ``headroom_bits=None``: no pre-scaling, S = F.
    """
    if headroom_bits is None:
        return {"magnitude_bits": None, "coefficient_shift": int(frac_bits)}
    m = (ring_bits - 2 * frac_bits - headroom_bits) // 2
    x = np.linspace(-input_bound, input_bound, SELECTION_POINTS)
    with np.errstate(all="ignore"):
        top = float(np.max(np.abs(approximation(x)))) if len(x) else 1.0
    top_bits = math.ceil(math.log2(top)) if math.isfinite(top) and top > 1.0 else 0
    S = ring_bits - headroom_bits - frac_bits - top_bits - 1
    return {"magnitude_bits": int(m), "coefficient_shift": int(min(max(S, 0), MAX_COEFFICIENT_SHIFT)),
            "headroom_bits": int(headroom_bits)}


def candidates(approximation, frac_bits: int, input_bound: float, ring_bits: int = RING_BITS) -> list[Schedule]:
    """Every schedule :func:`choose` compares (power tree once per failure budget); those whose
    public integers would not fit int64 are left out."""
    specs = [("power-tree", power_tree_params(approximation, frac_bits, input_bound, h, ring_bits))
             for h in (None, *HEADROOM_BITS)] + [(name, None) for name in SCHEDULES[1:]]
    out = []
    for name, params in specs:
        try:
            out.append(build(approximation, name, frac_bits, input_bound, params))
        except ScheduleError:
            continue
    return out


def evaluate_candidate(approximation, schedule: Schedule, x: np.ndarray, ring_bits: int = RING_BITS) -> dict:
    """Simulated cost and accuracy of one schedule over inputs ``x`` (CrypTen's model:
    truncating input encoding, 2-party share truncation, seed 0)."""
    from .mpc_simulation import simulate

    run = simulate(schedule, x, ring_bits, encoding="truncate", truncation="shares", seed=0)
    with np.errstate(all="ignore"):
        err = np.abs(run.outputs - approximation(x))
    honest = err[~run.failed]
    error = float(np.max(honest)) if honest.size else math.inf
    return {"name": schedule.name, "params": schedule.params, "rounds_2party": schedule.rounds(2),
            "rounds_3party": schedule.rounds(3), "bytes_per_element": schedule.bytes_per_element(),
            "simulated_max_error": error if math.isfinite(error) else None,
            "failure_probability": run.failure_probability, "peak_bits": run.peak_bits,
            "overflow": run.overflow}


def _rank(entry: dict) -> tuple:
    """Order of preference: no overflow and an immaterial failure probability, then fewest
    2-party rounds, then the smallest simulated error, then fewest bytes."""
    error = entry["simulated_max_error"]
    unsafe = entry["overflow"] or entry["failure_probability"] > MATERIAL_FAILURE
    return (unsafe, entry["rounds_2party"], math.inf if error is None else error, entry["bytes_per_element"])


def choose(approximation, frac_bits: int, input_bound: float | None = None,
           ring_bits: int = RING_BITS) -> tuple[Schedule, list[dict]]:
    """The schedule kept for fixed point, and every candidate's simulated figures.

    Candidates are simulated on 1025 uniform points of |x| ≤ input_bound and ranked by
    :func:`_rank`: the most accurate at the least rounds, among those that do not overflow
    and fail with probability ≤ 2^-20 per element.
    """
    if input_bound is None:
        input_bound = max(abs(approximation.domain[0]), abs(approximation.domain[1]))
    x = np.linspace(-input_bound, input_bound, SELECTION_POINTS)
    scored = [(evaluate_candidate(approximation, s, x, ring_bits), s)
              for s in candidates(approximation, int(frac_bits), float(input_bound), ring_bits)]
    if not scored:
        raise ScheduleError("no MPC schedule fits: every candidate needs a public integer beyond int64")
    best = min(scored, key=lambda pair: _rank(pair[0]))
    return best[1], [entry for entry, _ in scored]


def schedule_report(approximation, frac_bits: int, input_bound: float | None = None,
                    ring_bits: int = RING_BITS) -> dict:
    """The artifact's ``mpc_schedule`` record (docs/reports.md): the chosen schedule, how to
    rebuild it (``name``, ``params``), its simulated figures, and every candidate's."""
    if input_bound is None:
        input_bound = max(abs(approximation.domain[0]), abs(approximation.domain[1]))
    try:
        chosen, table = choose(approximation, frac_bits, input_bound, ring_bits)
    except ScheduleError as exc:  # no "name" key: the artifact schema reads that as "no schedule"
        return {"frac_bits": int(frac_bits), "ring_bits": int(ring_bits), "fits": False, "reason": str(exc)}
    entry = next(e for e in table if e["name"] == chosen.name and e["params"] == chosen.params)
    record = {"name": chosen.name, "frac_bits": int(frac_bits), "ring_bits": int(ring_bits),
              "input_bound": float(input_bound), "params": _json_params(chosen.params),
              "parties_assumed": 2}
    record.update({k: entry[k] for k in ("rounds_2party", "rounds_3party", "bytes_per_element",
                                         "simulated_max_error", "failure_probability", "peak_bits")})
    record["fits"] = not entry["overflow"] and entry["failure_probability"] <= MATERIAL_FAILURE
    record["candidates"] = [{k: e[k] for k in ("name", "rounds_2party", "rounds_3party", "bytes_per_element",
                                               "simulated_max_error", "failure_probability")}
                            | ({"headroom_bits": e["params"].get("headroom_bits")} if e["name"] == "power-tree" else {})
                            for e in table]
    return record


def _json_params(params: dict) -> dict:
    return {k: v for k, v in params.items() if k != "prescale"} | {"prescale": params.get("prescale", [])}


def from_record(approximation, record: dict) -> Schedule:
    """Rebuild the schedule an artifact's ``mpc_schedule`` record names."""
    params = {k: v for k, v in (record.get("params") or {}).items() if k in ("magnitude_bits", "coefficient_shift",
                                                                           "headroom_bits")}
    return build(approximation, record["name"], int(record["frac_bits"]), record.get("input_bound"), params)
