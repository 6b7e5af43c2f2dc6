"""Published composite sign approximations, by name (stage 0 is applied first).

Every preset is an odd composite s = p_k ∘ … ∘ p_1 approximating sign on [−1, 1]
(the coefficients below are published numbers; see docs/composite.md for the sources):

- Cheon, Kim, Kim (eprint 2019/1234): ``f1`` … ``f4`` with
  f_n(x) = Σ_{i=0..n} 4^(−i)·C(2i, i)·x·(1 − x²)^i, and ``g1`` … ``g4`` (coefficients /1024).
- SmartPAF / ReLU-FHE forms (Table 2 of that paper) f1∘g2, f2∘g2, f2∘g3, f1²∘g1²:
  ``f1g2``, ``f2g2``, ``f2g3``, ``2f12g1`` follow the usual reading of f∘g: the g stages are
  applied FIRST (stage 0 = g), then f. ``f1g2-smartpaf`` … ``2f12g1-smartpaf`` apply the f
  stages first, as SmartPAF's code does; untrained, that order is far less accurate.
- Lee, Lee, No, Kim composite minimax for ReLU (``lee-a7`` degrees [7, 7] and ``lee-a10``
  degrees [7, 7, 13]); their ReLU error on [−1, 1] is 2^−7.04 and 2^−10.11.

``nominal_epsilon`` is the half-width of the excluded gap used for the metrics when the
caller gives none: 2^−α for Lee et al.'s sets, 0.25 (SmartPAF's comparison) otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from math import comb

from .errors import InputError


@dataclass(frozen=True)
class Preset:
    """A named composite: odd coefficients (of x, x³, x⁵, …) per stage, stage 0 first."""

    name: str
    stages: tuple          # tuple of tuples of odd coefficients
    stage_names: tuple     # e.g. ("g2", "f1")
    source: str
    nominal_epsilon: float

    def monomial_stages(self) -> list[list[float]]:
        """Full monomial coefficient lists (zeros at even powers), lowest degree first."""
        out = []
        for odd in self.stages:
            coefficients = [0.0] * (2 * len(odd))
            for i, c in enumerate(odd):
                coefficients[2 * i + 1] = float(c)
            out.append(coefficients)
        return out

    @property
    def degrees(self) -> list[int]:
        return [2 * len(odd) - 1 for odd in self.stages]


def cheon_f(n: int) -> tuple:
    """Odd coefficients of f_n(x) = Σ_{i≤n} 4^(−i) C(2i, i) x (1 − x²)^i, exactly."""
    coefficients = [Fraction(0)] * (n + 1)
    for i in range(n + 1):
        weight = Fraction(comb(2 * i, i), 4 ** i)
        for j in range(i + 1):  # (1 − x²)^i = Σ_j C(i, j) (−x²)^j
            coefficients[j] += weight * comb(i, j) * (-1) ** j
    return tuple(float(c) for c in coefficients)


_G = {
    1: (2126, -1359),
    2: (3334, -6108, 3796),
    3: (4589, -16577, 25614, -12860),
    4: (5850, -34974, 97015, -113492, 46623),
}

_LEE_A7 = (
    (7.3044516495825141119, -34.682587110865950932, 59.859651829882618102, -31.875522590646616717),
    (2.4008565221759781728, -2.631254542617839592, 1.5491267477359321766, -0.33117295650430441081),
)
_LEE_A10 = (
    (10.854184257744249796, -62.28339252110988471, 114.36922782044335657, -62.80234969730743326),
    (4.1397617098511193064, -5.8499764021167980684, 2.9437625565928026676, -0.45453043746015205795),
    (3.2995673904373325138, -7.8422726029135582971, 12.890776411556469438, -12.491711258448624139,
     6.9416799142807483492, -2.0429806739994296629, 0.24640713892603125782),
)

CHEON = "Cheon, Kim, Kim, eprint 2019/1234"
SMARTPAF = "SmartPAF / ReLU-FHE, Table 2 (forms of Cheon et al.'s f and g)"
LEE = "Lee, Lee, No, Kim, eprint 2020/834 (as published with 'Precise approximation of CNNs for HE data')"

# SmartPAF forms: stage names in the usual f∘g reading (g first); the -smartpaf variants reverse them.
_FORMS = {
    "f1g2": ("g2", "f1"),
    "f2g2": ("g2", "f2"),
    "f2g3": ("g3", "f2"),
    "2f12g1": ("g1", "g1", "f1", "f1"),
}


def _basic(name: str) -> tuple:
    if name[0] == "f":
        return cheon_f(int(name[1:]))
    return tuple(c / 1024 for c in _G[int(name[1:])])


def preset_names() -> list[str]:
    names = [f"f{n}" for n in range(1, 5)] + [f"g{n}" for n in range(1, 5)]
    for form in _FORMS:
        names += [form, f"{form}-smartpaf"]
    return names + ["lee-a7", "lee-a10"]


def get_preset(name: str) -> Preset:
    """The preset called ``name`` (see :func:`preset_names`).

    >>> get_preset("f1g2").stage_names
    ('g2', 'f1')
    >>> get_preset("f1g2-smartpaf").stage_names
    ('f1', 'g2')
    """
    key = str(name).strip().lower()
    if key in ("lee-a7", "lee-a10"):
        alpha = 7 if key == "lee-a7" else 10
        stages = _LEE_A7 if alpha == 7 else _LEE_A10
        return Preset(key, stages, tuple(f"p{i + 1}" for i in range(len(stages))), LEE, 2.0 ** -alpha)
    if key[:1] in ("f", "g") and key[1:] in ("1", "2", "3", "4"):
        return Preset(key, (_basic(key),), (key,), CHEON, 0.25)
    form, _, order = key.partition("-")
    if form in _FORMS and order in ("", "smartpaf"):
        names = _FORMS[form] if not order else tuple(reversed(_FORMS[form]))
        return Preset(key, tuple(_basic(n) for n in names), names, SMARTPAF, 0.25)
    raise InputError(f"unknown preset {name!r}; allowed: {', '.join(preset_names())}")
