"""Depth reports: own plan, backend formulas, MPC rounds."""
import pytest

import polyfit as pf
from polyfit.depth import lattigo_levels, mpc_rounds, openfhe_levels, optimal_levels, tenseal_levels


def test_optimal_levels_is_ceil_log2_of_degree_plus_one():
    assert [optimal_levels(d) for d in (0, 1, 2, 3, 4, 7, 8, 15, 16, 31, 32)] == [0, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6]


def test_lattigo_is_bit_length_of_degree():
    assert all(lattigo_levels(d) == optimal_levels(d) for d in range(0, 200))


@pytest.mark.parametrize("degree, general, unit", [(1, 2, 1), (2, 3, 2), (3, 4, 3), (5, 4, 3), (6, 5, 4), (13, 5, 4),
                                                    (14, 6, 5), (27, 6, 5), (28, 7, 6), (59, 7, 6), (60, 8, 7),
                                                    (1007, 11, 10), (2031, 12, 11)])
def test_openfhe_follows_the_function_evaluation_table(degree, general, unit):
    assert openfhe_levels(degree) == general
    assert openfhe_levels(degree, unit_interval=True) == unit


def test_tenseal_polyval_is_depth_optimal():
    # measured with TenSEAL 0.3.18 (bench/bench_verify.py re-measures it)
    assert [tenseal_levels(d) for d in (1, 2, 3, 4, 7, 8, 15, 16)] == [1, 2, 2, 3, 3, 4, 4, 5]


def test_mpc_rounds():
    two = {k: v for k, v in mpc_rounds([4], "none").items() if k in ("horner", "power_tree", "single_round")}
    assert two == {"horner": 3, "power_tree": 2, "single_round": 1}
    r = mpc_rounds([7, 7], "relu")
    assert (r["horner"], r["power_tree"], r["single_round"]) == (13, 7, 3)


def test_mpc_rounds_state_two_parties_and_report_three():
    r = mpc_rounds([4], "none")
    assert r["parties"] == 2
    # CrypTen, 3 parties: every truncation adds 2 rounds (headline: 8 for the power tree, 11 for Horner)
    assert r["three_party"] == {"horner": 11, "power_tree": 8, "single_round": 3}


def test_depth_report_of_the_headline_fit():
    a = pf.fit("relu", degree=4, domain=5, bits=10)
    d = a.depth
    assert d["ckks_levels"] == 3 and d["degrees"] == [4]
    assert d["backends"] == {"lattigo": 3, "openfhe": 3, "tenseal": 3}
    assert d["ct_ct_multiplications"] <= 3


def test_openfhe_spends_no_level_on_the_change_of_variable_on_any_domain():
    # polyfit's OpenFHE schedule folds the map onto [-1, 1] into the encoding (backends/openfhe.py)
    a = pf.fit("tanh", degree=7, domain=1)
    b = pf.fit("tanh", degree=7, domain=2)
    assert a.depth["backends"]["openfhe"] == b.depth["backends"]["openfhe"] == openfhe_levels(7, unit_interval=True)
