"""The one Remez engine (polyfit.solvers.remez): refinements, arithmetics, the discrete set."""
import numpy as np
import pytest

from polyfit.errors import InputError
from polyfit.solvers.remez import Arithmetic, RemezProblem, discrete_minimax, remez


def exp_problem(with_slope: bool) -> RemezProblem:
    return RemezProblem(np.exp, ((-1.0, 1.0),), range(6), target_slope=np.exp if with_slope else None)


def test_slope_and_golden_section_refinements_reach_the_same_optimum():
    by_slope = remez(exp_problem(True))
    by_golden = remez(exp_problem(False))
    assert by_slope.converged and by_golden.converged
    assert by_slope.upper_bound == pytest.approx(by_golden.upper_bound, rel=1e-9)
    assert np.allclose(by_slope.coefficients, by_golden.coefficients, rtol=0, atol=1e-12)


def test_mpmath_run_agrees_with_float64_and_keeps_its_digits():
    import mpmath

    def exp_mp(u):
        return np.array([mpmath.exp(v) for v in u], dtype=object) if u.dtype == object else np.exp(u)

    problem = RemezProblem(exp_mp, ((-1.0, 1.0),), range(6), target_slope=exp_mp)
    f64 = remez(problem)
    mp = remez(problem, [float(r) for r in f64.reference], arithmetic=Arithmetic(30), tol=1e-20)
    assert mp.arithmetic == "mpmath-30" and mp.coefficients.dtype == object
    assert mp.upper_bound == pytest.approx(f64.upper_bound, rel=1e-9)
    assert mp.relative_gap < 1e-18                       # beyond what float64 can certify


def test_discrete_minimax_matches_the_linear_program_on_a_grid():
    from scipy.optimize import linprog

    t = np.linspace(-8.0, 8.0, 2001)
    g = t / (1 + np.exp(-t))                              # silu
    matrix = np.polynomial.chebyshev.chebvander(t / 8.0, 10)
    ones = np.ones((t.size, 1))
    lp = linprog(np.r_[np.zeros(11), 1.0], A_ub=np.block([[matrix, -ones], [-matrix, -ones]]), b_ub=np.r_[g, -g],
                 bounds=[(None, None)] * 11 + [(0, None)], method="highs")
    result = discrete_minimax(matrix, g)
    error = np.max(np.abs(matrix @ result.coefficients - g))
    assert result.converged and error == pytest.approx(result.upper_bound, rel=1e-12)
    assert result.lower_bound <= lp.fun * (1 + 1e-9) and error <= lp.fun * (1 + 1e-9)
    assert error == pytest.approx(lp.fun, rel=1e-5)


def test_discrete_minimax_of_an_odd_problem_ignores_the_row_where_everything_vanishes():
    t = np.linspace(0.0, 4.0, 801)                        # t = 0: odd columns and tanh are 0
    matrix = np.polynomial.chebyshev.chebvander(t / 4.0, 7)[:, 1::2]
    result = discrete_minimax(matrix, np.tanh(t))
    rows = result.reference.astype(int)
    assert 0 not in rows and len(rows) == 5
    errors = matrix[rows] @ result.coefficients - np.tanh(t[rows])
    assert np.all(np.sign(errors[1:]) == -np.sign(errors[:-1]))
    assert np.allclose(np.abs(errors), result.upper_bound, rtol=1e-9)


def test_discrete_minimax_needs_more_rows_than_columns():
    with pytest.raises(InputError, match="more rows than columns"):
        discrete_minimax(np.ones((3, 3)), np.zeros(3))
