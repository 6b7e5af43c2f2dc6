"""Quantization-aware fits (bits=F): certified L2 optimum, PILLAR compat, L∞ MILP, GEKKO."""
from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import polyfit as pf
from polyfit.cli import main
from polyfit.errors import InputError
from polyfit.solvers.quantized.lattice import closest_vector

PILLAR_F8 = (70, 128, 45, 0, -1)
PILLAR_F10 = (322, 512, 160, 0, -3)


def integers(approx):
    return approx.stages[0].quantized.integers


def l2_objective(ints, frac_bits, t, y, w=None):
    """Σ w (Σ a_k 2^-F t^k − y)² evaluated directly (independent of the solver's QR form)."""
    p = np.polynomial.polynomial.polyval(t, np.asarray(ints, float) * 2.0**-frac_bits)
    r = p - y
    return float(np.sum((1.0 if w is None else w) * r * r))


# -- PILLAR's published coefficients -----------------------------------------------------
@pytest.mark.parametrize("bits, expected", [(8, PILLAR_F8), (10, PILLAR_F10)])
def test_pillar_compat_reproduces_published_coefficients(bits, expected):
    a = pf.fit("relu", degree=4, domain=5, bits=bits, compat="pillar")
    assert integers(a) == expected
    assert a.provenance["certified"] is True
    assert a.objective["grid"]["points"] == 1000
    assert a.objective["target_rounding"].startswith("trunc")
    assert a.objective["integer_bounds"]["lower"] == [-(2 ** (bits - 1))] * 5


def test_pillar_compat_objective_is_pillars_integer_units():
    a = pf.fit("relu", degree=4, domain=5, bits=10, compat="pillar")
    x = np.linspace(-5, 5, 1000)
    y_int = np.trunc(np.maximum(x, 0) * 2**10)
    direct = float(np.sum((np.polynomial.polynomial.polyval(x, np.array(PILLAR_F10, float)) - y_int) ** 2))
    assert a.provenance["objective_value"] == pytest.approx(direct, rel=1e-9)


@pytest.mark.parametrize("bits, expected", [(8, PILLAR_F8), (10, PILLAR_F10)])
def test_default_formulation_also_gives_pillars_coefficients(bits, expected):
    a = pf.fit("relu", degree=4, domain=5, bits=bits)
    assert integers(a) == expected
    assert a.objective["target_rounding"] == "none"
    assert a.objective["integer_bounds"]["binding"] is False


# -- certified optimum against brute force ------------------------------------------------
@pytest.mark.parametrize("target, degree, domain, bits", [
    ("relu", 2, 1.0, 4), ("tanh", 3, 2.0, 5), ("gelu", 2, 3.0, 3), ("sigmoid", 3, 4.0, 6), ("exp", 2, (-1, 0.5), 6),
])
def test_l2_matches_brute_force(target, degree, domain, bits):
    a = pf.fit(target, degree=degree, domain=domain, bits=bits, points=60)
    lo, hi = (-domain, domain) if np.isscalar(domain) else domain
    x = np.linspace(lo, hi, 60)
    y = pf.get_target(target)(x)
    cont = np.polynomial.polynomial.polyfit(x, y, degree) * 2.0**bits
    radius = 4
    box = [range(int(np.floor(c)) - radius, int(np.ceil(c)) + radius + 1) for c in cont]
    best = min(itertools.product(*box), key=lambda z: l2_objective(z, bits, x, y))
    assert l2_objective(integers(a), bits, x, y) == pytest.approx(l2_objective(best, bits, x, y), rel=1e-12)
    assert integers(a) == tuple(best)
    assert a.provenance["certified"] is True
    assert a.provenance["objective_value"] == pytest.approx(l2_objective(best, bits, x, y), rel=1e-9)


def test_integer_bound_that_binds_matches_brute_force():
    bits, bound = 4, 3
    a = pf.fit("exp", degree=2, domain=1.0, bits=bits, points=40, integer_bound=bound)
    x = np.linspace(-1, 1, 40)
    y = np.exp(x)
    best = min(itertools.product(range(-bound, bound + 1), repeat=3), key=lambda z: l2_objective(z, bits, x, y))
    assert integers(a) == tuple(best)
    assert a.objective["integer_bounds"]["binding"] is True
    assert max(abs(v) for v in integers(a)) <= bound


def test_weighted_l2_matches_brute_force():
    bits = 5
    a = pf.fit("relu", degree=2, domain=2.0, bits=bits, points=50, weight=lambda x: np.exp(-x * x))
    x = np.linspace(-2, 2, 50)
    y, w = np.maximum(x, 0), np.exp(-x * x)
    cont = np.polynomial.polynomial.polyfit(x, y, 2, w=np.sqrt(w)) * 2.0**bits
    box = [range(int(np.floor(c)) - 4, int(np.ceil(c)) + 5) for c in cont]
    best = min(itertools.product(*box), key=lambda z: l2_objective(z, bits, x, y, w))
    assert integers(a) == tuple(best)


def test_closest_vector_matches_brute_force_on_random_lattices():
    rng = np.random.default_rng(7)
    for trial in range(60):
        n = int(rng.integers(1, 4))
        R = np.triu(rng.normal(size=(n, n))) * np.exp(rng.normal(size=n))
        R[np.diag_indices(n)] = np.abs(np.diag(R)) + 0.1
        y = rng.normal(size=n) * 5
        res = closest_vector(R, y)
        inv = np.linalg.inv(R)
        zc = inv @ y
        rad = np.linalg.norm(R @ np.round(zc) - y)
        half = rad * np.sqrt((inv**2).sum(axis=1))
        box = [range(int(np.floor(c - h)) - 1, int(np.ceil(c + h)) + 2) for c, h in zip(zc, half)]
        best = min(float(np.sum((R @ np.array(z) - y) ** 2)) for z in itertools.product(*box))
        assert res.complete
        assert res.distance_sq == pytest.approx(best, rel=1e-9, abs=1e-12)


def test_degree_12_frac_bits_20_range_20_is_stable_and_certified():
    a = pf.fit("tanh", degree=12, domain=20, bits=20)
    assert a.provenance["certified"] is True
    cont = pf.fit("tanh", degree=12, domain=20)
    # The quantized optimum costs at most a little over the continuous optimum.
    assert a.provenance["objective_value"] >= a.provenance["continuous_objective_value"] - 1e-9
    assert a.metrics["max_abs_error"] < 2 * cont.metrics["max_abs_error"]


# -- the artifact ---------------------------------------------------------------------------
def test_coefficients_are_integers_times_two_to_minus_f_exactly(tmp_path):
    a = pf.fit("gelu", degree=6, domain=4, bits=12)
    stage = a.stages[0]
    assert stage.quantized.frac_bits == 12
    assert all(c == i * 2.0**-12 for c, i in zip(stage.coefficients, stage.quantized.integers))
    path = a.save(tmp_path / "g.json")
    b = pf.load(path)
    assert b.stages[0].quantized.integers == stage.quantized.integers
    assert a.provenance["solver"] == "quantized-l2" and a.provenance["backend"] == "exact"
    assert {"objective_value", "certified", "nodes", "elapsed_s", "options"} <= set(a.provenance)


def test_input_scale_quantizes_in_t():
    scaled = pf.fit("tanh", degree=5, domain=8, bits=8, input_scale=0.125)
    direct = pf.fit(lambda t: np.tanh(8.0 * t), degree=5, domain=1, bits=8)
    assert integers(scaled) == integers(direct)
    x = np.linspace(-8, 8, 7)
    p = np.polynomial.polynomial.polyval(x / 8, np.array(integers(scaled), float) / 256)
    assert np.array_equal(scaled(x), p)
    assert scaled.objective["variable"]["input_scale"] == 0.125


# -- L∞ ---------------------------------------------------------------------------------------
def test_linf_matches_brute_force():
    bits = 3
    a = pf.fit("relu", degree=2, domain=1.0, bits=bits, method="minimax", points=41)
    x = np.linspace(-1, 1, 41)
    y = np.maximum(x, 0)

    def linf(z):
        return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, np.array(z, float) / 2**bits) - y)))

    best = min(linf(z) for z in itertools.product(range(-8, 9), repeat=3))
    assert a.provenance["objective_value"] == pytest.approx(best, rel=1e-9)
    assert a.provenance["certified"] is True
    assert a.provenance["solver"] == "quantized-linf" and a.provenance["backend"] == "highs"


def test_linf_odd_parity_matches_brute_force_without_parity():
    bits = 4
    a = pf.fit("tanh", degree=3, domain=2.0, bits=bits, method="minimax", points=31)
    x = np.linspace(-2, 2, 31)

    def linf(z):
        return float(np.max(np.abs(np.polynomial.polynomial.polyval(x, np.array(z, float) / 2**bits) - np.tanh(x))))

    best = min(linf(z) for z in itertools.product(range(-4, 5), range(0, 40), range(-4, 5), range(-20, 5)))
    assert a.objective["parity"]["kind"] == "odd"
    assert a.provenance["objective_value"] == pytest.approx(best, rel=1e-9)


def test_linf_sigmoid_degree_15_beats_fpminimax_at_8_bits():
    a = pf.fit("sigmoid", degree=15, domain=8, bits=8, method="minimax", input_scale=1 / 8)
    assert a.provenance["certified"] is True
    assert a.metrics["max_abs_error"] <= 9.71e-4  # Sollya fpminimax
    assert a.provenance["naive_rounding_error"] > 1.5e-3
    ints = integers(a)
    assert ints[0] == 128 and all(v == 0 for v in ints[2::2])


# -- GEKKO --------------------------------------------------------------------------------------
def test_gekko_backend_on_a_tiny_case_matches_exact():
    exact = pf.fit("relu", degree=2, domain=1.0, bits=4, points=20)
    gekko = pf.fit("relu", degree=2, domain=1.0, bits=4, points=20, solver="gekko", time_limit=30)
    assert gekko.provenance["backend"] == "gekko" and gekko.provenance["certified"] is False
    assert gekko.provenance["objective_value"] >= exact.provenance["objective_value"] - 1e-12
    assert integers(gekko) == integers(exact)


# -- CLI and bad input --------------------------------------------------------------------------
def test_cli_headline_with_pillar_compat_prints_artifact(capsys):
    code = main(["fit", "--degree", "4", "--range", "5", "--bits", "10", "--compat", "pillar", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stages"][0]["quantized"] == {"frac_bits": 10, "integers": list(PILLAR_F10)}
    assert doc["provenance"]["solver"] == "quantized-l2"


def test_cli_minimax_bits_json_is_clean(capsys):
    code = main(["fit", "--function", "tanh", "--degree", "3", "--range", "2", "--bits", "6", "--method", "minimax", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["provenance"]["solver"] == "quantized-linf"


@pytest.mark.parametrize("kwargs, match", [
    ({"compat": "pillar", "points": 500}, "pillar"),
    ({"method": "minimax", "solver": "gekko"}, "gekko"),
    ({"method": "minimax", "compat": "pillar"}, "pillar"),
    ({"integer_bound": 0}, "integer_bound"),
    ({"max_nodes": -1}, "max_nodes"),
    ({"time_limit": float("nan")}, "time_limit"),
    ({"bogus": 1}, "bogus"),
    ({"basis": "chebyshev"}, "basis"),
    ({"method": "minimax", "parity": True, "domain": (0, 2)}, "parity"),
])
def test_bad_quantized_input_raises_one_line_input_error(kwargs, match):
    args = {"domain": 2.0, **kwargs}
    domain = args.pop("domain")
    with pytest.raises(InputError, match=match) as info:
        pf.fit("tanh", degree=3, domain=domain, bits=6, **args)
    assert "\n" not in str(info.value)


def test_cli_bad_quantized_input_exits_2(capsys, tmp_path):
    out = tmp_path / "x.json"
    code = main(["fit", "--degree", "4", "--range", "5", "--bits", "10", "--compat", "pillar", "--points", "300",
                 "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pillar" in err
    assert not out.exists()


def test_scales_beyond_float64_fail_with_exit_1_and_advice(capsys):
    code = main(["fit", "--degree", "30", "--range", "5", "--bits", "24", "--json"])
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "input_scale" in err


def test_input_scale_rescues_the_wide_case():
    a = pf.fit("relu", degree=30, domain=5, bits=24, input_scale=0.2)
    assert a.provenance["certified"] is True


# -- L∞ at the degrees users need (issue 15) ----------------------------------------------------
FPMINIMAX_ISSUE = {("sigmoid", 31): 2.14e-6, ("tanh", 25): 6.03e-5, ("gelu", 31): 4.87e-5}  # Sollya, same sizes


def test_linf_tanh_degree_25_beats_fpminimax_from_the_cli(capsys):
    code = main(["fit", "--function", "tanh", "--degree", "25", "--range", "4", "--bits", "14", "--input-scale", "0.25",
                 "--method", "minimax", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["metrics"]["max_abs_error"] <= FPMINIMAX_ISSUE[("tanh", 25)]
    assert doc["provenance"]["certificate"]["kind"] == "milp"


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sigmoid", "gelu"])
def test_linf_degree_31_sixteen_bits_beats_fpminimax(target):
    a = pf.fit(target, degree=31, domain=8, bits=16, method="minimax", input_scale=0.125)
    assert a.metrics["max_abs_error"] <= FPMINIMAX_ISSUE[(target, 31)]
    cert = a.provenance["certificate"]
    # value: the exact error; metrics: float64 Horner on the same integers (a few ulps of |a_k| 2^-F apart)
    assert cert["bound"] <= cert["value"] == pytest.approx(a.metrics["max_abs_error"], rel=1e-5)


def test_linf_float_reference_is_the_remez_minimax():
    a = pf.fit("sigmoid", degree=15, domain=8, bits=12, method="minimax", input_scale=0.125)
    remez = pf.fit("sigmoid", degree=15, domain=8, method="minimax", input_scale=0.125)
    assert a.provenance["float_minimax_source"] == "remez"
    assert a.provenance["float_minimax_error"] == pytest.approx(remez.provenance["upper_bound"], rel=1e-12)


def _linf_setup(target, degree, domain, bits, **kwargs):
    from polyfit.problem import make_problem
    from polyfit.solvers.quantized.linf_setup import build_setup

    return build_setup(make_problem(target, degree, domain, norm="linf", basis="monomial", bits=bits, **kwargs))


def test_linf_jump_target_float_reference_is_the_grid_exchange():
    from polyfit.solvers.remez import discrete_minimax

    a = pf.fit("step", degree=7, domain=1, bits=10, method="minimax")
    setup = _linf_setup("step", 7, 1, 10)
    assert a.provenance["float_minimax_source"] == "grid exchange"
    assert a.provenance["float_grid_error"] == pytest.approx(discrete_minimax(setup.vander, setup.g).upper_bound,
                                                             rel=1e-12)


def test_linf_grid_exchange_is_not_above_the_lp_on_the_same_grid():
    from polyfit.solvers.quantized.linf_incumbent import _grid_lp, grid_minimax

    setup = _linf_setup("sign", 15, 2, 12, input_scale=0.5)
    exchange, source, _ = grid_minimax(setup, 10.0)
    lp = _grid_lp(setup, 10.0)
    assert source == "grid exchange"
    error = np.max(np.abs(setup.vander @ exchange[setup.powers] - setup.g))
    assert error <= np.max(np.abs(setup.vander @ lp - setup.g)) * (1 + 1e-12)


def test_linf_grid_reference_falls_back_to_the_lp_where_the_exchange_fails():
    from polyfit.solvers.quantized.linf_incumbent import _grid_lp, grid_minimax

    # degree 32 on 300 samples clustered near 0: levelled systems too ill-conditioned for float64
    samples = np.clip(np.random.default_rng(1).normal(0.0, 0.25, 300), -1, 1)
    setup = _linf_setup("tanh", 32, 1, 16, samples=samples)
    cheb, source, note = grid_minimax(setup, 5.0)
    assert source == "grid LP" and note.startswith("LP fallback: Remez for the grid minimax")
    np.testing.assert_allclose(cheb[setup.powers], _grid_lp(setup, 5.0), rtol=0, atol=1e-12)


def test_linf_certificate_has_the_common_shape_and_keeps_old_keys():
    a = pf.fit("tanh", degree=5, domain=2.0, bits=8, method="minimax")
    cert = a.provenance["certificate"]
    assert set(cert) == {"kind", "certified", "value", "bound", "gap", "message"}
    assert cert["certified"] is a.provenance["certified"] is True
    assert cert["gap"] == a.provenance["mip_gap"] <= 1e-6
    assert cert["value"] == a.provenance["objective_value"]


def test_l2_certificate_is_lattice_enumeration():
    cert = pf.fit("relu", degree=4, domain=5, bits=10).provenance["certificate"]
    assert cert["kind"] == "lattice-enumeration" and cert["certified"] is True and cert["gap"] == 0.0


def _failing_milp(status, message):
    from scipy.optimize import OptimizeResult

    def milp(*args, **kwargs):
        return OptimizeResult(x=None, fun=None, status=status, message=message, success=False, mip_node_count=0,
                              mip_dual_bound=None, mip_gap=None)
    return milp


def test_linf_highs_failure_still_returns_the_lattice_incumbent_with_its_gap(monkeypatch):
    import scipy.optimize

    monkeypatch.setattr(scipy.optimize, "milp", _failing_milp(4, "HiGHS Status 4: numerical trouble"))
    a = pf.fit("sigmoid", degree=15, domain=8, bits=10, method="minimax", input_scale=0.125)
    cert = a.provenance["certificate"]
    assert cert["certified"] is False and 0 < cert["gap"] < 0.2
    assert cert["bound"] <= cert["value"] == pytest.approx(a.metrics["max_abs_error"], rel=1e-9)
    assert a.metrics["max_abs_error"] < a.provenance["naive_rounding_error"]


def test_linf_warning_names_highs_infeasible_not_the_time_limit(monkeypatch):
    import scipy.optimize

    monkeypatch.setattr(scipy.optimize, "milp", _failing_milp(
        2, "The problem is infeasible. (HiGHS Status 8: model_status is Infeasible; primal_status is None)"))
    a = pf.fit("sigmoid", degree=15, domain=8, bits=10, method="minimax", input_scale=0.125)
    warning = " ".join(a.provenance["warnings"])
    assert "infeasible" in warning and "time limit" not in warning


def test_linf_time_limit_warning_says_time_limit(monkeypatch):
    import scipy.optimize

    monkeypatch.setattr(scipy.optimize, "milp", _failing_milp(1, "Time limit reached. (HiGHS Status 13: Time limit reached)"))
    a = pf.fit("sigmoid", degree=15, domain=8, bits=10, method="minimax", input_scale=0.125, time_limit=5)
    assert "time limit" in " ".join(a.provenance["warnings"])


@pytest.mark.slow
def test_linf_degree_63_returns_a_valid_polynomial_with_a_stated_gap():
    a = pf.fit("tanh", degree=63, domain=4, bits=24, method="minimax", input_scale=0.25, time_limit=5)
    cert = a.provenance["certificate"]
    assert all(abs(i) <= 2**53 for i in a.stages[0].quantized.integers)
    assert cert["bound"] is not None and cert["bound"] <= cert["value"]
    assert cert["value"] < 1e-6


def test_gekko_temp_folder_is_removed_on_sigterm(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.Popen([sys.executable, "-m", "polyfit", "fit", "--degree", "8", "--range", "5", "--bits", "12",
                             "--compat", "pillar", "--solver", "gekko", "--json"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert any(tmp_path.iterdir()), "GEKKO never created its folder"
    time.sleep(0.5)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []


def test_linf_time_limit_warning_names_the_total_not_the_last_run(monkeypatch):
    import scipy.optimize

    monkeypatch.setattr(scipy.optimize, "milp", _failing_milp(1, "Time limit reached. (HiGHS Status 13: Time limit reached)"))
    clock = iter(range(0, 10**6, 1000))  # every perf_counter() reading is 1000 s after the last
    monkeypatch.setattr("polyfit.solvers.quantized.linf.time.perf_counter", lambda: float(next(clock)))
    a = pf.fit("sigmoid", degree=15, domain=8, bits=10, method="minimax", input_scale=0.125, time_limit=7)
    assert "time limit 7 s reached" in a.provenance["certificate"]["message"]


def test_cli_time_limit_reaches_the_linf_search(cli, in_tmp):
    code, _, err = cli("fit", "--function", "sigmoid", "--degree", "9", "--range", "8", "--bits", "10",
                       "--input-scale", "auto", "--method", "minimax", "--time-limit", "3", "--out", "s.json")
    assert code == 0, err
    assert pf.load(in_tmp / "s.json").provenance["options"]["time_limit"] == 3


@pytest.mark.parametrize("args, words", [
    (("--time-limit", "3"), "needs --bits"),
    (("--bits", "10", "--time-limit", "3"), "max_nodes"),
    (("--bits", "10", "--method", "minimax", "--time-limit", "0"), "time_limit 0"),
    (("--bits", "10", "--method", "minimax", "--time-limit", "nan"), "time_limit nan"),
])
def test_cli_time_limit_refused_where_it_means_nothing(args, words, cli, in_tmp):
    code, _, err = cli("fit", "--degree", "4", "--range", "5", *args)
    assert code == 2 and words in err and "Traceback" not in err
    assert list(in_tmp.iterdir()) == []
