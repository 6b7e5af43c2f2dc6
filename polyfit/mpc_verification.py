"""Claims checked by ``polyfit verify --backend fixed-point`` and ``--backend crypten``.

Both run the artifact's MPC schedule (``precision.mpc_schedule``; chosen afresh when
``--frac-bits`` differs from the one it was chosen for) on inputs over the domain and over a
*stress range* of 1.5× the input bound, and state:

- the accuracy claim of :func:`polyfit.verification.verify` on the domain samples, failed
  elements left out; the default tolerance is one unit 2^-F per rounding step of the
  schedule run (input encoding, each truncation, each encoded constant);
- ``precision.mpc_schedule.failure_probability`` — the number of failed elements observed on
  the domain samples is consistent with the per-element probability the artifact records for
  the schedule: at most expected + 4·√expected + 3 (a Poisson bound, false alarm < 1e-4);
- ``stress-range failure probability`` — the same on the stress range, against the probability
  the schedule has there (|x| up to 1.5 B, where a composite diverges and it is often 1). Kept
  apart from the domain's: pooled, the stress range's probability of 1 allowed every domain
  element to fail (a record hand-edited to p = 1e-9 passed with 54 of 256 domain elements
  failed).
- CrypTen only: ``depth.mpc_rounds`` of the schedule run (2 parties: ``power_tree`` /
  ``horner`` / ``ckks-plan`` as named; ``mpc_schedule.rounds_<n>party``) equals the rounds
  CrypTen's communicator counted, and the bytes per party equal the schedule's count.

Failed elements: the simulation sees every wrap of a local truncation exactly. Under CrypTen
an element fails when it differs from the simulation by more than 2^(R/2 − F): a wrap shifts
a value by ~2^(R−2F) before later coefficients scale it, far beyond any honest rounding.
"""
from __future__ import annotations

import math

import numpy as np

from .claims import Claim, EngineRun, _error, sample_inputs

STRESS_FACTOR = 1.5


def failed_threshold(frac_bits: int, ring_bits: int = 64) -> float:
    """Errors above 2^(R/2 − F) count as failed elements (module docstring)."""
    return 2.0 ** (ring_bits / 2 - frac_bits)


def allowed_failures(probability: float, elements: int) -> float:
    """Poisson bound on failures for ``elements`` draws at ``probability`` each."""
    expected = probability * elements
    return expected + 4.0 * math.sqrt(expected) + 3.0


def stress_inputs(approx, samples: int) -> np.ndarray:
    """``samples`` uniform points of [−1.5·B, 1.5·B], B = the precision report's input bound."""
    bound = float((approx.precision or {}).get("input_bound") or max(abs(approx.domain[0]), abs(approx.domain[1])))
    return np.linspace(-STRESS_FACTOR * bound, STRESS_FACTOR * bound, int(samples))


def failure_claim(record_probability: float, failed_count: int, elements: int, where: str = "domain"):
    """Failed elements on the domain samples (``where="domain"``, against the artifact's recorded
    probability) or on the stress range (``"stress"``, against the schedule's probability there)."""
    allowed = allowed_failures(record_probability, elements)
    ok = failed_count <= allowed
    name = "precision.mpc_schedule.failure_probability" if where == "domain" else "stress-range failure probability"
    region = "domain samples" if where == "domain" else f"{STRESS_FACTOR}× stress range"
    return Claim(name, record_probability, failed_count / max(elements, 1),
                 bool(ok), f"{failed_count} failed of {elements} elements ({region}); "
                           f"at most {allowed:.1f} expected at {record_probability:.2e} per element")


def schedule_and_record(approx, frac_bits: int, ring_bits: int = 64):
    """(schedule, its figures) for F: the artifact's record when it matches, else chosen now."""
    from . import mpc_schedule

    record = (approx.precision or {}).get("mpc_schedule") or {}
    if record.get("name") and record.get("frac_bits") == frac_bits and record.get("ring_bits", 64) == ring_bits:
        return mpc_schedule.from_record(approx, record), record, "as recorded in the artifact"
    bound = (approx.precision or {}).get("input_bound")
    fresh = mpc_schedule.schedule_report(approx, frac_bits, bound, ring_bits)
    if not fresh.get("name"):
        raise ValueError(fresh.get("reason", "no MPC schedule"))
    return mpc_schedule.from_record(approx, fresh), fresh, f"chosen for F = {frac_bits}"


def _plan_claims(approx, x, ring_bits: int, frac_bits: int, report: dict) -> tuple[list, dict]:
    """The precision report's plan claims (peak bits, fits) for both fixed-point models."""
    from .backends import fixed_point
    from .precision import MODELS, material, truncation_profile
    from .plan import approximation_plan

    claims, runs = [], {}
    sections = [(MODELS[0], report.get("peak_bits"), report.get("fits"))]
    single = report.get("single_rescale") or {}
    if "peak_bits" in single:
        sections.append((MODELS[1], single["peak_bits"], single["fits"]))
    for model, claimed_bits, claimed_fits in sections:
        run = fixed_point.run(approx, x, frac_bits, ring_bits, model)
        runs[model] = run
        prefix = "precision" if model == MODELS[0] else "precision.single_rescale"
        if claimed_bits is None:
            ok_bits = run.overflow
            message = "reported unbounded; " + ("the simulation overflows too" if ok_bits else "the simulation fits")
        else:
            ok_bits = run.peak_bits is not None and run.peak_bits <= int(claimed_bits)
            message = f"simulated peak {run.peak_bits} bits" + ("" if ok_bits else " exceeds the report")
        claims.append(Claim(f"{prefix}.peak_bits", claimed_bits, run.peak_bits, bool(ok_bits), message))
        measured_fits = not run.overflow
        note = ""
        if model == MODELS[0]:
            failure = truncation_profile(approximation_plan(approx), x, frac_bits, ring_bits)[1]
            measured_fits = measured_fits and not material(failure)
            note = f", 2-party truncation failure probability {failure:.2e} per element"
        claims.append(Claim(f"{prefix}.fits", bool(claimed_fits), measured_fits, measured_fits == bool(claimed_fits),
                            ("no overflow" if not run.overflow else "overflow") + note
                            + f" ({ring_bits}-bit ring, F = {frac_bits})"))
    return claims, runs


def record_claims(schedule, record, origin) -> list:
    """The artifact's recorded rounds and bytes against the schedule's cost model (what CrypTen
    counts, tests/test_crypten_backend.py): a hand-edited record (1 round where the schedule
    takes 2) passed the fixed-point backend, which measures no rounds itself."""
    if origin != "as recorded in the artifact":
        return []
    model = {"rounds_2party": schedule.rounds(2), "rounds_3party": schedule.rounds(3),
             "bytes_per_element": schedule.bytes_per_element()}
    return [Claim(f"precision.mpc_schedule.{key}", record[key], value, record[key] == value,
                  "the schedule's cost model" + ("" if record[key] == value else " differs from the record"))
            for key, value in model.items() if record.get(key) is not None]


def rounding_steps(schedule) -> int:
    """Roundings of a schedule: the input encoding, each truncation, each encoded constant."""
    return 1 + sum(1 for op in schedule.ops if schedule.truncation_bits(op) > 0 or (op.kind == "lin" and op.const))


def plan_rounding_steps(plan) -> int:
    """Roundings of the plan's truncation model: the input encoding, each truncated product,
    each product by a non-integer constant, each encoded constant added."""
    from .plan import is_integer

    return 1 + sum(1 for op in plan.ops if op.kind in ("mul", "add_const")
                   or (op.kind == "mul_const" and not is_integer(op.const)))


def run_fixed_point(approx, options):
    """The fixed-point runner (module docstring): plan claims plus the MPC schedule's claims."""
    from .backends import fixed_point
    from .plan import approximation_plan
    from .precision import GRID_POINTS, default_frac_bits, input_grid, precision_report

    stored = approx.precision or {}
    ring_bits, frac_bits = options.ring_bits, options.frac_bits
    if frac_bits is None:
        frac_bits = int(stored.get("frac_bits") if stored.get("frac_bits") is not None else default_frac_bits(approx))
    input_bound = float(stored.get("input_bound") or max(abs(approx.domain[0]), abs(approx.domain[1])))
    same_setting = stored.get("frac_bits") == frac_bits and stored.get("ring_bits") == ring_bits
    report = stored if same_setting and "peak_bits" in stored else precision_report(
        approx, frac_bits=frac_bits, ring_bits=ring_bits, input_bound=input_bound)
    dense = input_grid(input_bound, GRID_POINTS)
    samples = sample_inputs(approx, options.samples)
    claims, runs = _plan_claims(approx, dense, ring_bits, frac_bits, report)
    details = {"frac_bits": frac_bits, "ring_bits": ring_bits, "input_bound": input_bound,
               "samples": int(len(samples)), "peak_grid_points": int(len(dense)),
               "models": {m: {"peak_bits": r.peak_bits, "overflow": r.overflow,
                              "max_error_vs_artifact": _finite(_error(r.outputs, approx(dense)))}
                          for m, r in runs.items()},
               "report": "recomputed for these options" if not same_setting else "as stored in the artifact"}
    if ring_bits > 64:  # the plan model alone (exact Python integers)
        details["mpc_schedule"] = "not simulated: the MPC simulation supports rings of at most 64 bits"
        run = fixed_point.run(approx, samples, frac_bits, ring_bits)
        steps = plan_rounding_steps(approximation_plan(approx))
        details["rounding_steps"] = steps
        return EngineRun(samples, run.outputs, tuple(claims), None, details, steps * 2.0 ** -frac_bits)
    try:
        schedule, record, origin = schedule_and_record(approx, frac_bits, ring_bits)
    except ValueError as exc:
        claims.append(Claim("precision.mpc_schedule", "a schedule", None, False, str(exc)))
        return EngineRun(samples, None, tuple(claims), None, details, 2.0 ** -frac_bits)
    claims.extend(record_claims(schedule, record, origin))
    stress = stress_inputs(approx, max(options.samples, GRID_POINTS))
    runs_mpc = {name: fixed_point.run_schedule(approx, xs, frac_bits, ring_bits, schedule, seed=seed)
                for name, xs, seed in (("domain", samples, 1), ("stress", stress, 2))}
    claims.append(failure_claim(record["failure_probability"], int(runs_mpc["domain"].failed.sum()), len(samples)))
    claims.append(failure_claim(max(record["failure_probability"], runs_mpc["stress"].failure_probability),
                                int(runs_mpc["stress"].failed.sum()), len(stress), "stress"))
    steps = rounding_steps(schedule)
    details["mpc_schedule"] = schedule_details(schedule, record, origin, runs_mpc, approx, stress, steps)
    keep = ~runs_mpc["domain"].failed  # failed elements are the failure claim's, not accuracy's
    return EngineRun(samples[keep], runs_mpc["domain"].outputs[keep], tuple(claims), None, details,
                     steps * 2.0 ** -frac_bits)


def schedule_details(schedule, record, origin, runs, approx, stress, steps) -> dict:
    """JSON-ready figures of a schedule's runs over the domain samples and the stress range."""
    stress_run = runs["stress"]
    keep = ~stress_run.failed
    with np.errstate(all="ignore"):
        stress_error = float(np.max(np.abs(stress_run.outputs[keep] - approx(stress)[keep]))) if keep.any() else None
    return {"name": schedule.name, "origin": origin, "params": record.get("params"),
            "rounds_2party": schedule.rounds(2), "rounds_3party": schedule.rounds(3),
            "bytes_per_element": schedule.bytes_per_element(), "rounding_steps": steps,
            "failed_elements": {k: int(r.failed.sum()) for k, r in runs.items()},
            "stress_range": [float(stress[0]), float(stress[-1])],
            "stress_max_error_vs_artifact": _finite(stress_error),
            "peak_bits": runs["domain"].peak_bits, "stress_peak_bits": stress_run.peak_bits,
            "failure_probability": record["failure_probability"],
            "stress_failure_probability": stress_run.failure_probability}


def _masked_error(run_and_failed, approx, x) -> float:
    run, failed = run_and_failed
    keep = ~failed
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(run.outputs[keep] - approx(x)[keep]))) if keep.any() else math.inf


def _finite(value):
    return float(value) if value is not None and np.isfinite(value) else None


def run_crypten(approx, options):
    """The CrypTen runner: the schedule in real CrypTen processes, over the domain samples and
    the 1.5× stress range; claims rounds, bytes and the failure probability (module docstring)."""
    from .backends import crypten as backend, fixed_point
    from .errors import InputError
    from .precision import default_frac_bits

    parties = int(getattr(options, "parties", 2) or 2)
    if options.ring_bits != 64:
        raise InputError(f"the crypten backend runs in CrypTen's 64-bit ring; got --ring-bits {options.ring_bits}")
    backend.check_installed()
    stored = approx.precision or {}
    frac_bits = options.frac_bits
    if frac_bits is None:
        frac_bits = int(stored.get("frac_bits") if stored.get("frac_bits") is not None else default_frac_bits(approx))
    try:
        schedule, record, origin = schedule_and_record(approx, frac_bits, 64)
    except ValueError as exc:
        return EngineRun(sample_inputs(approx, options.samples), None,
                         (Claim("precision.mpc_schedule", "a schedule", None, False, str(exc)),), None, {},
                         2.0 ** -frac_bits)
    samples = sample_inputs(approx, options.samples)
    stress = stress_inputs(approx, options.samples)
    measured = dict(zip(("domain", "stress"), backend.run([{"schedule": schedule}], [samples, stress], frac_bits,
                                                          parties)))
    threshold = failed_threshold(frac_bits)
    claims, failed = [], {}
    for name, xs in (("domain", samples), ("stress", stress)):
        simulated = fixed_point.run_schedule(approx, xs, frac_bits, 64, schedule, truncation="floor")
        with np.errstate(all="ignore"):
            failed[name] = np.abs(measured[name]["outputs"] - simulated.outputs) > threshold
    run = measured["domain"]
    rounds = max(run["rounds_per_party"])
    claimed = int(record.get(f"rounds_{parties}party", schedule.rounds(parties)))  # the artifact's number
    label = f"mpc_schedule.rounds_{parties}party"
    claims.append(Claim(label, claimed, rounds, rounds == claimed,
                        f"CrypTen's communicator counted {run['rounds_per_party']} rounds per party ({parties} parties)"))
    depth_rounds = ((approx.depth or {}).get("mpc_rounds") or {})
    depth_rounds = depth_rounds if parties == 2 else depth_rounds.get("three_party") or {}
    key = {"power-tree": "power_tree", "horner": "horner"}.get(schedule.name)
    # depth.mpc_rounds.three_party counts one truncation per round (a batched power tree); a
    # schedule that truncates several values of a round separately is another program
    comparable = parties == 2 or schedule.truncations_per_step() <= 1
    if key and depth_rounds.get(key) is not None and parties in (2, 3) and comparable:
        ok = int(depth_rounds[key]) == rounds
        claims.append(Claim(f"depth.mpc_rounds{'.three_party' if parties == 3 else ''}.{key}", int(depth_rounds[key]),
                            rounds, ok, "the artifact's round count for this schedule" + ("" if ok else " differs")))
    if parties == 2:
        claimed_bytes = schedule.bytes_per_element() * len(samples)
        ok = all(b == claimed_bytes for b in run["bytes_per_party"])
        claims.append(Claim("mpc_schedule.bytes_per_party", claimed_bytes, max(run["bytes_per_party"]), ok,
                            f"{schedule.bytes_per_element()} bytes per element × {len(samples)} elements"))
    claims.append(failure_claim(record["failure_probability"], int(failed["domain"].sum()), len(samples)))
    stress_probability = fixed_point.run_schedule(approx, stress, frac_bits, 64, schedule).failure_probability
    claims.append(failure_claim(max(record["failure_probability"], stress_probability), int(failed["stress"].sum()),
                                len(stress), "stress"))
    sim = fixed_point.run_schedule(approx, samples, frac_bits, 64, schedule, seed=1)
    keep_sim = ~sim.failed
    with np.errstate(all="ignore"):
        sim_error = float(np.max(np.abs(sim.outputs[keep_sim] - approx(samples)[keep_sim])))
        keep = ~failed["stress"]
        stress_error = float(np.max(np.abs(measured["stress"]["outputs"][keep] - approx(stress)[keep])))
    steps = rounding_steps(schedule)
    details = {"parties": parties, "frac_bits": frac_bits, "samples": int(len(samples)),
               "schedule": {"name": schedule.name, "origin": origin, "params": record.get("params")},
               "rounds_per_party": run["rounds_per_party"], "bytes_per_party": run["bytes_per_party"],
               "seconds_per_evaluation": run["seconds"], "rounding_steps": steps,
               "failed_elements": {k: int(f.sum()) for k, f in failed.items()},
               "simulated_max_error_vs_artifact": _finite(sim_error),
               "stress_range": [float(stress[0]), float(stress[-1])],
               "stress_max_error_vs_artifact": _finite(stress_error),
               "stress_rounds_per_party": measured["stress"]["rounds_per_party"],
               "decode": "reveal() / 2^F"}
    keep = ~failed["domain"]
    return EngineRun(samples[keep], run["outputs"][keep], tuple(claims), None, details, steps * 2.0 ** -frac_bits)
