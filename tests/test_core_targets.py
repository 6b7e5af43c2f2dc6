import numpy as np
import pytest

import polyfit as pf
from polyfit.targets import NAMED, parse_expr

X = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])


@pytest.mark.parametrize("name,reference", [
    ("relu", lambda x: np.maximum(x, 0)), ("sign", np.sign), ("abs", np.abs),
    ("step", lambda x: np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5))),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x))), ("tanh", np.tanh),
    ("gelu", lambda x: 0.5 * x * (1 + np.vectorize(__import__("math").erf)(x / np.sqrt(2)))),
    ("silu", lambda x: x / (1 + np.exp(-x))), ("softplus", lambda x: np.log1p(np.exp(x))), ("exp", np.exp)])
def test_named_targets_evaluate(name, reference):
    np.testing.assert_allclose(pf.get_target(name)(X), reference(X), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_target_expressions_agree_with_numpy(name):
    target = NAMED[name]
    parsed = parse_expr(target.expr)
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(parsed(x), target(x), rtol=1e-12, atol=1e-14)


def test_sigmoid_does_not_overflow():
    with np.errstate(over="raise", invalid="raise"):
        assert pf.get_target("sigmoid")(np.array([-800.0, 800.0])).tolist() == [0.0, 1.0]


def test_expression_is_parsed_and_finds_kinks():
    t = pf.expr("x*tanh(x) + Abs(x - 1)")
    np.testing.assert_allclose(t(X), X * np.tanh(X) + np.abs(X - 1))
    assert t.breakpoints == (1.0,)


@pytest.mark.parametrize("text", ["x +* 2", "", "__import__('os').system('true')", "y + x", "lambda: 1"])
def test_bad_expressions_are_refused_without_eval(text):
    with pytest.raises(pf.InputError):
        parse_expr(text)


def test_unknown_function_names_the_allowed_ones():
    with pytest.raises(pf.InputError, match="unknown function 'swish'.*relu"):
        pf.get_target("swish")


def test_callable_target():
    approx = pf.fit(np.cos, 6, 2)
    assert approx.target.name == "cos" and approx.target.expr is None
    assert approx.metrics["max_abs_error"] < 1e-3


@pytest.mark.parametrize("name", sorted(NAMED))
def test_named_targets_pickle(name):
    import pickle

    target = pickle.loads(pickle.dumps(NAMED[name]))
    np.testing.assert_array_equal(target(X), NAMED[name](X))
