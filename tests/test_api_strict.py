"""Issue 9 §5 (Python API): clear errors, never a silent coercion."""
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
