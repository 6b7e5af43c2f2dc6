"""Minimax (Remez) fits: published optima, equioscillation, de la Vallée Poussin bounds, parity."""
import json

import numpy as np
import pytest

import polyfit as pf
from polyfit.errors import ComputationError, InputError

# Sollya's minimax errors of ReLU on [-1, 1] (issue 2, "Speed and quality").
SOLLYA_RELU = {4: 3.381e-2, 8: 1.7345e-2, 16: 8.734e-3, 32: 4.375e-3}


def minimax(target, degree, domain, **kwargs):
    kwargs.setdefault("basis", "chebyshev")  # exact evaluation at degree 32 (monomial loses digits)
    return pf.fit(target, degree, domain, method="minimax", **kwargs)


def errors_at(approx, x):
    """e = p − f evaluated independently of the solver, through the artifact itself."""
    x = np.asarray(x, dtype=float)
    return approx(x) - approx.target(x)


@pytest.mark.parametrize("degree", sorted(SOLLYA_RELU))
def test_relu_error_matches_sollya_within_a_tenth_of_a_percent(degree):
    approx = minimax("relu", degree, 1)
    prov = approx.provenance
    assert prov["converged"] is True
    assert abs(prov["upper_bound"] / SOLLYA_RELU[degree] - 1) < 1e-3
    # The artifact's own metric (uniform grid, independent of the solver) agrees too.
    assert abs(approx.metrics["max_abs_error"] / SOLLYA_RELU[degree] - 1) < 1e-3


def test_relu_degree_32_solves_well_under_half_a_second():
    # The budget is 0.5 s per degree; the exchange takes ≈ 0.03 s here (shared machine).
    approx = minimax("relu", 32, 1)
    assert approx.provenance["elapsed_s"] < 0.5
    assert approx.provenance["iterations"] <= 8


@pytest.mark.parametrize("target,degree,domain", [("relu", 16, 1), ("tanh", 15, 8), ("gelu", 12, 8),
                                                  ("relu", 8, (-1.0, 2.0)), ("softplus", 9, 6)])
def test_error_equioscillates_at_d_plus_2_points(target, degree, domain):
    approx = minimax(target, degree, domain)
    prov = approx.provenance
    x = np.array(prov["equioscillation_x"])
    e = errors_at(approx, x)
    assert x.size >= degree + 2 and np.all(np.diff(x) > 0)
    assert np.all(np.sign(e[1:]) == -np.sign(e[:-1])), "signs must alternate"
    level = prov["upper_bound"]
    assert np.allclose(np.abs(e), level, rtol=1e-7, atol=0)
    # The reduced reference is alternating as well, with the recorded errors.
    ref = np.array(prov["reference_x"])
    ref_e = errors_at(approx, ref)
    assert np.allclose(ref_e, prov["reference_errors"], rtol=1e-7, atol=1e-15)
    assert np.all(np.sign(ref_e[1:]) == -np.sign(ref_e[:-1]))


@pytest.mark.parametrize("target,degree", [("relu", 32), ("sigmoid", 32), ("tanh", 20)])
def test_de_la_vallee_poussin_gap_is_small_and_brackets_the_measured_error(target, degree):
    approx = minimax(target, degree, 1 if target == "relu" else 8)
    prov = approx.provenance
    assert prov["relative_gap"] < 1e-8
    assert prov["lower_bound"] <= prov["upper_bound"]
    # min |e| on an alternating set, recomputed here, is a lower bound on every polynomial's error;
    # the measured error of this polynomial cannot be below it nor above the certified upper bound.
    lower = np.min(np.abs(errors_at(approx, prov["reference_x"])))
    assert lower <= approx.metrics["max_abs_error"] <= prov["upper_bound"] * (1 + 1e-12)
    fine = np.linspace(*approx.domain, 200_001)
    assert np.max(np.abs(errors_at(approx, fine))) <= prov["upper_bound"] * (1 + 1e-9)


def test_matches_the_discrete_linf_optimum_of_a_linear_program():
    """Independent check: the L∞ LP on a fine grid bounds the continuous optimum from below."""
    from scipy.optimize import linprog

    degree, x = 6, np.linspace(-2.0, 3.0, 4001)
    f = np.maximum(x, 0.0) * np.tanh(x)
    vander = np.polynomial.chebyshev.chebvander((2 * x - 1.0) / 5.0, degree)
    # variables (c_0..c_d, E): minimise E subject to ±(V c − f) ≤ E
    ones = np.ones((x.size, 1))
    a_ub = np.block([[vander, -ones], [-vander, -ones]])
    b_ub = np.concatenate([f, -f])
    cost = np.zeros(degree + 2)
    cost[-1] = 1.0
    lp = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * (degree + 2), method="highs")
    assert lp.status == 0
    approx = minimax(pf.expr("Max(0, x)*tanh(x)"), degree, (-2.0, 3.0))
    assert lp.fun <= approx.provenance["upper_bound"] * (1 + 1e-9)
    assert approx.provenance["upper_bound"] <= lp.fun * (1 + 1e-4)


def test_odd_target_has_zero_even_coefficients():
    approx = minimax("tanh", 15, 8, basis="monomial")
    coef = np.array(approx.coefficients)
    assert np.all(coef[0::2] == 0.0) and np.all(coef[1::2] != 0.0)
    assert approx.provenance["reduction"]["kind"] == "odd"
    assert approx.provenance["reduction"]["unknowns"] == 8  # T_1, T_3, ..., T_15


def test_sigmoid_minus_one_half_is_odd():
    approx = minimax("sigmoid", 9, 8)
    coef = np.array(approx.coefficients)  # Chebyshev over [-8, 8]
    assert coef[0] == pytest.approx(0.5, abs=1e-15)
    assert np.all(coef[2::2] == 0.0)


def test_even_target_uses_half_the_unknowns():
    approx = minimax("abs", 16, 1)
    coef = np.array(approx.coefficients)
    assert np.all(coef[1::2] == 0.0)
    reduction = approx.provenance["reduction"]
    assert reduction["kind"] == "even" and reduction["unknowns"] == 16 // 2 + 1
    assert len(approx.provenance["reference_x"]) == 16 // 2 + 2  # reduced reference, u in [0, 1]


def test_parity_guess_that_fails_on_the_whole_domain_is_dropped():
    """Odd at the 257 probe points but not in between: the full-domain check catches it."""
    def bumpy(x):
        return np.tanh(x) + 0.05 * np.maximum(0.0, 1.0 - np.abs(x / 8 - 0.5031) / 0.0025)

    approx = minimax(bumpy, 9, 8)
    prov = approx.provenance
    assert prov["reduction"]["kind"] == "none"
    assert any("did not hold" in w for w in prov["warnings"])
    assert prov["upper_bound"] == pytest.approx(minimax(bumpy, 9, 8, parity=False).provenance["upper_bound"], rel=1e-9)
    assert approx.metrics["max_abs_error"] <= prov["upper_bound"] * (1 + 1e-12)


def test_relu_is_x_over_2_plus_half_the_abs_minimax():
    """relu = x/2 + |x|/2 and x/2 is in the space, so the optima differ by exactly x/2."""
    a_range = 3.0
    relu = minimax("relu", 12, a_range)
    absolute = minimax("abs", 12, a_range)
    expected = np.array(absolute.coefficients) / 2.0
    expected[1] += a_range / 2.0  # x/2 = (A/2)·T_1(x/A)
    assert np.allclose(relu.coefficients, expected, rtol=0, atol=1e-13)
    assert relu.provenance["upper_bound"] == pytest.approx(absolute.provenance["upper_bound"] / 2, rel=1e-12)


def test_parity_reduction_agrees_with_the_full_exchange():
    reduced = minimax("relu", 10, 1)
    full = minimax("relu", 10, 1, parity=False)
    assert full.provenance["reduction"]["kind"] == "none"
    assert full.provenance["upper_bound"] == pytest.approx(reduced.provenance["upper_bound"], rel=1e-8)
    assert np.allclose(full.coefficients, reduced.coefficients, atol=1e-8)


@pytest.mark.parametrize("target", ["sigmoid", "gelu", "tanh"])
def test_smooth_targets_error_falls_with_degree_to_32(target):
    bounds = []
    for degree in (4, 8, 16, 32):
        prov = minimax(target, degree, 8).provenance
        assert prov["converged"] is True
        bounds.append(prov["upper_bound"])
    assert all(b > a for a, b in zip(bounds[1:], bounds[:-1]))
    assert bounds[-1] < 1e-2 * bounds[0]


def test_kink_off_centre_is_in_the_reference():
    """ReLU on [-1, 2]: no parity; the error's extremum sits on the kink at x = 0."""
    approx = minimax("relu", 8, (-1.0, 2.0))
    assert approx.provenance["reduction"]["kind"] == "none"
    assert np.min(np.abs(approx.provenance["reference_x"])) < 1e-12


def test_input_scale_fits_in_the_scaled_variable():
    plain = minimax("relu", 10, 1)
    scaled = minimax("relu", 10, 5, input_scale=0.2)
    flipped = minimax("relu", 10, 5, input_scale=-0.2)
    for other in (scaled, flipped):
        assert other.provenance["upper_bound"] == pytest.approx(5 * plain.provenance["upper_bound"], rel=1e-9)
    x = np.linspace(-5, 5, 101)
    assert np.allclose(scaled(x), 5 * plain(x / 5), atol=1e-12)
    assert np.allclose(flipped(x), scaled(x), atol=1e-12)


def test_exclude_fits_the_two_pieces_of_a_continuous_target():
    approx = minimax("tanh", 9, 4, exclude=(-0.5, 1.0))
    prov = approx.provenance
    x = np.array(prov["reference_x"])
    assert not np.any((x > -0.5) & (x < 1.0))
    e = errors_at(approx, x)
    assert np.all(np.sign(e[1:]) == -np.sign(e[:-1]))
    assert approx.metrics["exclude"] == [-0.5, 1.0]
    assert approx.objective["exclude"] == [-0.5, 1.0]
    assert approx.metrics["max_abs_error"] <= prov["upper_bound"] * (1 + 1e-12)


def test_error_at_rounding_level_is_accepted_with_a_warning():
    approx = minimax("exp", 30, 1)
    assert approx.provenance["rounding_limited"] is True
    assert approx.metrics["max_abs_error"] < 1e-13
    assert any("rounding" in w for w in approx.provenance["warnings"])


def test_artifact_records_objective_and_certificate():
    approx = minimax("relu", 6, 2, basis="monomial")
    assert approx.objective["norm"] == "linf" and approx.objective["grid"]["kind"] == "continuous"
    data = json.loads(approx.to_json())
    prov = data["provenance"]
    for key in ("solver", "backend", "options", "elapsed_s", "reference_x", "equioscillation_x", "levelled_error",
                "lower_bound", "upper_bound", "relative_gap", "iterations", "converged"):
        assert key in prov
    assert prov["solver"] == "minimax" and prov["equioscillation_count"] >= 8
    assert prov["levelled_error"] == pytest.approx(prov["upper_bound"], rel=1e-6)


@pytest.mark.parametrize("target", ["sign", "step", "Heaviside(x - 0.25)"])
def test_discontinuous_targets_are_refused_pointing_to_composite(target):
    spec = pf.expr(target) if "(" in target else target
    with pytest.raises(InputError, match="composite"):
        minimax(spec, 8, 1)


def test_sign_with_exclude_is_left_to_the_composite_helper():
    with pytest.raises(InputError, match=r"composite.*continuous targets only"):
        minimax("sign", 8, 1, exclude=(-0.1, 0.1))


@pytest.mark.parametrize("kwargs,match", [({"points": 100}, "points and grid"), ({"grid": "chebyshev"}, "points and grid"),
                                          ({"frobnicate": 1}, "unknown minimax option"), ({"tol": 0}, "tol"),
                                          ({"max_iterations": 0}, "max_iterations")])
def test_bad_options_are_input_errors(kwargs, match):
    with pytest.raises(InputError, match=match):
        minimax("relu", 8, 1, **kwargs)


def test_no_convergence_raises_computation_error_naming_target_and_degree():
    with pytest.raises(ComputationError, match=r"'relu' at degree 16.*did not converge"):
        minimax("relu", 16, 1, max_iterations=1)


def test_cli_fit_minimax_json(cli, in_tmp):
    code, out, err = cli("fit", "--method", "minimax", "--degree", "8", "--range", "1", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["provenance"]["solver"] == "minimax"
    assert data["objective"]["norm"] == "linf"
    assert abs(data["metrics"]["max_abs_error"] / SOLLYA_RELU[8] - 1) < 1e-3
    coef = data["stages"][0]["coefficients"]
    assert data["stages"][0]["basis"] == "monomial" and len(coef) == 9
    assert all(c == 0.0 for c in coef[3::2]) and coef[1] == pytest.approx(0.5, abs=1e-14)


def test_cli_sign_minimax_is_a_one_line_input_error(cli, in_tmp):
    code, out, err = cli("fit", "--function", "sign", "--method", "minimax", "--degree", "8", "--range", "1")
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "composite" in err


def test_sign_away_from_its_jump_is_a_continuous_target():
    a = minimax("sign", 4, (0.5, 2.0))
    assert a.metrics["max_abs_error"] < 1e-12


def test_provenance_holds_the_common_remez_certificate():
    from polyfit.certificate import Certificate

    prov = minimax("relu", 16, 1).provenance
    cert = Certificate.from_dict(prov["certificate"])
    assert cert.kind == "remez" and cert.certified is True
    assert (cert.value, cert.bound) == (prov["upper_bound"], prov["lower_bound"])
    assert cert.gap == pytest.approx(prov["relative_gap"], rel=1e-9, abs=1e-15)


def test_rounding_limited_fit_is_not_certified_and_says_why():
    cert = minimax("exp", 30, 1).provenance["certificate"]
    assert cert["certified"] is False and "rounding" in cert["message"]
