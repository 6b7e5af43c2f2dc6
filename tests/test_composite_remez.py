"""Sign stages on the Remez engine (polyfit.solvers.composite.sign): equioscillation on both intervals."""
import numpy as np
import pytest

from polyfit.errors import ComputationError, InputError
from polyfit.basis import chebyshev_extrema
from polyfit.solvers.composite.sign import full_sign_problem, odd_sign_problem, sign_stage
from polyfit.solvers.remez import remez


def local_extrema(x, e):
    """Values of e at its local extrema of |e| on a dense grid (ends included)."""
    idx = [0] + [i for i in range(1, len(x) - 1) if abs(e[i]) >= abs(e[i - 1]) and abs(e[i]) >= abs(e[i + 1])
                 and np.sign(e[i]) == np.sign(e[i - 1]) == np.sign(e[i + 1])] + [len(x) - 1]
    return e[idx]


def alternation(values, level, rtol):
    """Longest run of alternating-sign values with |value| within rtol of level."""
    big = [v for v in values if abs(abs(v) - level) <= rtol * level]
    count, last = 0, 0
    for v in big:
        if np.sign(v) != last:
            count, last = count + 1, np.sign(v)
    return count


def test_odd_sign_stage_equioscillates_on_both_intervals():
    fit = sign_stage(9, 0.1, 1.0)
    n = (9 + 1) // 2
    for lo, hi in ((-1.0, -0.1), (0.1, 1.0)):
        x = np.linspace(lo, hi, 200001)
        e = np.polynomial.polynomial.polyval(x, fit.coefficients) - np.sign(x)
        assert np.max(np.abs(e)) == pytest.approx(fit.error, rel=1e-9)
        assert alternation(local_extrema(x, e), fit.error, 1e-6) == n + 1
    assert (fit.error - fit.levelled_error) / fit.error < 1e-9
    assert all(c == 0.0 for c in fit.coefficients[0::2])          # odd


def test_two_interval_full_basis_alternates_across_the_gap_and_equals_the_odd_optimum():
    degree, lo = 7, 0.2
    problem = full_sign_problem(degree, lo, 1.0)
    half = chebyshev_extrema((lo, 1.0), 5)
    reference = np.concatenate([-half[::-1], half])[:degree + 2]
    result = remez(problem, reference)
    odd = sign_stage(degree, lo, 1.0)
    assert result.max_error == pytest.approx(odd.error, rel=1e-7)
    # reference spans both intervals, signs alternate, including across the gap
    ref, err = result.reference, result.reference_errors
    assert ref.min() < -lo and ref.max() > lo
    assert all(np.sign(err[i]) != np.sign(err[i + 1]) for i in range(len(err) - 1))
    # the even Chebyshev coefficients vanish: the unconstrained optimum is the odd one
    assert np.max(np.abs(result.coefficients[0::2])) < 1e-7
    x = np.linspace(lo, 1.0, 1001)
    full = np.polynomial.chebyshev.chebval(x, result.coefficients)
    assert np.max(np.abs(full - np.polynomial.polynomial.polyval(x, odd.coefficients))) < 1e-7


def test_degree_63_converges_in_float64():
    fit = sign_stage(63, 2.0 ** -10, 1.0, precision="float64")
    assert len(fit.reference) == 33
    assert (fit.error - fit.levelled_error) / fit.error < 1e-8
    assert 0 < fit.error < 1


def test_mpmath_agrees_with_float64_and_takes_over_below_float_resolution():
    f64 = sign_stage(7, 0.3, 1.0, precision="float64")
    mp = sign_stage(7, 0.3, 1.0, precision="mpmath")
    assert mp.arithmetic.startswith("mpmath") and mp.error == pytest.approx(f64.error, rel=1e-9)
    tiny = sign_stage(11, 0.97, 1.0)                                 # error ~1e-16: float64 cannot resolve it
    assert tiny.arithmetic.startswith("mpmath") and 0 < tiny.error < 1e-11
    assert (tiny.error - tiny.levelled_error) / tiny.error < 1e-8


def test_image_of_a_stage_is_the_next_interval():
    fit = sign_stage(7, 2.0 ** -7, 1.0)
    x = np.linspace(2.0 ** -7, 1.0, 100001)
    p = np.polynomial.polynomial.polyval(x, fit.coefficients)
    assert fit.image[0] == pytest.approx(p.min(), rel=1e-9) and fit.image[1] == pytest.approx(p.max(), rel=1e-9)


def test_non_convergence_names_the_degree():
    # One exchange step cannot level a degree-63 error: non-convergence is provoked by the
    # iteration cap, not by whichever numpy/scipy release happens to be installed.
    with pytest.raises(ComputationError, match="degree 63"):
        sign_stage(63, 0.99, 1.0, precision="float64", max_iterations=1)


@pytest.mark.parametrize("degree", [0, 4, -3, 2.0, True])
def test_bad_degree_is_input_error(degree):
    with pytest.raises(InputError):
        sign_stage(degree, 0.1, 1.0)


def test_odd_problem_columns_and_fast_path_agree():
    problem = odd_sign_problem(9, 0.1, 1.0)
    c = np.array([1.0, -0.3, 0.2, 0.05, -0.01])
    x = np.linspace(0.1, 1.0, 7)
    phi, dphi = problem.columns(x)
    e, de = problem.evaluate(c, x)
    assert np.allclose(phi @ c - 1, e) and np.allclose(dphi @ c, de)
