"""``polyfit export``: an artifact as a standalone program for TenSEAL, OpenFHE or CrypTen.

The program needs numpy and the engine only (no polyfit import): it holds the coefficients and
the evaluation schedule as data, one function to call from a pipeline (``evaluate``), and a
``__main__`` that sets up a context sized for the artifact, evaluates sample inputs over the
domain and prints a last line of JSON with ``levels_used`` (HE engines) and
``max_error_vs_artifact``. What each engine runs is in docs/deploy.md:

- ``tenseal``: polyfit's own plan (:mod:`polyfit.plan`, Chebyshev basis on normalised
  inputs) op for op, ``depth.backends.tenseal`` levels;
- ``openfhe``: ``EvalChebyshevSeries`` per stage with every affine map folded
  (:mod:`polyfit.backends.openfhe`), ``depth.backends.openfhe`` levels;
- ``crypten``: the artifact's MPC schedule (:mod:`polyfit.mpc_schedule`, F = 16) on CrypTen's
  secret shares, rounds counted by CrypTen's communicator.

Security: artifact content enters the program only as data literals
(:mod:`polyfit.export.literal`); nothing from the artifact is code or comment.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from ..errors import InputError
from ..validate import MAX_SAMPLES, check_integer

ENGINES = ("tenseal", "openfhe", "crypten")
ENGINE_NAMES = MappingProxyType({"tenseal": "TenSEAL", "openfhe": "OpenFHE", "crypten": "CrypTen"})


@dataclass(frozen=True)
class Program:
    """A generated program: its source ``text``, the engine, and the levels it uses (None for MPC)."""

    engine: str
    text: str
    levels: int | None
    claimed_levels: int | None
    notes: tuple[str, ...] = ()  # what the user must know before deploying (e.g. a predicted miss)

    @property
    def matches_claim(self) -> bool:
        return self.levels is None or self.claimed_levels is None or self.levels == self.claimed_levels


def _load(approx_or_path):
    import os

    from ..approximation import Approximation
    from ..claims import not_an_artifact

    if isinstance(approx_or_path, Approximation):
        return approx_or_path
    if not isinstance(approx_or_path, (str, os.PathLike)):
        raise InputError(not_an_artifact(approx_or_path))
    from ..artifact import load

    return load(approx_or_path)


def program(approx_or_path, to: str, samples: int = 256) -> Program:
    """The standalone ``to`` program for an approximation (or artifact path).

    Raises:
        InputError: an unknown engine, a bad ``samples`` or a bad artifact.
    """
    if to not in ENGINES:
        raise InputError(f"unknown engine {to!r}; allowed: {', '.join(ENGINES)}")
    check_integer(samples, "samples", 2, MAX_SAMPLES)
    approx = _load(approx_or_path)
    if to == "openfhe":
        from .openfhe_program import program as make
    elif to == "tenseal":
        from .tenseal_program import program as make
    else:
        from .crypten_program import program as make
    text, levels = make(approx, int(samples))
    claimed = ((approx.depth or {}).get("backends") or {}).get(to) if levels is not None else None
    notes = ()
    if to == "crypten":
        from .crypten_program import predicted_miss

        miss = predicted_miss(approx, int(samples))
        notes = () if miss is None else (miss,)
    return Program(to, text, levels, None if claimed is None else int(claimed), notes)


def write_program(approx_or_path, to: str, out, samples: int = 256) -> Program:
    """Write :func:`program` to ``out`` atomically; returns the Program."""
    from ..atomic import atomic_write_text

    result = program(approx_or_path, to, samples)
    atomic_write_text(out, result.text)
    return result
