"""``pf.verify``: check an artifact's claims by running it on an engine.

Every backend (docs/verify.md) is a *runner*: it executes the artifact on its engine and hands
back an :class:`EngineRun` — the sample inputs, the engine's decoded outputs, the claims only
that engine can check (levels, ring overflow, …) and the accuracy tolerance that engine
deserves by default. :func:`verify` then adds the same **accuracy claim** for every backend
(:func:`accuracy_claims`), on the samples that lie in the artifact's metric region (domain
minus ``metrics.exclude``):

- ``accuracy vs artifact``:  max |engine − artifact| ≤ tol;
- ``accuracy vs target``:    max |engine − target|  ≤ metrics.max_abs_error + tol
  (what a deployer relies on: the stored error, degraded by at most the engine's tolerance);
- ``metrics.max_abs_error``: the artifact's own plaintext error on the samples does not exceed
  the stored metric (the samples are points of the metric grid, so this must hold exactly).

``tol`` is ``tolerance`` when given, else the runner's default: 1e-4 for CKKS (scale 2^40),
and for fixed point one unit 2^-F per rounding step of the schedule (input encoding, each
truncated product, each rounded constant), so an evaluation that *amplifies* rounding (huge
monomial terms, raw wide inputs) fails instead of passing silently.

Backend-specific claims:

- ``"ckks"`` (TenSEAL, extra ``he``): ``depth.ckks_levels`` (the plan's depth equals the
  report), ``runs at L`` (the plan finishes on a chain of L levels), ``fails at L − 1`` (the
  report is tight).
- ``"openfhe"`` (OpenFHE, CPython 3.10/3.12): ``depth.backends.openfhe`` (the levels the
  EvalChebyshevSeries schedule of :mod:`polyfit.backends.openfhe` consumes on the ciphertext
  equal the report), ``runs at L``, ``fails at L − 1``.
- ``"fixed-point"``: exact-integer ring simulation (:mod:`polyfit.backends.fixed_point`) on a
  dense grid of |x| ≤ input_bound: ``precision.peak_bits`` and ``precision.fits`` for the
  truncation and single-rescale models; the accuracy claim runs the artifact's MPC schedule as
  CrypTen would (:mod:`polyfit.mpc_verification`), with the failure-probability claim.

A new backend adds its name to :data:`polyfit.validate.VERIFY_BACKENDS` (imported here as
:data:`BACKENDS`) and a runner to :data:`RUNNERS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Mapping
from types import MappingProxyType
from typing import Callable

import numpy as np

from .claims import (METRIC_SLACK, Claim, EngineRun, VerifyOptions, _error, accuracy_claims,  # noqa: F401 (API)
                     accuracy_statement, not_an_artifact, sample_inputs)
from .errors import InputError
from .precision import DEFAULT_RING_BITS
from .reports import Stopwatch
from .validate import VERIFY_BACKENDS as BACKENDS
from .validate import check_verify_options

DEFAULT_SAMPLES = 256
CKKS_TOLERANCE = 1e-4
DEFAULT_TOLERANCE = CKKS_TOLERANCE  # kept for callers of the first API


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
    tolerance: float | None = None
    statement: str = ""

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
            "tolerance": _json_float(self.tolerance),
            "accuracy_claim": self.statement,
            "claims": [c.to_dict() for c in self.claims],
            "time_s": self.time_s,
            "details": self.details,
        }


def _json_float(value):
    return float(value) if value is not None and np.isfinite(value) else None


def _load(approx_or_path):
    import os

    from .approximation import Approximation

    if isinstance(approx_or_path, Approximation):
        return approx_or_path
    if not isinstance(approx_or_path, (str, os.PathLike)):
        raise InputError(not_an_artifact(approx_or_path))
    from .artifact import load

    return load(approx_or_path)


def verify(approx_or_path, backend: str = "ckks", levels: int | None = None, samples: int = DEFAULT_SAMPLES,
           ring_bits: int | None = None, frac_bits: int | None = None,
           tolerance: float | None = None, check_tight: bool = True, parties: int = 2) -> VerifyResult:
    """Check an artifact's claims on an engine: its backend claims and the accuracy claim.

    Args:
        approx_or_path: an :class:`~polyfit.approximation.Approximation` or an artifact path.
        backend: ``"ckks"`` (TenSEAL) or ``"fixed-point"``.
        levels: CKKS chain length to force (default: the plan's depth); with ``check_tight``
            the run at ``levels − 1`` must fail when ``levels`` equals the reported depth.
        samples: sample inputs of the metric grid, 2 … 16384 (CKKS: one ciphertext of N/2 slots).
        ring_bits: fixed-point ring size R (default: the artifact's precision report, else 64).
        frac_bits: fixed-point F (default: the artifact's precision report).
        tolerance: accuracy tolerance (same units as the target); default per backend: 1e-4
            for CKKS, 2^-F per rounding step for fixed point.

    Returns:
        VerifyResult with ``ok`` True when every claim holds; ``statement`` says what the
        accuracy claim was.

    Raises:
        InputError: a bad option, a missing/corrupt artifact (ArtifactError), or a missing
            extra (MissingExtraError, naming ``pip install 'polyfit-ppml[he]'``).
    """
    approx = _load(approx_or_path)
    stored = approx.precision or {}
    if ring_bits is None:
        ring_bits = int(stored.get("ring_bits") or DEFAULT_RING_BITS)
    check_verify_options(backend, levels, samples, ring_bits, frac_bits, tolerance, parties)
    if int(parties) != 2 and backend != "crypten":  # the fixed-point model is CrypTen's 2-party one
        raise InputError(f"parties {parties} applies to --backend crypten only; {backend} runs "
                         + ("the 2-party truncation model" if backend == "fixed-point" else "no parties"))
    options = VerifyOptions(None if levels is None else int(levels), int(samples), int(ring_bits),
                            None if frac_bits is None else int(frac_bits),
                            None if tolerance is None else float(tolerance), bool(check_tight), int(parties))
    with Stopwatch() as sw:
        run = RUNNERS[backend](approx, options)
        tol = run.default_tolerance if options.tolerance is None else options.tolerance
        claims = list(run.claims)
        err_artifact = err_target = float("nan")
        if run.outputs is not None:
            accuracy, err_artifact, err_target = accuracy_claims(approx, run.x, run.outputs, tol)
            claims.extend(accuracy)
    details = {**run.details, "tolerance": tol,
               "tolerance_source": "given" if options.tolerance is not None else f"{backend} default"}
    statement = accuracy_statement(approx, tol, len(run.x))
    left_out = ((run.details.get("mpc_schedule") if isinstance(run.details.get("mpc_schedule"), dict) else None)
                or run.details).get("failed_elements", {}).get("domain", 0)
    if left_out:  # the accuracy claim ran on fewer samples than asked: say why
        statement += f" ({left_out} failed elements of {len(run.x) + left_out} left out: see the failure claim)"
    return VerifyResult(backend=backend, ok=all(c.ok for c in claims), claims=tuple(claims),
                        max_error_vs_artifact=err_artifact, max_error_vs_target=err_target,
                        levels_used=run.levels_used, time_s=sw.elapsed, details=details, tolerance=tol,
                        statement=statement)


# -- CKKS (TenSEAL) ---------------------------------------------------------------------
def ckks_plan(approx, plan_plain):
    """The plan the CKKS backend runs: (input multiplier m, input offset b, basis, plan).

    The encrypted input is u = m·x + b, the domain mapped onto [−1, 1]
    (:func:`polyfit.backends.ckks.input_map`; u = x / max|x| for relu/abs), and every later
    stage's input is scaled into [−1, 1] (folded into the coefficients), so the schedule runs
    in the Chebyshev basis on values in [−1, 1]; the result must have the reported plan's
    depth, else the monomial basis on u = x / max|x|, else the plain plan (input x, monomial
    basis) is used.
    """
    from .backends import ckks
    from .plan import approximation_plan

    multiplier, offset = ckks.input_map(approx.domain, approx.combine)
    plan = approximation_plan(approx, multiplier, "chebyshev", offset)
    if plan.depth == plan_plain.depth:
        return multiplier, offset, "chebyshev", plan
    multiplier = ckks.input_multiplier(approx.domain)
    plan = approximation_plan(approx, multiplier, "monomial")
    if plan.depth == plan_plain.depth:
        return multiplier, 0.0, "monomial", plan
    return 1.0, 0.0, "monomial", plan_plain


def _run_ckks(approx, options: VerifyOptions) -> EngineRun:
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
    chain = options.levels if options.levels is not None else int(reported if reported is not None else plan_plain.depth)
    multiplier, offset, basis, plan = ckks_plan(approx, plan_plain)
    x = sample_inputs(approx, options.samples)
    encoded = x * multiplier + offset
    details = {"samples": int(len(x)), "input_multiplier": multiplier, "input_offset": offset, "plan_basis": basis,
               "plan_depth": plan.depth,
               "ct_ct_multiplications": plan.ct_ct_multiplications,
               "scalar_multiplications": plan.scalar_multiplications}
    try:
        run = ckks.run_plan(plan, encoded, chain)
    except ckks.ChainExhausted as exc:
        claims.append(Claim(f"runs at {chain} levels", chain, None, False, str(exc)))
        details["parameters"] = ckks.choose_parameters(chain, slots=len(x)).to_dict()
        return EngineRun(x, None, tuple(claims), None, details, CKKS_TOLERANCE)
    claims.append(Claim(f"runs at {chain} levels", chain, run.levels_used, run.levels_used <= chain,
                        f"finished, {run.levels_used} level(s) consumed"))
    claimed_tenseal = ((approx.depth or {}).get("backends") or {}).get("tenseal")
    if claimed_tenseal is not None:  # what `polyfit export --to tenseal` checks its program against
        ok = int(claimed_tenseal) == run.levels_used
        claims.insert(1 if reported is not None else 0,
                      Claim("depth.backends.tenseal", int(claimed_tenseal), run.levels_used, ok,
                            "levels consumed on the ciphertext" + ("" if ok else " differ from the report")))
    if options.check_tight and chain == plan.depth and chain >= 1:
        try:
            ckks.run_plan(plan, encoded, chain - 1)
            claims.append(Claim(f"fails at {chain - 1} levels", "fails", "succeeded", False,
                                f"the plan also finished on {chain - 1} levels: the depth report is not tight"))
        except ckks.ChainExhausted as exc:
            claims.append(Claim(f"fails at {chain - 1} levels", "fails", "failed", True, str(exc)))
    details.update({"parameters": run.parameters.to_dict(), "seconds_per_evaluation": run.seconds,
                    "encrypt_seconds": run.encrypt_seconds, "seconds_per_sample": run.seconds / len(x)})
    return EngineRun(x, run.outputs, tuple(claims), run.levels_used, details, CKKS_TOLERANCE)


# -- OpenFHE ------------------------------------------------------------------------------
def _run_openfhe(approx, options: VerifyOptions) -> EngineRun:
    from .backends import openfhe
    from .errors import ComputationError

    openfhe.require_openfhe()
    schedule = openfhe.chebyshev_schedule(approx)
    claimed = ((approx.depth or {}).get("backends") or {}).get("openfhe")
    chain = options.levels if options.levels is not None else int(claimed if claimed is not None else schedule.levels)
    x = sample_inputs(approx, options.samples)
    plain = approx(x)
    bound = float(np.max(np.abs(plain)))
    details = {"samples": int(len(x)), "schedule": schedule.to_dict()}
    try:
        run = openfhe.run_schedule(schedule, x, chain, output_bound=bound)
    except ComputationError as exc:
        claims = [Claim(f"runs at {chain} levels", chain, None, False, str(exc))]
        if claimed is not None and chain < int(claimed):  # --levels below the claim: failing there agrees with it
            claims.append(Claim("depth.backends.openfhe", int(claimed), None, True,
                                f"not measured: --levels {chain} is below the claim, and the run there failed"))
        elif claimed is not None:
            claims.append(Claim("depth.backends.openfhe", int(claimed), None, False, "not measured: the run failed"))
        return EngineRun(x, None, tuple(claims), None, details, CKKS_TOLERANCE)
    tol = CKKS_TOLERANCE if options.tolerance is None else options.tolerance
    claims = [Claim(f"runs at {chain} levels", chain, run.levels_used, run.levels_used <= chain,
                    f"finished, {run.levels_used} level(s) consumed")]
    if claimed is not None:
        ok = int(claimed) == run.levels_used
        claims.insert(0, Claim("depth.backends.openfhe", int(claimed), run.levels_used, ok,
                               "levels consumed on the ciphertext" + ("" if ok else " differ from the report")))
    if options.check_tight and chain == run.levels_used and chain >= 2:
        try:
            short = openfhe.run_schedule(schedule, x, chain - 1, output_bound=bound)
            err = _error(short.outputs, plain)
            failed, message = err > tol, f"finished with max |engine − artifact| = {err:.3e}"
        except ComputationError as exc:
            failed, message = True, str(exc)
        claims.append(Claim(f"fails at {chain - 1} levels", "fails", "failed" if failed else "succeeded", failed,
                            message if failed else message + ": the depth report is not tight"))
    details.update({"parameters": run.parameters.to_dict(), "seconds_per_evaluation": run.seconds,
                    "encrypt_seconds": run.encrypt_seconds, "keygen_seconds": run.keygen_seconds,
                    "seconds_per_sample": run.seconds / len(x)})
    return EngineRun(x, run.outputs, tuple(claims), run.levels_used, details, CKKS_TOLERANCE)


# -- fixed point and CrypTen: polyfit.mpc_verification ------------------------------------
def _run_fixed_point(approx, options: VerifyOptions) -> EngineRun:
    from .mpc_verification import run_fixed_point

    return run_fixed_point(approx, options)


def _run_crypten(approx, options: VerifyOptions) -> EngineRun:
    from .mpc_verification import run_crypten

    return run_crypten(approx, options)


RUNNERS: Mapping[str, Callable[..., EngineRun]] = MappingProxyType({
    "ckks": _run_ckks, "openfhe": _run_openfhe, "fixed-point": _run_fixed_point, "crypten": _run_crypten})


def format_result(result: VerifyResult) -> str:
    """Readable report for the CLI: the accuracy claim, one line per claim, errors and timing."""
    lines = [f"backend  {result.backend}: {'all claims hold' if result.ok else 'CLAIM FAILED'}"]
    if result.statement:
        lines.append(f"claim    {result.statement}")

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
        if "ring_dimension" in p:  # OpenFHE
            lines.append(f"params   N = {p['ring_dimension']}, multiplicative depth {p['multiplicative_depth']}, "
                         f"scale 2^{p['scale_bits']}, first modulus {p['first_mod_bits']} bits, "
                         f"{p['scaling_technique']}, {p['security']}")
        else:
            lines.append(f"params   N = {p['poly_modulus_degree']}, coeff_mod_bit_sizes {p['coeff_mod_bit_sizes']}, "
                         f"scale 2^{p['scale_bits']}, {p['security']}")
    if "seconds_per_evaluation" in d and result.backend == "crypten":  # secret shares, no ciphertext
        lines.append(f"time     {d['seconds_per_evaluation']:.3f} s per MPC evaluation ({d['samples']} secret-shared "
                     f"samples, {d.get('parties', 2)} parties), {result.time_s:.2f} s in all")
    elif "seconds_per_evaluation" in d:
        lines.append(f"time     {d['seconds_per_evaluation']:.3f} s per encrypted evaluation "
                     f"({d['samples']} samples in one ciphertext), {result.time_s:.2f} s in all")
    else:
        lines.append(f"time     {result.time_s:.2f} s")
    return "\n".join(lines)
