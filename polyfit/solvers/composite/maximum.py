"""max(a, b) from a composite sign."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import InputError


@dataclass(frozen=True)
class MaxApproximation:
    """max(a, b) ≈ ((a + b) + (a − b)·s(a − b))/2 with s the composite sign of ``sign``.

    Valid for |a − b| ≤ B (the sign composite's range), e.g. |a|, |b| ≤ B/2. Its error is
    |a − b|·|s − sign|/2, i.e. the ReLU error of the same composite at a − b, so a composite
    built with function="relu" (or "abs") is the natural input.
    """

    sign: object

    def __call__(self, a, b):
        """max(a, b) elementwise; InputError when some |a − b| exceeds the sign composite's range
        B (a composite diverges outside [−B, B]: max(2, −2) with B = 1 read 3.5e17)."""
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        d = a - b
        worst = float(np.max(np.abs(d))) if d.size else 0.0
        if not worst <= self.difference_bound * (1 + 1e-12):
            raise InputError(f"max(a, b) holds for |a - b| <= {self.difference_bound:g} (the sign composite's "
                             f"range); got |a - b| = {worst:g}: build the composite with a larger domain")
        s = self.sign.stage_outputs(d)[-1]  # the composite sign of a − b, without its combine
        return ((a + b) + d * s) / 2

    @property
    def difference_bound(self) -> float:
        return float(self.sign.domain[1])

    @property
    def ckks_levels(self) -> int:
        """Levels: the sign stages plus the product (a − b)·s."""
        from ...plan import stage_plan

        return sum(stage_plan(s.monomial_coefficients()).depth for s in self.sign.stages) + 1

    def __repr__(self) -> str:
        return f"MaxApproximation(degrees={self.sign.degrees}, |a - b| <= {self.difference_bound:g}, ckks_levels={self.ckks_levels})"


def max_approximation(sign_approximation) -> MaxApproximation:
    """max(a, b) from a composite sign (any combine: only its stages and input_scale are used).

    >>> from polyfit.solvers.composite import composite
    >>> m = max_approximation(composite(degrees=[7, 7], function="relu"))
    >>> float(abs(m(0.3, -0.2) - 0.3)) < 0.01
    True
    """
    if not hasattr(sign_approximation, "stages"):
        raise InputError("max_approximation needs an Approximation from composite(...)")
    return MaxApproximation(sign_approximation)
