"""Solver families, one module each: lstsq, minimax, quantized, taylor, composite, search.

Each exposes a function returning an :class:`~polyfit.approximation.Approximation` built by
:func:`polyfit.reports.assemble`, so provenance has the same fields everywhere.
"""
