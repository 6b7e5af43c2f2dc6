"""Issue 9 §5 (Python API): clear errors, never a silent coercion."""
import numpy as np
import pytest

import polyfit as pf


def test_unknown_keyword_is_a_type_error_naming_the_close_match():
    # was: silently an unquantized fit
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'bit' \(did you mean 'bits'\?\)"):
        pf.fit("relu", 4, 5, bit=10)


@pytest.mark.parametrize("kwargs, where", [({"method": "minimax", "tolerance": 1e-9}, "minimax"),
                                           ({"bits": 8, "node_limit": 5}, "quantized")])
def test_unknown_solver_option_is_a_type_error_listing_the_allowed(kwargs, where):
    with pytest.raises(TypeError, match=f"unknown {where}.* option; allowed: "):
        pf.fit("tanh", 4, 2, **kwargs)


@pytest.mark.parametrize("call, fragment", [
    (lambda: pf.fit("relu", 4, 5, bits="10"), "bits '10' is out of range"),          # was accepted
    (lambda: pf.fit("relu", "4", 5), "degree '4' must be an integer"),
    (lambda: pf.fit("relu", 4, ("-5", "5")), "must be a number A > 0 or a pair"),    # was accepted
    (lambda: pf.fit("relu", 4, 5, points="100"), "points '100' must be an integer"),  # was accepted
    (lambda: pf.fit("relu", 4, 5, input_scale="0.2"), "input_scale '0.2' is not allowed"),
    (lambda: pf.fit("relu", 4, 5, exclude=("-1", "1")), "exclude"),                  # was accepted
    (lambda: pf.fit("relu", 4, 5, samples=["1.5"] * 10), "samples must be real numbers"),
    (lambda: pf.taylor("relu", 4, center="0"), "center '0' must be a number"),        # was accepted
])
def test_strings_are_not_numbers(call, fragment):
    with pytest.raises(pf.InputError, match=fragment.replace("(", r"\(")):
        call()


@pytest.mark.parametrize("func, fragment", [
    (lambda x: 1.0, "it returned shape ()"),
    (lambda x: x[:-1], "it returned shape (11000,)"),
    (lambda x: x + 1j, "it returned complex values"),
    (lambda x: np.log(x), "it returned nan at x = -5"),
    (lambda x: 1 / 0, "calling it raised ZeroDivisionError"),
    (lambda x: [str(v) for v in x], "of dtype <U"),
])
def test_a_callable_target_output_is_checked_once(func, fragment):
    with pytest.raises(pf.InputError, match="must return one real, finite number per input") as info:
        pf.fit(func, 4, 5)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_a_good_callable_still_fits():
    assert pf.fit(np.tanh, 5, 2).metrics["max_abs_error"] < 0.03


@pytest.mark.parametrize("argv, fragment", [
    (["fit", "--degree", "4", "--range", "5", "--points", "10000000"], "points 10000000 must be an integer from 5 to 1000000"),
    (["fit", "--degree", "1000", "--range", "5", "--points", "1000000"], "from 1001 to 49950 at degree 1000"),
    (["taylor", "--degree", "1000"], "taylor degree 1000 is out of range; allowed: 0 to 400"),
    (["verify", "h.json", "--backend", "fixed-point", "--samples", "100000"], "samples 100000 must be an integer from 2 to 16384"),
])
def test_sizes_are_bounded_with_a_one_line_error(cli, in_tmp, argv, fragment):
    pf.fit("relu", 4, 5, bits=10).save("h.json")
    code, out, err = cli(*argv)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fragment in err


def test_taylor_at_its_largest_degree_is_fast():
    import time

    start = time.perf_counter()
    a = pf.taylor("tanh", 400)          # sympy.series took minutes at a fraction of this degree
    assert time.perf_counter() - start < 60
    assert a.stages[0].degree == 400 and a.provenance["series_coefficients"][3] == "-1/3"


def test_taylor_recurrences_match_the_published_series_about_a_center():
    a = pf.taylor("sigmoid", 6, center=0.5, domain=(0, 1))
    x = np.linspace(0, 1, 5)
    assert np.max(np.abs(a(x) - 1 / (1 + np.exp(-x)))) < 1e-5
    assert a.provenance["certificate"]["kind"] == "heuristic" and not a.provenance["certificate"]["certified"]
