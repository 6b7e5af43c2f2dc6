"""``pf.verify``: check an artifact's depth and precision claims by running them.

Two backends (docs/verify.md):

- ``"ckks"`` (TenSEAL, extra ``he``): encrypt samples of the domain (a subset of the metric
  grid, sign-gap edges included), run the evaluation plan on the ciphertext with a chain of
  exactly the reported ``ckks_levels`` (or ``levels``), decrypt, compare. Claims:
  ``depth.ckks_levels`` (the plan's depth equals the report), ``runs at L`` (the plan finishes
  on a chain of L levels and consumes L), ``fails at L − 1`` (it cannot finish on one level
  fewer: the report is tight), ``ckks accuracy`` (max |CKKS − artifact| ≤ ``tolerance``),
  ``metrics.max_abs_error`` (the artifact's plaintext error on the samples does not exceed the
  stored metric).
- ``"fixed-point"``: simulate the ring with exact integers on a dense grid of
  |x| ≤ input_bound (:mod:`polyfit.backends.fixed_point`). Claims: ``precision.peak_bits``
  (the simulated peak does not exceed the report) and ``precision.fits`` (the ring overflows
  exactly when the report says it does not fit), for the truncation model and the
  single-rescale model.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import InputError
from .precision import DEFAULT_RING_BITS
from .problem import check_integer
from .reports import Stopwatch

BACKENDS = ("ckks", "fixed-point")
DEFAULT_SAMPLES = 256
DEFAULT_TOLERANCE = 1e-4
MIN_RING_BITS, MAX_RING_BITS = 16, 128
METRIC_SLACK = 1e-9  # relative slack when re-measuring the stored plaintext metric


@dataclass(frozen=True)
class Claim:
    """One checked statement: what the artifact (or plan) claims and what was measured."""

    name: str
    claimed: object
    measured: object
    ok: bool
    message: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "claimed": self.claimed, "measured": self.measured, "ok": self.ok,
                "message": self.message}


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`; ``ok`` is True when every claim holds."""

    backend: str
    ok: bool
    claims: tuple[Claim, ...]
    max_error_vs_artifact: float
    max_error_vs_target: float
    levels_used: int | None = None
    time_s: float = 0.0
    details: dict = field(default_factory=dict)

    @property
    def failed(self) -> list[Claim]:
        return [c for c in self.claims if not c.ok]

    def to_dict(self) -> dict:
        return {
            "backend": self.backend,
            "ok": self.ok,
            "levels_used": self.levels_used,
            "max_error_vs_artifact": _json_float(self.max_error_vs_artifact),
            "max_error_vs_target": _json_float(self.max_error_vs_target),
            "claims": [c.to_dict() for c in self.claims],
            "time_s": self.time_s,
            "details": self.details,
        }


def _json_float(value):
    return float(value) if value is not None and np.isfinite(value) else None


def _load(approx_or_path):
    from .approximation import Approximation

    if isinstance(approx_or_path, Approximation):
        return approx_or_path
    from .artifact import load

    return load(approx_or_path)


def check_options(backend: str, levels, samples, ring_bits, frac_bits, tolerance) -> None:
    """Raise InputError (one line) for a bad option."""
    if backend not in BACKENDS:
        raise InputError(f"unknown backend {backend!r}; allowed: {', '.join(BACKENDS)}")
    if levels is not None:
        check_integer(levels, "levels", 1)
    check_integer(samples, "samples", 2)
    check_integer(ring_bits, "ring bits", MIN_RING_BITS, MAX_RING_BITS)
    if frac_bits is not None:
        check_integer(frac_bits, "frac bits", 0, int(ring_bits) - 1)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not (tolerance > 0 and np.isfinite(tolerance)):
        raise InputError(f"tolerance must be a positive number, got {tolerance}")


def sample_inputs(approx, samples: int) -> np.ndarray:
    """``samples`` points of the metric grid (domain minus ``metrics.exclude``), spread evenly.

    Both domain ends and the grid points next to the excluded sign gap are always included,
    so that a composite sign approximation is checked where it is hardest.
    """
    from .metrics import DEFAULT_GRID_POINTS, metric_grid

    metrics = approx.metrics or {}
    exclude = metrics.get("exclude")
    grid = metric_grid(approx.domain, int(metrics.get("grid_points") or DEFAULT_GRID_POINTS), exclude)
    picks = set(np.round(np.linspace(0, len(grid) - 1, min(samples, len(grid)))).astype(int).tolist())
    if exclude is not None:
        below = np.nonzero(grid <= exclude[0])[0]
        above = np.nonzero(grid >= exclude[1])[0]
        picks.update(i for i in (below[-1] if below.size else None, above[0] if above.size else None) if i is not None)
    return grid[sorted(picks)]


def _target_values(approx, x):
    try:
        with np.errstate(all="ignore"):
            return np.asarray(approx.target(x), dtype=float)
    except InputError:
        return None  # a Python-callable target that the artifact cannot re-evaluate


def _error(a, b) -> float:
    if b is None:
        return float("nan")
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


def verify(approx_or_path, backend: str = "ckks", levels: int | None = None, samples: int = DEFAULT_SAMPLES,
           ring_bits: int | None = None, frac_bits: int | None = None,
           tolerance: float = DEFAULT_TOLERANCE, check_tight: bool = True) -> VerifyResult:
    """Check an artifact's claims under CKKS encryption or fixed-point arithmetic.

    Args:
        approx_or_path: an :class:`~polyfit.approximation.Approximation` or an artifact path.
        backend: ``"ckks"`` (TenSEAL) or ``"fixed-point"``.
        levels: CKKS chain length to force (default: the plan's depth); with ``check_tight``
            the run at ``levels − 1`` must fail when ``levels`` equals the reported depth.
        samples: CKKS sample inputs (≤ N/2 slots); for fixed point, points of the |x| ≤ bound grid.
        ring_bits: fixed-point ring size R (default: the artifact's precision report, else 64).
        frac_bits: fixed-point F (default: the artifact's precision report).
        tolerance: largest accepted |CKKS − artifact|.

    Returns:
        VerifyResult with ``ok`` True when every claim holds.

    Raises:
        InputError: a bad option, a missing/corrupt artifact (ArtifactError), or a missing
            extra (MissingExtraError, naming ``pip install 'polyfit-ppml[he]'``).
    """
    approx = _load(approx_or_path)
    stored = approx.precision or {}
    if ring_bits is None:
        ring_bits = int(stored.get("ring_bits") or DEFAULT_RING_BITS)
    check_options(backend, levels, samples, ring_bits, frac_bits, tolerance)
    with Stopwatch() as sw:
        if backend == "ckks":
            result = _verify_ckks(approx, levels, int(samples), float(tolerance), check_tight)
        else:
            result = _verify_fixed_point(approx, int(samples), int(ring_bits), frac_bits)
    return VerifyResult(**{**result, "time_s": sw.elapsed})


def ckks_plan(approx, plan_plain):
    """The plan the CKKS backend runs: (input multiplier, basis, plan).

    The encrypted input is u = x / max|x| and every later stage's input is scaled into
    [−1, 1] (folded into the coefficients), so the schedule runs in the Chebyshev basis on
    values in [−1, 1]; the result must have the reported plan's depth, else the monomial
    basis, else the plain plan (input x, monomial basis) is used.
    """
    from .backends import ckks
    from .plan import approximation_plan

    multiplier = ckks.input_multiplier(approx.domain)
    for basis in ("chebyshev", "monomial"):
        plan = approximation_plan(approx, multiplier, basis)
        if plan.depth == plan_plain.depth:
            return multiplier, basis, plan
    return 1.0, "monomial", plan_plain


def _verify_ckks(approx, levels, samples, tolerance, check_tight) -> dict:
    from .backends import ckks
    from .plan import approximation_plan

    ckks.require_tenseal()
    plan_plain = approximation_plan(approx)
    reported = (approx.depth or {}).get("ckks_levels")
    claims = []
    if reported is not None:
        claims.append(Claim("depth.ckks_levels", int(reported), plan_plain.depth, int(reported) == plan_plain.depth,
                            "" if int(reported) == plan_plain.depth else
                            f"the artifact reports {reported} levels but its plan needs {plan_plain.depth}"))
    chain = int(levels) if levels is not None else int(reported if reported is not None else plan_plain.depth)
    multiplier, basis, plan = ckks_plan(approx, plan_plain)
    x = sample_inputs(approx, samples)
    details = {"samples": int(len(x)), "input_multiplier": multiplier, "plan_basis": basis, "plan_depth": plan.depth,
               "ct_ct_multiplications": plan.ct_ct_multiplications,
               "scalar_multiplications": plan.scalar_multiplications, "tolerance": tolerance}
    try:
        run = ckks.run_plan(plan, x * multiplier, chain)
    except ckks.ChainExhausted as exc:
        claims.append(Claim(f"runs at {chain} levels", chain, None, False, str(exc)))
        return {"backend": "ckks", "ok": False, "claims": tuple(claims), "max_error_vs_artifact": float("nan"),
                "max_error_vs_target": float("nan"), "levels_used": None,
                "details": {**details, "parameters": ckks.choose_parameters(chain, slots=len(x)).to_dict()}}
    plain = approx(x)
    target = _target_values(approx, x)
    err_artifact = _error(run.outputs, plain)
    err_target = _error(run.outputs, target)
    claims.append(Claim(f"runs at {chain} levels", chain, run.levels_used, run.levels_used <= chain,
                        f"finished, {run.levels_used} level(s) consumed"))
    if check_tight and chain == plan.depth and chain >= 1:
        try:
            ckks.run_plan(plan, x * multiplier, chain - 1)
            claims.append(Claim(f"fails at {chain - 1} levels", "fails", "succeeded", False,
                                f"the plan also finished on {chain - 1} levels: the depth report is not tight"))
        except ckks.ChainExhausted as exc:
            claims.append(Claim(f"fails at {chain - 1} levels", "fails", "failed", True, str(exc)))
    claims.append(Claim("ckks accuracy", tolerance, err_artifact, bool(err_artifact <= tolerance),
                        f"max |CKKS − artifact| = {err_artifact:.3e} on {len(x)} samples"
                        + ("" if err_artifact <= tolerance else f" exceeds {tolerance:g}")))
    stored_error = (approx.metrics or {}).get("max_abs_error")
    if stored_error is not None and target is not None:
        plain_error = _error(plain, target)
        ok = plain_error <= stored_error * (1 + METRIC_SLACK) + 1e-300
        claims.append(Claim("metrics.max_abs_error", stored_error, plain_error, bool(ok),
                            "plaintext error on the samples" + ("" if ok else " exceeds the stored metric")))
    details.update({"parameters": run.parameters.to_dict(), "seconds_per_evaluation": run.seconds,
                    "encrypt_seconds": run.encrypt_seconds,
                    "seconds_per_sample": run.seconds / len(x)})
    return {"backend": "ckks", "ok": all(c.ok for c in claims), "claims": tuple(claims),
            "max_error_vs_artifact": err_artifact, "max_error_vs_target": err_target,
            "levels_used": run.levels_used, "details": details}


def _verify_fixed_point(approx, samples, ring_bits, frac_bits) -> dict:
    from .backends import fixed_point
    from .precision import MODELS, GRID_POINTS, default_frac_bits, input_grid, precision_report

    stored = approx.precision or {}
    if frac_bits is None:
        frac_bits = int(stored.get("frac_bits") if stored.get("frac_bits") is not None else default_frac_bits(approx))
    input_bound = float(stored.get("input_bound") or max(abs(approx.domain[0]), abs(approx.domain[1])))
    same_setting = stored.get("frac_bits") == frac_bits and stored.get("ring_bits") == ring_bits
    report = stored if same_setting and "peak_bits" in stored else precision_report(
        approx, frac_bits=frac_bits, ring_bits=ring_bits, input_bound=input_bound)
    x = input_grid(input_bound, max(samples, GRID_POINTS))
    plain = approx(x)
    target = _target_values(approx, x)
    claims, runs = [], {}
    sections = [(MODELS[0], report.get("peak_bits"), report.get("fits"))]
    single = report.get("single_rescale") or {}
    if "peak_bits" in single:
        sections.append((MODELS[1], single["peak_bits"], single["fits"]))
    for model, claimed_bits, claimed_fits in sections:
        run = fixed_point.run(approx, x, frac_bits, ring_bits, model)
        runs[model] = run
        prefix = "precision" if model == MODELS[0] else "precision.single_rescale"
        ok_bits = run.peak_bits <= int(claimed_bits)
        claims.append(Claim(f"{prefix}.peak_bits", int(claimed_bits), run.peak_bits, ok_bits,
                            f"simulated peak {run.peak_bits} bits" + ("" if ok_bits else " exceeds the report")))
        ok_fits = (not run.overflow) == bool(claimed_fits)
        claims.append(Claim(f"{prefix}.fits", bool(claimed_fits), not run.overflow, ok_fits,
                            ("no overflow" if not run.overflow else "overflow")
                            + f" ({ring_bits}-bit ring, F = {frac_bits})"))
    main = runs[MODELS[0]]
    details = {"frac_bits": frac_bits, "ring_bits": ring_bits, "input_bound": input_bound, "samples": int(len(x)),
               "models": {m: {"peak_bits": r.peak_bits, "overflow": r.overflow,
                              "max_error_vs_artifact": _json_float(_error(r.outputs, plain))} for m, r in runs.items()},
               "report": "recomputed for these options" if not same_setting else "as stored in the artifact"}
    return {"backend": "fixed-point", "ok": all(c.ok for c in claims), "claims": tuple(claims),
            "max_error_vs_artifact": _error(main.outputs, plain), "max_error_vs_target": _error(main.outputs, target),
            "levels_used": None, "details": details}


def format_result(result: VerifyResult) -> str:
    """Readable report for the CLI: one line per claim, then errors and timing."""
    lines = [f"backend  {result.backend}: {'all claims hold' if result.ok else 'CLAIM FAILED'}"]
    def show(value):
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    for c in result.claims:
        lines.append(f"  [{'ok' if c.ok else 'FAIL'}] {c.name}: claimed {show(c.claimed)}, measured {show(c.measured)}"
                     + (f" — {c.message}" if c.message else ""))
    if result.levels_used is not None:
        lines.append(f"levels   {result.levels_used} consumed")
    lines.append(f"error    max |backend − artifact| {result.max_error_vs_artifact:.3e}, "
                 f"max |backend − target| {result.max_error_vs_target:.3e}")
    d = result.details
    if "parameters" in d:
        p = d["parameters"]
        lines.append(f"params   N = {p['poly_modulus_degree']}, coeff_mod_bit_sizes {p['coeff_mod_bit_sizes']}, "
                     f"scale 2^{p['scale_bits']}, {p['security']}")
    if "seconds_per_evaluation" in d:
        lines.append(f"time     {d['seconds_per_evaluation']:.3f} s per encrypted evaluation "
                     f"({d['samples']} samples in one ciphertext), {result.time_s:.2f} s in all")
    else:
        lines.append(f"time     {result.time_s:.2f} s")
    return "\n".join(lines)
