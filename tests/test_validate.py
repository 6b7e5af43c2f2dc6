"""One validate module: the API, the CLI and the file readers agree on what a value is (issue 10)."""
import numpy as np
import pytest

import polyfit as pf
from polyfit import jsonio
from polyfit.cli import build_parser
from polyfit.errors import ArtifactError, InputError
from polyfit.validate import check_bits, check_degrees, check_integer, integer_list, parse_degrees


def test_a_whole_float_is_not_a_degree_for_the_api_as_for_files():
    with pytest.raises(InputError, match=r"degree 4\.0 must be an integer from 0 to 1000"):
        pf.fit("relu", 4.0, 5)
    with pytest.raises(ArtifactError, match="must be an integer"):
        jsonio.integer(0, 1000)(4.0, "stages[0].degree")


def test_a_whole_float_is_not_an_integer_for_any_option():
    for call in (lambda: pf.fit("relu", 4, 5, bits=10.0), lambda: pf.fit("relu", 4, 5, points=100.0),
                 lambda: pf.composite(degrees=[7.0]), lambda: pf.composite(alpha=5, max_depth=8.0)):
        with pytest.raises(InputError):
            call()


def test_the_cli_refuses_a_whole_float_degree_like_the_api(cli, in_tmp):
    code, _, err = cli("fit", "--degree", "4.0", "--range", "5")
    assert code == 2 and "invalid integer '4.0'" in err


def test_numpy_integers_are_integers():
    assert pf.fit("relu", np.int64(4), 5, bits=np.int32(10)).stages[0].quantized.frac_bits == 10
    assert check_integer(np.uint8(3), "x", 0, 5) == 3 and check_bits(np.int16(8)) == 8


def test_composite_degree_text_is_parsed_once_by_the_library_check():
    args = build_parser().parse_args(["composite", "--degrees", "7,7,13"])
    assert args.degrees == check_degrees("7,7,13") == check_degrees([7, 7, 13]) == (7, 7, 13)


def test_a_bad_composite_degree_list_gets_the_library_message(cli, in_tmp):
    code, _, err = cli("composite", "--degrees", "7,x")
    assert code == 2 and "degrees '7,x' must be odd positive integers" in err and len(err.strip().splitlines()) == 1


def test_integer_lists_read_the_same_text_everywhere():
    assert integer_list("8,10,12", "--bits") == integer_list([8, 10, 12], "--bits") == (8, 10, 12)
    assert parse_degrees("15,3,7") == (3, 7, 15) and parse_degrees("2-4") == (2, 3, 4)
    with pytest.raises(InputError, match="--bits '8,x' must be a comma-separated list of integers"):
        integer_list("8,x", "--bits")


def test_search_max_depth_is_an_integer_like_the_composites():
    pytest.importorskip("botorch")
    with pytest.raises(InputError, match=r"max depth 3\.0 must be an integer"):
        pf.search("relu", degrees="2-3", max_depth=3.0, budget=4, progress=False)
