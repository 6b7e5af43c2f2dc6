"""Solver families: lstsq, minimax, quantized, taylor, composite (modules) and search (a package).

Each exposes a function returning an :class:`~polyfit.approximation.Approximation` built by
:func:`polyfit.reports.assemble`, so provenance has the same fields everywhere.
"""
