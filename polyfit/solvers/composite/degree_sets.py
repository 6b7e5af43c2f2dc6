"""Degree sets: stage maps z ↦ z′ (tabulated Remez), the dynamic programme, the Pareto front.

In logit coordinates z = ln(ε/(1 − ε)) each stage of degree d is a map z ↦ z′ = F_d(z)
(tabulated by Remez on a grid of z and interpolated by local cubics; asymptotically linear,
slope 1 for ε → 0 and (d + 1)/2 for ε → 1). States (depth, mults) of Lee et al.'s dynamic
programme keep the largest z reachable; transitions add one stage; a state dominated by one
with ≤ depth, ≤ mults and ≥ z is not expanded.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...errors import ComputationError, InputError
from ...validate import MAX_DEPTH_LIMIT, check_alpha, check_epsilon, check_function, check_max_degree, check_max_depth
from .costs import error_from_logit, logit, stage_cost
from .sign import interval_from_logit, next_logit, reference_from_window, reference_in_window, sign_stage

Z_SPACING = 0.5
TABLE_FLOOR = 1e-12            # below this error a stage map is extrapolated (slope (d + 1)/2)
DEFAULT_MAX_DEGREE = 31        # largest stage degree the search considers unless told (3 … 63 allowed)


@dataclass(frozen=True)
class StageMap:
    """z ↦ z′ for one degree: cubic spline on Remez samples, linear beyond them."""

    degree: int
    z: tuple
    z_next: tuple

    def __call__(self, z: float) -> float:
        zs, ys = self.z, self.z_next
        if len(zs) == 1:
            return ys[0] + (z - zs[0])
        if z <= zs[0]:
            return ys[0] + (z - zs[0]) * (ys[1] - ys[0]) / (zs[1] - zs[0])
        if z >= zs[-1]:
            return ys[-1] + (z - zs[-1]) * (self.degree + 1) / 2
        i = min(int((z - zs[0]) / (zs[1] - zs[0])), len(zs) - 2)
        # cubic through the four nearest samples (Lagrange), linear at the ends
        lo = max(0, min(i - 1, len(zs) - 4))
        idx = range(lo, min(lo + 4, len(zs)))
        if len(idx) < 4:
            t = (z - zs[i]) / (zs[i + 1] - zs[i])
            return ys[i] + t * (ys[i + 1] - ys[i])
        total = 0.0
        for j in idx:
            w = 1.0
            for m in idx:
                if m != j:
                    w *= (z - zs[m]) / (zs[j] - zs[m])
            total += w * ys[j]
        return total


def stage_map(degree: int, z_lo: float, z_hi: float, spacing: float = Z_SPACING, tol: float = 1e-7) -> StageMap:
    """Tabulate F_d on z_lo … z_hi by float64 Remez, warm-started from the previous point."""
    zs, ys = [], []
    window = None
    for z in np.arange(z_lo, z_hi + spacing, spacing):
        lo, hi = interval_from_logit(float(z))
        reference = None if window is None else reference_from_window(window, lo, hi)
        try:
            fit = sign_stage(degree, lo, hi, reference=reference, precision="float64", tol=tol)
        except ComputationError:
            try:
                fit = sign_stage(degree, lo, hi, precision="float64", tol=tol)
            except ComputationError:
                break
        zs.append(float(z))
        ys.append(next_logit(fit))
        window = reference_in_window(fit.reference, lo, hi)
        if fit.error < TABLE_FLOOR:
            break
    if not zs:
        raise ComputationError(f"could not tabulate stages of degree {degree} near z = {z_lo:.3g}")
    return StageMap(degree, tuple(zs), tuple(ys))


# --------------------------------------------------------------------------------------
# Degree-set dynamic programme and Pareto front
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DegreeSet:
    """A composite's degrees with its cost and predicted final sign error."""

    degrees: tuple
    depth: int
    multiplications: int
    z: float

    @property
    def predicted_error(self) -> float:
        return error_from_logit(self.z)


def candidate_degrees(max_degree: int) -> list[int]:
    return list(range(3, max_degree + 1, 2))


def stage_maps(max_degree: int, z_start: float, z_target: float | None) -> dict:
    """{degree: StageMap} for the odd degrees 3 … max_degree on z_start − ½ … z_target + 1.

    A degree whose map cannot be tabulated at all (for a gap near 1 its stage error is below
    float64 resolution from the start) is left out: lower degrees reach any target it would,
    and every candidate is computed before it is accepted.
    """
    z_hi = max((z_target if z_target is not None else 30.0), z_start) + 1.0
    maps = {}
    for d in candidate_degrees(max_degree):
        try:
            maps[d] = stage_map(d, z_start - Z_SPACING, z_hi)
        except ComputationError:
            continue
    if not maps:
        raise ComputationError(f"could not tabulate a stage of any odd degree 3 … {max_degree} near z = {z_start:.3g}")
    return maps


def search_degree_sets(z_start: float, z_target: float | None, *, max_degree: int = DEFAULT_MAX_DEGREE,
                       depth_limit: int = MAX_DEPTH_LIMIT, slack_after_feasible: int | None = 2,
                       maps: dict | None = None) -> list[DegreeSet]:
    """All non-dominated states of the DP (see module doc), up to ``depth_limit`` levels.

    With a target, states reaching it are terminal; with ``slack_after_feasible`` the search
    stops that many levels after the first feasible depth. ``maps`` (from :func:`stage_maps`)
    may be passed to reuse the tabulation.
    """
    maps = maps if maps is not None else stage_maps(max_degree, z_start, z_target)
    degrees = [d for d in candidate_degrees(max_degree) if d in maps]
    costs = {d: stage_cost(d) for d in degrees}
    best: dict[tuple[int, int], tuple[float, tuple]] = {(0, 0): (z_start, ())}
    expanded: list[tuple[int, int, float]] = []
    states: list[DegreeSet] = []
    first_feasible = None
    for depth in range(0, depth_limit + 1):
        if first_feasible is not None and slack_after_feasible is not None and depth > first_feasible + slack_after_feasible:
            break
        for key in sorted(k for k in best if k[0] == depth):
            z, seq = best[key]
            mults = key[1]
            if any(d2 <= depth and m2 <= mults and z2 >= z and (d2, m2) != key for d2, m2, z2 in expanded):
                continue
            expanded.append((depth, mults, z))
            if seq:
                states.append(DegreeSet(seq, depth, mults, z))
            if z_target is not None and z >= z_target and seq:   # at least one stage, even for easy targets
                first_feasible = depth if first_feasible is None else first_feasible
                continue
            if z > 40.0:   # error below 1e-17: nothing left to gain in float64
                continue
            for d in degrees:
                dd, md = costs[d]
                new_key = (depth + dd, mults + md)
                if new_key[0] > depth_limit:
                    continue
                z_new = maps[d](z)
                if z_new <= z + 1e-9:
                    continue
                if new_key not in best or z_new > best[new_key][0]:
                    best[new_key] = (z_new, seq + (d,))
    return states


def pareto_front(alpha: float | None = None, epsilon: float | None = None, *, function: str = "sign",
                 max_depth: int | None = None, max_degree: int = DEFAULT_MAX_DEGREE) -> list[dict]:
    """Pareto front of (depth, multiplications, sign error) over composite degree sets.

    Args:
        alpha: sets ε = 2^−α when ``epsilon`` is not given.
        epsilon: gap half-width (inputs |x| ≥ ε on [−1, 1]).
        function: "relu"/"abs" add the final product by x (+1 level, +1 product).
        max_depth: total levels explored, 1 … 64 (default: 14, or min(2α + 4, 64) with alpha).
        max_degree: largest odd stage degree considered (≤ 63).

    Returns:
        Plain dicts sorted by depth then multiplications: ``degrees``, ``depth``,
        ``multiplications``, ``predicted_error`` (sign error on |x| ≥ ε, from the tabulated
        stage maps) and ``log2_error``; no point is dominated in all three.

    >>> front = pareto_front(epsilon=0.25, max_depth=6)
    >>> [p["degrees"] for p in front][:2]
    [[3], [5]]
    """
    function = check_function(function)
    if epsilon is None:
        if alpha is None:
            raise InputError("pareto_front needs alpha or epsilon")
        epsilon = 2.0 ** -check_alpha(alpha)
    epsilon = check_epsilon(epsilon)
    max_degree = check_max_degree(max_degree)
    extra = 1 if function in ("relu", "abs") else 0
    if max_depth is None:
        max_depth = min(int(2 * alpha + 4), MAX_DEPTH_LIMIT) if alpha is not None else 14
    else:
        max_depth = check_max_depth(max_depth)
    states = search_degree_sets(logit(epsilon), None, max_degree=max_degree, depth_limit=max_depth - extra,
                                slack_after_feasible=None)
    points = [(s.depth + extra, s.multiplications + extra, s.predicted_error, s) for s in states]
    front = []
    for p in points:
        if not any(q[0] <= p[0] and q[1] <= p[1] and q[2] <= p[2] and q[:3] != p[:3] for q in points):
            front.append(p)
    front.sort(key=lambda p: (p[0], p[1], p[2]))
    return [{"degrees": list(s.degrees), "depth": d, "multiplications": m, "predicted_error": e,
             "log2_error": math.log2(e) if e > 0 else -math.inf} for d, m, e, s in front]
