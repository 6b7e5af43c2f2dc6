"""The arithmetic an exchange runs in: float64 (numpy arrays) or mpmath (object arrays).

Everything the engine computes goes through these few operations, so one loop serves both:
arrays of points, the levelled linear solve, comparisons, and the rounding floor below which
two errors are indistinguishable.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np

EPS = float(np.finfo(float).eps)
ROUNDING_FACTOR = 32.0  # float64 errors below ROUNDING_FACTOR·eps·max(1, max|g|) are rounding noise
MPMATH_GUARD_DIGITS = 6  # mpmath with d digits resolves errors down to 10^−(d − 6)·max(1, max|g|)


@dataclass(frozen=True)
class Arithmetic:
    """float64 (``dps`` None) or mpmath with ``dps`` decimal digits.

    >>> Arithmetic().name, Arithmetic(40).name
    ('float64', 'mpmath-40')
    """

    dps: int | None = None

    @property
    def name(self) -> str:
        return "float64" if self.dps is None else f"mpmath-{self.dps}"

    @property
    def is_float(self) -> bool:
        return self.dps is None

    @property
    def resolution(self) -> float:
        """Relative size of rounding noise: 32·eps (float64) or 10^−(dps − 6) (mpmath)."""
        return ROUNDING_FACTOR * EPS if self.dps is None else 10.0 ** (-(self.dps - MPMATH_GUARD_DIGITS))

    def array(self, values) -> np.ndarray:
        """``values`` as a float array, or as an object array of mpmath numbers."""
        if self.dps is None:
            return np.asarray(values, dtype=float)
        import mpmath

        with mpmath.workdps(self.dps):
            return np.array([mpmath.mpf(v) for v in np.ravel(np.asarray(values, dtype=object))], dtype=object)

    def solve(self, matrix, rhs) -> np.ndarray:
        """x with matrix·x = rhs (LAPACK, or mpmath's LU with partial pivoting)."""
        if self.dps is None:
            return np.linalg.solve(matrix, rhs)
        import mpmath

        with mpmath.workdps(self.dps):
            solution = mpmath.lu_solve(mpmath.matrix(matrix.tolist()), mpmath.matrix(list(rhs)))
            return np.array([solution[i] for i in range(len(rhs))], dtype=object)

    def context(self):
        """Context manager setting mpmath's precision (a no-op for float64)."""
        if self.dps is None:
            return contextlib.nullcontext()
        import mpmath

        return mpmath.workdps(self.dps)


FLOAT64 = Arithmetic()


def positive(values) -> np.ndarray:
    """Boolean array values > 0 (elementwise also for object arrays)."""
    values = np.asarray(values)
    if values.dtype != object:
        return values > 0
    return np.array([v > 0 for v in values], dtype=bool)


def signs(values) -> np.ndarray:
    """Float array of −1, 0, +1 (elementwise also for object arrays)."""
    values = np.asarray(values)
    if values.dtype != object:
        return np.sign(values)
    return np.array([1.0 if v > 0 else -1.0 if v < 0 else 0.0 for v in values])


def magnitudes(values) -> np.ndarray:
    """|values| as float64 (for choosing and reporting; the values themselves stay exact)."""
    return np.abs(np.asarray(values, dtype=float)) if np.asarray(values).dtype != object else \
        np.array([abs(float(v)) for v in values])
