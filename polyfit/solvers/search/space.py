"""The search space of :func:`polyfit.search` and its encoding in the unit cube."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

from ...errors import InputError
from ...validate import check_bits, parse_degrees, real_number

METHODS = ("lstsq", "minimax")


@dataclass(frozen=True)
class SearchSpace:
    """Degrees × log-scale range [a_lo, a_hi] (× bits × methods), encoded in the unit cube.

    Dimensions, in order: ``degree`` (always), ``range``, then ``bits`` and ``method`` when
    they have more than one value. A point is a dict with keys degree, range, bits, method.
    ``twins``: (degree, same_as) pairs of requested degrees left out because they fit the
    same polynomial as ``same_as`` (:mod:`.twins`).
    """

    degrees: tuple[int, ...]
    range_bounds: tuple[float, float]
    bits: tuple[int | None, ...] = (None,)
    methods: tuple[str, ...] = ("lstsq",)
    twins: tuple[tuple[int, int], ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "degrees", parse_degrees(self.degrees))
        try:
            if isinstance(self.range_bounds, (str, bytes)):
                raise TypeError
            lo, hi = (real_number(v, "range bound") for v in self.range_bounds)
        except (TypeError, ValueError):  # InputError is a ValueError
            raise InputError(f"range bounds {self.range_bounds!r} must be two numbers LO HI") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0:
            raise InputError(f"range bounds ({lo:g}, {hi:g}) must be finite with LO > 0 (the range is log-scaled)")
        if not lo < hi:
            raise InputError(f"range bounds ({lo:g}, {hi:g}) are empty or inverted; need 0 < LO < HI")
        object.__setattr__(self, "range_bounds", (lo, hi))
        bits = tuple(self.bits) if self.bits is not None else (None,)
        for b in bits:
            check_bits(b)
        if not bits or len(set(bits)) != len(bits):
            raise InputError(f"bits {bits!r} must be distinct and non-empty")
        object.__setattr__(self, "bits", tuple(None if b is None else int(b) for b in bits))
        methods = (self.methods,) if isinstance(self.methods, str) else tuple(self.methods)
        bad = [m for m in methods if m not in METHODS]
        if bad or not methods or len(set(methods)) != len(methods):
            raise InputError(f"methods {methods!r} must be distinct values of: {', '.join(METHODS)}")
        object.__setattr__(self, "methods", methods)
        twins = tuple((int(d), int(k)) for d, k in self.twins)
        if any(d in self.degrees or k not in self.degrees for d, k in twins):
            raise InputError(f"twins {twins!r}: each skipped degree must be absent and its twin searched")
        object.__setattr__(self, "twins", twins)

    def without_twins(self, pairs) -> "SearchSpace":
        """The same space without the skipped degree of each (degree, same_as) pair."""
        skipped = {d for d, _ in pairs}
        return SearchSpace(tuple(d for d in self.degrees if d not in skipped), self.range_bounds, self.bits,
                           self.methods, tuple(self.twins) + tuple(pairs))

    @property
    def dims(self) -> tuple[str, ...]:
        names = ["degree", "range"]
        if len(self.bits) > 1:
            names.append("bits")
        if len(self.methods) > 1:
            names.append("method")
        return tuple(names)

    def _values(self, name):
        return {"degree": self.degrees, "bits": self.bits, "method": self.methods}[name]

    @staticmethod
    def _index_to_unit(index: int, count: int) -> float:
        return index / (count - 1) if count > 1 else 0.0

    def to_unit(self, point: dict) -> list[float]:
        lo, hi = self.range_bounds
        out = []
        for name in self.dims:
            if name == "range":
                out.append((math.log(point["range"]) - math.log(lo)) / (math.log(hi) - math.log(lo)))
            else:
                values = self._values(name)
                out.append(self._index_to_unit(values.index(point[name]), len(values)))
        return out

    def from_unit(self, u, bins: bool = False) -> dict:
        """Decode a unit-cube vector; discrete coordinates snap to the nearest value
        (``bins=True``: to equal-mass bins, for Sobol/random draws)."""
        lo, hi = self.range_bounds
        point: dict[str, Any] = {"degree": self.degrees[0], "bits": self.bits[0], "method": self.methods[0]}
        for name, value in zip(self.dims, (float(v) for v in u)):
            value = min(max(value, 0.0), 1.0)
            if name == "range":
                point["range"] = float(math.exp(math.log(lo) + value * (math.log(hi) - math.log(lo))))
            else:
                values = self._values(name)
                n = len(values)
                index = min(int(value * n), n - 1) if bins else int(round(value * (n - 1)))
                point[name] = values[index]
        return point

    def fixed_features_list(self) -> list[dict[int, float]]:
        """One {dim: unit value} per combination of discrete values (optimize_acqf_mixed)."""
        discrete = [(i, name) for i, name in enumerate(self.dims) if name != "range"]
        combos = itertools.product(*(range(len(self._values(name))) for _, name in discrete))
        return [{i: self._index_to_unit(k, len(self._values(name))) for (i, name), k in zip(discrete, combo)}
                for combo in combos]

    def describe(self) -> dict:
        return {"degrees": list(self.degrees), "range_bounds": list(self.range_bounds), "range_scale": "log",
                "bits": list(self.bits), "methods": list(self.methods), "dims": list(self.dims),
                "twins": [{"degree": d, "same_as": k} for d, k in self.twins]}

    @classmethod
    def from_dict(cls, data: dict) -> "SearchSpace":
        return cls(tuple(data["degrees"]), tuple(data["range_bounds"]), tuple(data.get("bits", [None])),
                   tuple(data.get("methods", ["lstsq"])),
                   tuple((t["degree"], t["same_as"]) for t in data.get("twins") or []))
