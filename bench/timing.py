"""Timing shared by the benchmarks (imported as ``timing``: ``python bench/bench_x.py`` puts bench/ on sys.path)."""
from __future__ import annotations

import statistics
import time


def timed(fn, repeats: int = 1, statistic=statistics.median):
    """Call ``fn`` ``repeats`` times; return (its last result, ``statistic`` of the wall times in s).

    The benchmarks use the median (robust to a busy machine) or ``min`` (best case).
    """
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return out, float(statistic(times))
