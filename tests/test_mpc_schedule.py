"""MPC schedules and their fixed-point simulation (CrypTen's model)."""
import numpy as np
import pytest

import polyfit as pf
from polyfit import mpc_schedule as ms
from polyfit.mpc_simulation import simulate
from polyfit.verification import verify


@pytest.fixture(scope="module")
def d8():
    return pf.fit("relu", degree=8, domain=5, bits=12)


@pytest.fixture(scope="module")
def headline():
    return pf.fit("relu", degree=4, domain=5, bits=10)


def _error(approx, schedule, points=2049, **kw):
    x = np.linspace(-5, 5, points)
    run = simulate(schedule, x, **kw)
    return float(np.max(np.abs(run.outputs - approx(x))[~run.failed]))


def test_simulation_reproduces_the_crypten_figures_of_the_d8_case(d8):
    # measured under CrypTen 0.4.1 at F = 12: polynomial() 6.1e-4, polyfit's plan 0.14, Horner 0.86
    assert 3e-4 < _error(d8, ms.build(d8, "crypten-polynomial", 12)) < 1.2e-3
    assert 0.07 < _error(d8, ms.build(d8, "ckks-plan", 12)) < 0.28
    assert 0.4 < _error(d8, ms.build(d8, "horner", 12)) < 1.7


def test_truncating_encoding_is_what_loses_a_small_coefficient(headline):
    polynomial = ms.build(headline, "crypten-polynomial", 8)
    # −3·2^-10 encodes to 0 at F = 8 under truncation: error 0.0029·625 = 1.83
    assert abs(_error(headline, polynomial, encoding="truncate", truncation="floor") - 1.83) < 0.01


def test_chosen_schedule_beats_crypten_polynomial_on_d8(d8):
    record = d8.precision["mpc_schedule"]
    polynomial = next(c for c in record["candidates"] if c["name"] == "crypten-polynomial")
    assert record["name"] == "power-tree" and record["frac_bits"] == 12
    assert record["simulated_max_error"] <= polynomial["simulated_max_error"]
    assert record["rounds_2party"] <= polynomial["rounds_2party"] == 3
    assert record["bytes_per_element"] < polynomial["bytes_per_element"]


def test_recorded_schedule_rebuilds_identically(d8):
    record = d8.precision["mpc_schedule"]
    rebuilt = ms.from_record(d8, record)
    assert rebuilt.name == record["name"] and rebuilt.rounds(2) == record["rounds_2party"]
    assert rebuilt.bytes_per_element() == record["bytes_per_element"]


@pytest.mark.parametrize("degree, rounds", [(2, 1), (4, 2), (5, 3), (8, 3), (12, 4)])
def test_power_tree_rounds_are_ceil_log2_degree(degree, rounds):
    a = pf.fit("gelu", degree=degree, domain=3)  # neither odd nor even: every power is needed
    s = ms.build(a, "power-tree", 16)
    assert s.rounds(2) == rounds
    assert s.rounds(3) > s.rounds(2)  # with 3 parties every truncation communicates


def test_crypten_polynomial_opens_one_shared_operand_per_round(d8):
    # square (1) + [x, x²]·x² (2 + 1) + [x … x⁴]·x⁴ (4 + 1) = 9 opened values, 2·8 bytes each
    assert ms.build(d8, "crypten-polynomial", 12).bytes_per_element() == 9 * 16


def test_share_truncation_fails_at_rate_v_over_ring():
    from polyfit.mpc_schedule import MpcOp, Schedule

    x = np.full(200_000, 2.0 ** 20)  # V = 2^36 at F = 16; x² before truncation 2^72 > ring ...
    s = Schedule("square", 8, (MpcOp("square", 1, (0,)),), 1)  # ... so use F = 8: v = 2^56
    run = simulate(s, x, truncation="shares", seed=3)
    expected = 2.0 ** 56 / 2.0 ** 64 * len(x)
    assert abs(run.failed.sum() - expected) < 5 * np.sqrt(expected)
    assert abs(run.failure_probability - 2.0 ** -8) < 1e-12


def test_failure_probability_makes_a_near_ring_fit_not_fit():
    a = pf.fit("relu", degree=6, domain=30, bits=20)
    assert not a.precision["fits"]
    assert a.precision["mpc_schedule"]["failure_probability"] <= ms.MATERIAL_FAILURE  # pre-scaling avoids it


def test_fixed_point_accuracy_claim_fails_beyond_the_tolerance(d8):
    r = verify(d8, backend="fixed-point", frac_bits=8, tolerance=1e-3)
    assert not r.ok and "accuracy vs artifact" in {c.name for c in r.failed}
    assert r.max_error_vs_artifact > 1e-3


def test_fixed_point_verify_of_a_composite_does_not_crash():
    a = pf.composite(preset="f2g2", function="sign")
    d = verify(a, backend="fixed-point", samples=64).to_dict()
    assert "accuracy vs artifact" in {c["name"] for c in d["claims"]}


def test_domain_failures_are_not_excused_by_the_stress_range():
    # relu composite [3, 3] at F = 30: 54 of 256 domain elements fail; outside the domain the
    # composite diverges (stress-range probability 1). A record hand-edited to p = 1e-9 passed
    # when domain and stress failures were pooled against max(recorded, stress) = 1.
    import dataclasses

    a = pf.composite(degrees=[3, 3], function="relu", domain=4)
    record = dict(ms.schedule_report(a, 30, a.precision["input_bound"], 64), failure_probability=1e-9)
    edited = dataclasses.replace(a, precision={**a.precision, "mpc_schedule": record})
    r = verify(edited, backend="fixed-point", frac_bits=30)
    claim = {c.name: c for c in r.claims}["precision.mpc_schedule.failure_probability"]
    assert not claim.ok and r.details["mpc_schedule"]["failed_elements"]["domain"] > 10


def test_wide_ring_tolerance_counts_every_rounding_step_of_the_plan(headline):
    # 128-bit ring, F = 52: the plan's seven roundings give 8.9e-16; the tolerance was one 2^-52
    r = verify(headline, backend="fixed-point", ring_bits=128, frac_bits=52, samples=64)
    assert r.ok, r.failed
    assert r.tolerance == r.details["rounding_steps"] * 2.0 ** -52 and r.details["rounding_steps"] > 1


@pytest.fixture(scope="module")
def tiny_range():
    # |x| ≤ 1e-300: the prescale 1/B folds into c_k·B^-k, beyond float64 (OverflowError before)
    return pf.composite(degrees=[3], function="abs", domain=1e-300)


def test_a_composite_whose_constants_exceed_float64_is_written_and_read_back(tiny_range, tmp_path):
    tiny_range.save(tmp_path / "tiny.json")  # the no-schedule record used to fail the schema on load
    back = pf.load(tmp_path / "tiny.json")
    assert back.precision["peak_bits"] is None and "name" not in back.precision["mpc_schedule"]


def test_fixed_point_verify_reports_unbounded_constants_without_a_traceback(tiny_range):
    r = verify(tiny_range, backend="fixed-point", samples=16)
    peak = {c.name: c for c in r.claims}["precision.peak_bits"]
    assert peak.ok and peak.measured is None and not r.ok


def test_three_party_rounds_count_every_separately_truncated_value():
    # CrypTen 0.4.1, 3 parties, measured: sign f2g2 26 rounds (claimed 22 when one truncation
    # per step was counted); relu [7, 7] on [-4, 4] 33 (claimed 25)
    assert ms.schedule_report(pf.composite(preset="f2g2"), 16)["rounds_3party"] == 26


def test_the_accuracy_statement_says_how_many_failed_elements_it_left_out():
    # relu [3, 3] at F = 30: "on 202 samples of the domain" for --samples 256, without a reason
    r = verify(pf.composite(degrees=[3, 3], function="relu", domain=4), backend="fixed-point", frac_bits=30)
    left = r.details["mpc_schedule"]["failed_elements"]["domain"]
    assert left > 0 and f"({left} failed elements of 256 left out" in r.statement


def test_fixed_point_checks_the_recorded_rounds_and_bytes_against_the_schedule(headline):
    # a record hand-edited to 1 round and 8 bytes (the schedule takes 2 and 32) passed
    import dataclasses

    record = dict(headline.precision["mpc_schedule"], rounds_2party=1, bytes_per_element=8)
    edited = dataclasses.replace(headline, precision={**headline.precision, "mpc_schedule": record})
    r = verify(edited, backend="fixed-point", samples=16)
    assert {c.name for c in r.failed} == {"precision.mpc_schedule.rounds_2party",
                                          "precision.mpc_schedule.bytes_per_element"}
