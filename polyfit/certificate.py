"""One certificate shape for every solver's result (stored as ``provenance["certificate"]``).

A solver minimises an objective (the L2 or L∞ error of its problem). Its certificate says how
close the answer is to the optimum of that problem:

- ``value``: the objective the returned coefficients achieve (same units as the objective:
  an absolute error for L∞, the weighted L2 error for L2);
- ``bound``: a proven lower bound on the optimal objective (for Remez the de la Vallée Poussin
  levelled error; for a MILP the best dual bound; for an exact enumeration the value itself),
  or ``None`` when the method proves nothing (GEKKO's local search, Taylor);
- ``gap``: the relative gap ``(value − bound) / value`` (0 when value is 0), ``None`` without a bound;
- ``certified``: the solver proved optimality within its tolerance;
- ``kind``: what kind of argument the bound comes from (see :data:`KINDS`);
- ``message``: one line for a person, naming the real cause when not certified.

The CLI and reports print this without knowing which solver produced it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

#: The kinds of argument a certificate may rest on.
KINDS = (
    "closed-form",          # the optimum is known in closed form (degree-1 sign stage, exact projection)
    "exact-projection",     # continuous least squares solved exactly (Gauss–Legendre, exact to rounding)
    "discrete-lstsq",       # least squares on a stated grid (the normal equations' optimum)
    "remez",                # de la Vallée Poussin: levelled error ≤ optimum ≤ max error
    "lattice-enumeration",  # Schnorr–Euchner enumeration finished: global integer optimum
    "milp",                 # HiGHS branch and bound: dual bound and incumbent
    "heuristic",            # a local or heuristic method (GEKKO/APOPT, Taylor): no bound
    "published",            # coefficients taken from a paper (presets): nothing re-proven
)


@dataclass(frozen=True)
class Certificate:
    """How close a solver's answer is to the optimum of its problem (see module docstring)."""

    kind: str
    certified: bool
    value: float | None = None
    bound: float | None = None
    message: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"certificate kind {self.kind!r} is not one of {', '.join(KINDS)}")
        for name in ("value", "bound"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(float(v)):
                raise ValueError(f"certificate {name} must be finite or None, got {v!r}")

    @property
    def gap(self) -> float | None:
        """Relative gap (value − bound)/value, 0 when value is 0; None without both numbers."""
        if self.value is None or self.bound is None:
            return None
        if self.value == 0.0:
            return 0.0
        return max(0.0, (float(self.value) - float(self.bound)) / abs(float(self.value)))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "certified": bool(self.certified),
                "value": None if self.value is None else float(self.value),
                "bound": None if self.bound is None else float(self.bound),
                "gap": self.gap, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict) -> "Certificate":
        return cls(kind=data["kind"], certified=bool(data["certified"]), value=data.get("value"),
                   bound=data.get("bound"), message=data.get("message", ""))

    def summary(self) -> str:
        """One line for reports: ``certified optimal (remez: gap 1.2e-12)`` or the reason not."""
        parts = [self.kind]
        if self.gap is not None:
            parts.append(f"gap {self.gap:.2g}")
        head = "certified optimal" if self.certified else "not certified"
        tail = f" — {self.message}" if self.message else ""
        return f"{head} ({', '.join(parts)}){tail}"
