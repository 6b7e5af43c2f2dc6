"""HiGHS (scipy.optimize.milp / linprog) calls of the quantized L∞ solver, and what they said.

Every call goes through :func:`run_milp` / :func:`run_lp`, which keep HiGHS's console output
off file descriptor 1 (``polyfit fit --json`` must stay clean) and turn scipy's result into a
:class:`HighsOutcome` whose ``cause`` names the real reason a solve ended without a proof
("time limit 120 s reached", "HiGHS: model infeasible", …), so warnings never blame the time
limit for a numerical failure.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

#: scipy.optimize.milp status codes (``OptimizeResult.status``) in words.
MILP_STATUS = MappingProxyType({0: "optimal", 1: "time or iteration limit reached", 2: "model infeasible",
                               3: "model unbounded", 4: "numerical trouble or other failure"})


@dataclass(frozen=True)
class HighsOutcome:
    """One HiGHS solve: ``x`` (None when HiGHS returned no point), objective ``fun``,
    ``dual_bound`` (a proven lower bound of the objective, or None), ``status`` (scipy's
    code), ``message`` (HiGHS's own text), ``nodes`` (branch-and-bound nodes)."""

    x: np.ndarray | None
    fun: float | None
    dual_bound: float | None
    status: int
    message: str
    nodes: int
    time_limit: float

    @property
    def optimal(self) -> bool:
        return self.status == 0 and self.x is not None

    @property
    def cause(self) -> str:
        """Why the solve ended without a proof of optimality (empty when it is optimal)."""
        if self.optimal:
            return ""
        if self.status == 1 and "time" in self.message.lower():
            return f"time limit {self.time_limit:.3g} s reached"
        if self.status == 1:
            return f"HiGHS: {self.message.split('(')[0].strip() or 'iteration limit reached'}"
        return f"HiGHS: {MILP_STATUS.get(self.status, 'status ' + str(self.status))} ({_short(self.message)})"


def _short(message: str) -> str:
    return " ".join(str(message).split())[:160]


def run_milp(cost, integrality, lower, upper, A, row_lo, row_hi, *, time_limit: float,
             mip_rel_gap: float) -> HighsOutcome:
    """min costᵀx s.t. row_lo ≤ A x ≤ row_hi, lower ≤ x ≤ upper, x_j integer where integrality_j = 1."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    time_limit = max(float(time_limit), 1e-3)
    with quiet_stdout():
        try:
            res = milp(cost, integrality=integrality, bounds=Bounds(lower, upper),
                       constraints=LinearConstraint(A, row_lo, row_hi),
                       options={"time_limit": time_limit, "mip_rel_gap": mip_rel_gap})
        except (ValueError, RuntimeError) as exc:  # scipy refuses or HiGHS aborts: say so
            return HighsOutcome(None, None, None, 4, f"{type(exc).__name__}: {exc}", 0, time_limit)
    dual = getattr(res, "mip_dual_bound", None)
    dual = float(dual) if dual is not None and np.isfinite(dual) else None
    fun = float(res.fun) if res.x is not None and res.fun is not None else None
    if dual is None and res.status == 0 and fun is not None:
        dual = fun
    return HighsOutcome(res.x, fun, dual, int(res.status), str(res.message),
                        int(getattr(res, "mip_node_count", 0) or 0), time_limit)


def run_lp(cost, A_ub, b_ub, bounds, *, time_limit: float) -> HighsOutcome:
    """min costᵀx s.t. A_ub x ≤ b_ub within ``bounds`` (HiGHS dual simplex via linprog)."""
    from scipy.optimize import linprog

    time_limit = max(float(time_limit), 1e-3)
    with quiet_stdout():
        try:
            res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs",
                          options={"time_limit": time_limit})
        except (ValueError, RuntimeError) as exc:
            return HighsOutcome(None, None, None, 4, f"{type(exc).__name__}: {exc}", 0, time_limit)
    ok = res.status == 0 and res.x is not None
    return HighsOutcome(res.x if ok else None, float(res.fun) if ok else None, float(res.fun) if ok else None,
                        int(res.status), str(res.message), 0, time_limit)


class quiet_stdout:
    """Send file descriptor 1 to /dev/null while HiGHS runs.

    HiGHS's C++ code can print diagnostics straight to fd 1, which would corrupt
    ``polyfit fit --json`` output; Python's sys.stdout is flushed first and restored after.
    """

    def __enter__(self):
        self._saved = None
        try:
            sys.stdout.flush()
            self._saved = os.dup(1)
            self._null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(self._null, 1)
        except (OSError, ValueError):  # no usable fd 1: nothing to protect
            self._saved = None
        return self

    def __exit__(self, *exc):
        if self._saved is None:
            return False
        os.dup2(self._saved, 1)
        os.close(self._saved)
        os.close(self._null)
        return False
