"""The vocabulary of ``polyfit verify``: claims, what a runner measured, and the accuracy claim
every backend shares (:func:`accuracy_claims`; the statement is in :mod:`polyfit.verification`).

Runners (:mod:`polyfit.verification` for CKKS and OpenFHE, :mod:`polyfit.mpc_verification` for
fixed point and CrypTen) build :class:`Claim` and :class:`EngineRun` from here, so that
:func:`polyfit.verification.verify` can dispatch to them without either importing the other.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError

METRIC_SLACK = 1e-9  # relative slack when re-measuring the stored plaintext metric


@dataclass(frozen=True)
class Claim:
    """One checked statement: what the artifact (or plan) claims and what was measured."""

    name: str
    claimed: object
    measured: object
    ok: bool
    message: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "claimed": self.claimed, "measured": self.measured, "ok": self.ok,
                "message": self.message}


@dataclass(frozen=True)
class VerifyOptions:
    """The checked options every runner receives."""

    levels: int | None
    samples: int
    ring_bits: int
    frac_bits: int | None
    tolerance: float | None
    check_tight: bool = True
    parties: int = 2


@dataclass(frozen=True)
class EngineRun:
    """What a runner measured on its engine.

    Attributes:
        x: the sample inputs the accuracy claim is checked on (points of the metric grid).
        outputs: the engine's decoded outputs at ``x``, or None when it could not finish.
        claims: the backend-specific claims.
        levels_used: CKKS levels consumed (None for other engines).
        details: parameters, timings, per-model numbers (JSON-ready).
        default_tolerance: the accuracy tolerance used when the caller gives none.
    """

    x: np.ndarray
    outputs: np.ndarray | None
    claims: tuple[Claim, ...]
    levels_used: int | None
    details: dict
    default_tolerance: float



def not_an_artifact(value) -> str:
    """The one-line error for an argument that is neither an Approximation nor a path."""
    kind = type(value).__name__
    hint = (": max(a, b) runs in Python only; pass its sign composite, m.sign"
            if kind == "MaxApproximation" else "")
    return f"expected an Approximation or an artifact path, got an object of type {kind}{hint}"


def sample_inputs(approx, samples: int) -> np.ndarray:
    """``samples`` points of the metric grid (domain minus ``metrics.exclude``), spread evenly.

    Both domain ends and the grid points next to the excluded sign gap are always included,
    so that a composite sign approximation is checked where it is hardest.
    """
    from .metrics import DEFAULT_GRID_POINTS, metric_grid

    metrics = approx.metrics or {}
    exclude = metrics.get("exclude")
    grid = metric_grid(approx.domain, int(metrics.get("grid_points") or DEFAULT_GRID_POINTS), exclude)
    if len(grid) == 0:  # TenSEAL: "Attempting to encrypt an empty vector" (a traceback)
        raise InputError(f"the artifact's metric region is empty: metrics.exclude {list(exclude)} covers "
                         f"the whole domain {list(approx.domain)}; nothing to verify")
    picks = set(np.round(np.linspace(0, len(grid) - 1, min(samples, len(grid)))).astype(int).tolist())
    if exclude is not None:
        below = np.nonzero(grid <= exclude[0])[0]
        above = np.nonzero(grid >= exclude[1])[0]
        picks.update(i for i in (below[-1] if below.size else None, above[0] if above.size else None) if i is not None)
    return grid[sorted(picks)]


def _target_values(approx, x):
    try:
        with np.errstate(all="ignore"):
            return np.asarray(approx.target(x), dtype=float)
    except InputError:
        return None  # a Python-callable target that the artifact cannot re-evaluate


def _error(a, b) -> float:
    if a is None or b is None or len(a) == 0:
        return float("nan")
    with np.errstate(all="ignore"):
        diff = np.abs(np.asarray(a, dtype=float) - np.asarray(b, dtype=float))
    return float(np.max(diff)) if np.all(np.isfinite(diff)) else float("inf")


def accuracy_statement(approx, tolerance: float, samples: int) -> str:
    """One line saying what the accuracy claim is, with its numbers."""
    stored = (approx.metrics or {}).get("max_abs_error")
    bound = "the artifact's max error (not stated)" if stored is None else f"{stored:.4g} (the artifact's max error) + {tolerance:.3g}"
    return (f"on {samples} samples of the domain: |engine − artifact| ≤ {tolerance:.3g} and "
            f"|engine − target| ≤ {bound}")


def accuracy_claims(approx, x, outputs, tolerance: float) -> tuple[tuple[Claim, ...], float, float]:
    """The accuracy claim of every backend (module docstring): (claims, err vs artifact, err vs target)."""
    x = np.asarray(x, dtype=float)
    outputs = np.asarray(outputs, dtype=float)
    plain = approx(x)
    target = _target_values(approx, x)
    err_artifact, err_target = _error(outputs, plain), _error(outputs, target)
    n = len(x)
    claims = [Claim("accuracy vs artifact", tolerance, err_artifact, bool(err_artifact <= tolerance),
                    f"max |engine − artifact| = {err_artifact:.3e} on {n} samples"
                    + ("" if err_artifact <= tolerance else f" exceeds the tolerance {tolerance:.3g}"))]
    stored = (approx.metrics or {}).get("max_abs_error")
    if target is None:
        claims.append(Claim("accuracy vs target", None, None, True,
                            "not checked: the target is a Python callable the artifact cannot re-evaluate"))
    elif stored is None:
        claims.append(Claim("accuracy vs target", None, err_target, False,
                            "the artifact states no finite metrics.max_abs_error to hold the engine to"))
    else:
        bound = float(stored) + tolerance
        ok = err_target <= bound * (1 + METRIC_SLACK)
        claims.append(Claim("accuracy vs target", bound, err_target, bool(ok),
                            f"max |engine − target| = {err_target:.3e}; allowed: the artifact's max error "
                            f"{float(stored):.3e} + tolerance {tolerance:.3g}" + ("" if ok else " — exceeded")))
        plain_error = _error(plain, target)
        ok = plain_error <= float(stored) * (1 + METRIC_SLACK) + 1e-300
        claims.append(Claim("metrics.max_abs_error", float(stored), plain_error, bool(ok),
                            "plaintext error of the artifact on the samples" + ("" if ok else " exceeds the stored metric")))
    return tuple(claims), err_artifact, err_target
