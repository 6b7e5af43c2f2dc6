"""PILLAR's mixed-integer fit solved with GEKKO (APOPT branch and bound), for comparison.

PILLAR states its quantization-aware fit as a mixed-integer program in GEKKO:

    minimise  Σ_i w_i (Σ_j a_j t_i^j − Y_i)²   over integers lower_j ≤ a_j ≤ upper_j,

with Y_i the targets in integer units (2^F·f(x_i), truncated under ``compat="pillar"``).
We build exactly that model, one squared residual per grid point as PILLAR does, and let
APOPT (``m.options.SOLVER = 1``) solve it locally on this machine (``remote=False``).
APOPT is a local branch and bound on NLP relaxations: the answer is not certified, and on
ill-conditioned cases it stops far from the optimum (see docs/solvers/quantized.md).

GEKKO is imported here only, and only when this backend is asked for. GEKKO writes its model
into a temp folder (``tempfile.mkdtemp``); it is removed however the solve ends: on an error,
and on SIGTERM (turned into an exception for the duration of the solve, so that the removal
runs before the process exits with status 143).
"""
from __future__ import annotations

import contextlib
import io
import math
import signal
import threading

import numpy as np

from ...errors import ComputationError, MissingExtraError


def gekko_integer_fit(t, targets_int_units, weights, degree: int, lower, upper, *, time_limit: float | None = None):
    """Integers a_0..a_d from GEKKO/APOPT for the objective in the module docstring.

    Args:
        t: (m,) stage-variable grid.
        targets_int_units: (m,) Y_i (targets times 2^F).
        weights: (m,) w_i ≥ 0.
        degree: polynomial degree d.
        lower, upper: integer bounds per coefficient (length d + 1).
        time_limit: APOPT wall-time limit in seconds (``m.options.MAX_TIME``), or None.

    Returns:
        (integers, info) with ``info`` holding GEKKO's solve status and reported time.
    """
    try:
        from gekko import GEKKO
    except ImportError:
        raise MissingExtraError("solver 'gekko'", "gekko", "gekko") from None
    with _terminate_as_exception():
        m = GEKKO(remote=False)
        try:
            return _solve(m, t, targets_int_units, weights, degree, lower, upper, time_limit)
        finally:
            _remove_folder(m)


def _solve(m, t, targets_int_units, weights, degree, lower, upper, time_limit):
    """Build PILLAR's model in ``m``, solve it with APOPT, return (integers, info)."""
    m.options.SOLVER = 1  # APOPT: the MINLP solver
    if time_limit is not None:
        m.options.MAX_TIME = float(time_limit)
    start = np.clip(np.zeros(degree + 1), lower, upper)
    a = [m.Var(value=float(start[j]), lb=int(lower[j]), ub=int(upper[j]), integer=True) for j in range(degree + 1)]
    for ti, yi, wi in zip(np.asarray(t, float), np.asarray(targets_int_units, float), np.asarray(weights, float)):
        if wi == 0.0:
            continue
        poly = a[0]
        for j in range(1, degree + 1):
            poly = poly + float(ti) ** j * a[j]
        m.Minimize(float(wi) * (poly - float(yi)) ** 2)
    try:
        m.solve(disp=False)
    except Exception as exc:  # GEKKO raises a bare Exception with APOPT's message
        raise ComputationError(f"GEKKO/APOPT found no solution: {' '.join(str(exc).split())[:200]}") from None
    values = [a[j].value[0] for j in range(degree + 1)]
    if not all(math.isfinite(v) for v in values):
        raise ComputationError("GEKKO/APOPT returned non-finite coefficients")
    integers = np.rint(values).astype(np.int64)
    info = {"gekko_status": int(getattr(m.options, "APPSTATUS", 1)),
            "gekko_solve_time_s": float(getattr(m.options, "SOLVETIME", float("nan"))),
            "gekko_objective": float(getattr(m.options, "OBJFCNVAL", float("nan")))}
    return integers, info


def _remove_folder(m) -> None:
    """GEKKO's ``cleanup`` (rmtree of its temp folder), with its "not found" print kept off
    stdout (``--json`` output) and a failed removal never hiding the result."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            m.cleanup()
        except OSError:
            pass


class _Terminated(BaseException):
    """SIGTERM arrived during a GEKKO solve (BaseException: no ``except Exception`` swallows it)."""


@contextlib.contextmanager
def _terminate_as_exception():
    """While inside, SIGTERM raises :class:`_Terminated` (main thread, default handler only),
    so ``finally`` blocks run; on the way out the process exits 143 as SIGTERM would have."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise _Terminated()

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        raise SystemExit(128 + signal.SIGTERM) from None
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
