"""``polyfit.fit``: one entry point that dispatches on ``method`` and ``bits``.

    method="lstsq",   bits=None → polyfit.solvers.lstsq     (discrete or continuous L2)
    method="minimax", bits=None → polyfit.solvers.minimax   (Remez, L∞)
    bits=F                      → polyfit.solvers.quantized (integers × 2^-F; L2 or L∞ by method)
"""
from __future__ import annotations

from .approximation import Approximation
from .errors import InputError
from .problem import make_problem

METHODS = ("lstsq", "minimax")


def fit(target, degree, domain, *, bits=None, method="lstsq", solver="exact", points=None, grid="uniform",
        weight=None, samples=None, basis="monomial", input_scale=1.0, compat=None, exclude=None,
        **options) -> Approximation:
    """Fit a polynomial of ``degree`` to ``target`` on ``domain``.

    Args:
        target: a name (``"relu"``, see :func:`polyfit.target_names`), a vectorised callable,
            or :func:`polyfit.expr` of a SymPy expression.
        degree: polynomial degree, 0 … 1000.
        domain: ``A`` for [-A, A], or ``(lo, hi)``.
        bits: fractional bits F of integer coefficients (1 … 52), chosen by the solver.
        method: ``"lstsq"`` (L2) or ``"minimax"`` (L∞).
        solver: ``"exact"`` (default) or ``"gekko"`` (PILLAR's MINLP, for comparison; needs bits).
        points: grid points of discrete fits (> degree; default 1000).
        grid: ``"uniform"`` (numpy.linspace with endpoints), ``"chebyshev"`` nodes, or
            ``"continuous"`` (exact L2 projection by quadrature; lstsq only).
        weight: density w(x) ≥ 0 for weighted least squares.
        samples: x samples (e.g. profiled activations); they replace the grid, weight 1 each.
        basis: ``"monomial"`` or ``"chebyshev"`` coefficients in the artifact.
        input_scale: s; the polynomial is in t = s·x (quantized coefficients too).
        compat: ``"pillar"`` for PILLAR's exact quantized formulation.
        exclude: (a, b) left out of the fit and of the metrics (sign-like targets).

    Returns:
        An :class:`~polyfit.approximation.Approximation` with metrics, depth, precision
        and provenance.

    >>> import polyfit as pf
    >>> pf.fit("relu", degree=4, domain=5, bits=10).stages[0].quantized.integers
    (322, 512, 160, 0, -3)
    """
    if method not in METHODS:
        raise InputError(f"method {method!r} is not allowed; allowed: {', '.join(METHODS)} (or pf.taylor)")
    norm = "linf" if method == "minimax" else "l2"
    if compat == "pillar" and bits is None:
        raise InputError("compat 'pillar' needs bits (PILLAR fits integer coefficients)")
    if solver == "gekko" and bits is None:
        raise InputError("solver 'gekko' needs bits (it solves PILLAR's mixed-integer problem)")
    if grid == "continuous" and (norm != "l2" or bits is not None):
        raise InputError("grid 'continuous' is for method lstsq without bits")
    problem = make_problem(target, degree, domain, norm=norm, grid=grid, points=points, weight=weight,
                           samples=samples, basis=basis, input_scale=input_scale, bits=bits, solver=solver,
                           compat=compat, exclude=exclude, options=options)
    if problem.frac_bits is not None:
        from .solvers import quantized

        return quantized.solve(problem)
    if method == "minimax":
        from .solvers import minimax

        return minimax.solve(problem)
    from .solvers import lstsq

    return lstsq.solve(problem)
