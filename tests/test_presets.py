"""Published composite presets evaluate to the published polynomials and errors."""
import math
from fractions import Fraction
from math import comb

import numpy as np
import pytest

import polyfit as pf
from polyfit.errors import InputError
from polyfit.presets import get_preset, preset_names


def composite_sign(preset, x):
    y = x
    for c in preset.monomial_stages():
        y = np.polynomial.polynomial.polyval(y, c)
    return y


def test_cheon_f_matches_the_closed_form_and_the_table():
    assert get_preset("f1").stages[0] == (1.5, -0.5)
    assert get_preset("f2").stages[0] == (15 / 8, -10 / 8, 3 / 8)
    assert get_preset("f4").stages[0] == tuple(c / 128 for c in (315, -420, 378, -180, 35))
    x = np.linspace(-1, 1, 101)
    for n in range(1, 5):
        closed = sum(Fraction(comb(2 * i, i), 4 ** i) * 1.0 * x * (1 - x ** 2) ** i for i in range(n + 1))
        assert np.allclose(composite_sign(get_preset(f"f{n}"), x), closed, atol=1e-14)


def test_cheon_g_coefficients_are_the_published_integers_over_1024():
    assert get_preset("g1").stages[0] == (2126 / 1024, -1359 / 1024)
    assert get_preset("g4").stages[0] == tuple(c / 1024 for c in (5850, -34974, 97015, -113492, 46623))


@pytest.mark.parametrize("form,expected", [("2f12g1", ("g1", "g1", "f1", "f1")), ("f2g3", ("g3", "f2"))])
def test_smartpaf_forms_in_both_orders(form, expected):
    assert get_preset(form).stage_names == expected
    assert get_preset(f"{form}-smartpaf").stage_names == tuple(reversed(expected))


def test_2f12g1_sign_error_g_first_vs_smartpaf_order():
    x = np.concatenate([np.linspace(-1, -0.25, 20001), np.linspace(0.25, 1, 20001)])
    usual = np.max(np.abs(composite_sign(get_preset("2f12g1"), x) - np.sign(x)))
    smartpaf = np.max(np.abs(composite_sign(get_preset("2f12g1-smartpaf"), x) - np.sign(x)))
    assert round(usual, 3) == 0.011 and round(smartpaf, 3) == 0.250
    a = pf.composite(preset="2f12g1")           # the same numbers through the API
    assert a.metrics["exclude"] == [-0.25, 0.25] and round(a.metrics["max_abs_error"], 3) == 0.011


@pytest.mark.parametrize("name,log2_error,depth", [("lee-a7", -7.04, 7), ("lee-a10", -10.11, 11)])
def test_lee_presets_relu_error(name, log2_error, depth):
    a = pf.composite(preset=name, function="relu")
    assert round(math.log2(a.provenance["relu_error"]), 2) == log2_error
    assert a.depth["ckks_levels"] == depth
    assert [s.degree for s in a.stages] == get_preset(name).degrees


def test_preset_stage_table_follows_the_images():
    a = pf.composite(preset="f2g3")
    rows = a.provenance["stages"]
    assert rows[0]["name"] == "g3" and rows[1]["interval"] == rows[0]["image"]


def test_preset_certificate_is_published_not_certified():
    a = pf.composite(preset="f2g3")
    assert a.provenance["certificate"]["kind"] == "published" and a.provenance["certificate"]["certified"] is False
    assert a.provenance["certificate"]["value"] == a.provenance["sign_error"]
    assert all(row["certificate"]["kind"] == "published" for row in a.provenance["stages"])


def test_unknown_preset_lists_the_names():
    with pytest.raises(InputError, match="lee-a10"):
        get_preset("f5")
    assert len(preset_names()) == len(set(preset_names())) == 18
