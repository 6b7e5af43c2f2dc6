"""``polyfit.fit``: one entry point that dispatches on ``method`` and ``bits``.

    method="lstsq",   bits=None → polyfit.solvers.lstsq     (discrete or continuous L2)
    method="minimax", bits=None → polyfit.solvers.minimax   (Remez, L∞)
    bits=F                      → polyfit.solvers.quantized (integers × 2^-F; L2 or L∞ by method)

Two defaults are chosen so that they cannot produce garbage (docs/defaults.md):

- ``basis="auto"``: the float solvers work in the Chebyshev basis; the artifact keeps monomial
  coefficients only when converting changes the values on the metric grid by at most
  :data:`AUTO_BASIS_RELATIVE` (1 %) of the Chebyshev solution's max error (never less than
  :data:`AUTO_BASIS_FLOOR` × max|p|), else it stays Chebyshev; ``provenance["basis_choice"]``
  says which and why. ``basis="monomial"`` converts anyway and warns when that breaks the rule.
- ``input_scale=None``: the raw variable t = x (PILLAR's formulation). With ``bits`` the
  integers then live in x, and on a wide domain they can collapse; the fit is repeated in
  t = x / max|domain| and, when that cuts the error by more than :data:`INPUT_SCALE_GAIN`
  (2×), a warning gives the measured alternative. ``input_scale="auto"`` fits in that t.
"""
from __future__ import annotations

import difflib
import math
import warnings

import numpy as np

from .approximation import Approximation, Stage
from .errors import InputError, UnknownOptionError
from .problem import make_problem

METHODS = ("lstsq", "minimax")
BASES = ("auto", "monomial", "chebyshev")
AUTO_BASIS_RELATIVE = 0.01   # monomial only if conversion moves values ≤ 1 % of the fit's max error
AUTO_BASIS_FLOOR = 1e-12     # … or ≤ 1e-12·max(1, max|p|) (exact fits have error ~ 0)
INPUT_SCALE_GAIN = 2.0       # warn when t = x/max|domain| cuts the quantized error by more than this
_FIT_KEYWORDS = ("bits", "method", "solver", "points", "grid", "weight", "samples", "basis", "input_scale",
                 "compat", "exclude")


def fit(target, degree, domain, *, bits=None, method="lstsq", solver="exact", points=None, grid="uniform",
        weight=None, samples=None, basis="auto", input_scale=None, compat=None, exclude=None,
        **options) -> Approximation:
    """Fit a polynomial of ``degree`` to ``target`` on ``domain``.

    Args:
        target: a name (``"relu"``, see :func:`polyfit.target_names`), a vectorised callable
            (it must return one real, finite float per input), or :func:`polyfit.expr`.
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
        basis: ``"auto"`` (default: monomial when the conversion keeps the accuracy, else
            Chebyshev), ``"monomial"`` (warns when it does not) or ``"chebyshev"``.
        input_scale: s, the polynomial is in t = s·x (quantized coefficients too); ``"auto"``
            for s = 1/max|domain|; None (default) for the raw variable s = 1, with a warning
            when ``bits`` are set and ``"auto"`` would cut the error by more than 2×.
        compat: ``"pillar"`` for PILLAR's exact quantized formulation.
        exclude: (a, b) left out of the fit and of the metrics (sign-like targets).
        **options: solver options (minimax: tol, max_iterations, parity, points_per_piece;
            bits: integer_bound, max_nodes, time_limit, parity). Anything else is a TypeError.

    Returns:
        An :class:`~polyfit.approximation.Approximation` with metrics, depth, precision
        and provenance.

    >>> import polyfit as pf
    >>> pf.fit("relu", degree=4, domain=5, bits=10).stages[0].quantized.integers
    (322, 512, 160, 0, -3)
    """
    if method not in METHODS:
        raise InputError(f"method {method!r} is not allowed; allowed: {', '.join(METHODS)} (or pf.taylor)")
    if basis not in BASES:
        raise InputError(f"basis {basis!r} is not allowed; allowed: {', '.join(BASES)}")
    _check_options(options, method, bits)
    raw = input_scale is None
    scale = _resolve_input_scale(input_scale, domain)
    kwargs = dict(bits=bits, method=method, solver=solver, points=points, grid=grid, weight=weight, samples=samples,
                  compat=compat, exclude=exclude, options=options)
    approx = _fit_once(target, degree, domain, basis, scale, **kwargs)
    if raw and bits is not None:
        approx = _compare_normalised(approx, target, degree, domain, basis, **kwargs)
    return approx


def _fit_once(target, degree, domain, basis, input_scale, *, bits, method, solver, points, grid, weight, samples,
              compat, exclude, options) -> Approximation:
    norm = "linf" if method == "minimax" else "l2"
    if compat == "pillar" and bits is None:
        raise InputError("compat 'pillar' needs bits (PILLAR fits integer coefficients)")
    if solver == "gekko" and bits is None:
        raise InputError("solver 'gekko' needs bits (it solves PILLAR's mixed-integer problem)")
    if grid == "continuous" and (norm != "l2" or bits is not None):
        raise InputError("grid 'continuous' is for method lstsq without bits")
    if bits is not None and basis == "auto":
        solve_basis = "monomial"  # integers × 2^-F are monomial coefficients by definition
    else:
        solve_basis = "chebyshev" if bits is None else basis
    problem = make_problem(target, degree, domain, norm=norm, grid=grid, points=points, weight=weight,
                           samples=samples, basis=solve_basis, input_scale=input_scale, bits=bits, solver=solver,
                           compat=compat, exclude=exclude, options=options)
    if problem.frac_bits is not None:
        from .solvers import quantized

        approx = quantized.solve(problem)
        if basis == "auto":
            approx = _note_basis(approx, {"requested": "auto", "chosen": "monomial",
                                          "reason": "quantized coefficients are integers × 2^-F of the monomial basis"})
        return approx
    if method == "minimax":
        from .solvers import minimax

        approx = minimax.solve(problem)
    else:
        from .solvers import lstsq

        approx = lstsq.solve(problem)
    return store_basis(approx, basis)


def float_reference(approx: Approximation) -> Approximation | None:
    """The unquantized least-squares fit of the same target, degree, domain and input_scale as
    the one quantized stage of ``approx`` — what quantization-aware fitting is compared with in
    plots (:func:`polyfit.plot.plot_approximation`'s ``reference``) — or None when ``approx``
    is not one quantized stage or its target cannot be evaluated (an artifact of a callable)."""
    if len(approx.stages) != 1 or approx.stages[0].quantized is None:
        return None
    try:
        return fit(approx.target, approx.stages[0].degree, approx.domain, input_scale=approx.input_scale)
    except InputError:
        return None


# -- basis ----------------------------------------------------------------------------------
def store_basis(approx: Approximation, basis: str) -> Approximation:
    """The float fit ``approx`` (one Chebyshev stage) in the basis the artifact should keep.

    ``basis="auto"``: monomial when max |p_monomial − p_chebyshev| over the metric grid is at
    most tol = max(1 % of the Chebyshev solution's max error, 1e-12·max(1, max|p|)), else
    Chebyshev. ``"monomial"``: converted regardless, with a warning naming the measured
    errors of both when the rule is broken. ``"chebyshev"``: unchanged.
    """
    from .depth import depth_report
    from .metrics import DEFAULT_GRID_POINTS, measure, metric_grid
    from .reports import require_finite_error

    if basis == "chebyshev":
        return approx
    stage = approx.stages[0]
    with np.errstate(all="ignore"):
        mono_coefficients = np.asarray(stage.monomial_coefficients(), dtype=float)
    if not np.all(np.isfinite(mono_coefficients)):
        return _overflowing_monomial(approx, basis)
    mono = Stage("monomial", tuple(mono_coefficients))
    metrics = approx.metrics
    x = metric_grid(approx.domain, int(metrics.get("grid_points") or DEFAULT_GRID_POINTS), metrics.get("exclude"))
    t = x * approx.input_scale
    with np.errstate(all="ignore"):
        cheb_values, mono_values = stage(t), mono(t)
        change = float(np.max(np.abs(mono_values - cheb_values)))
    if not math.isfinite(change):
        change = math.inf
    cheb_error = float(metrics["max_abs_error"])
    scale = max(1.0, float(np.max(np.abs(cheb_values))))
    tolerance = max(AUTO_BASIS_RELATIVE * cheb_error, AUTO_BASIS_FLOOR * scale)
    keeps = change <= tolerance
    choice = {"requested": basis, "chebyshev_max_error": cheb_error, "conversion_change": change,
              "tolerance": tolerance,
              "rule": (f"monomial when converting changes values on the metric grid by at most "
                       f"max({AUTO_BASIS_RELATIVE:g} × the Chebyshev fit's max error, {AUTO_BASIS_FLOOR:g} × max|p|)")}
    if basis == "auto" and not keeps:
        choice.update(chosen="chebyshev", reason=(
            f"monomial coefficients would change values by {change:.2e}, more than the tolerance {tolerance:.2e} "
            f"(1% of the max error {cheb_error:.2e})"))
        return _note_basis(approx, choice)
    # precision is computed from the monomial coefficients in both bases (plan_coefficients),
    # so only the metrics and the depth (OpenFHE's interval rule) are measured again
    candidate = approx.replace(stages=(mono,))
    candidate = require_finite_error(candidate.replace(
        metrics=measure(candidate, candidate.target, candidate.domain, int(metrics.get("grid_points") or DEFAULT_GRID_POINTS),
                        metrics.get("exclude")),
        depth=depth_report(candidate)))
    choice.update(chosen="monomial", reason=(
        f"converting to monomial changes values by {change:.2e}, within the tolerance {tolerance:.2e}" if keeps else
        f"requested; converting changes values by {change:.2e}, more than the tolerance {tolerance:.2e}"))
    candidate = _note_basis(candidate, choice)
    if not keeps:
        note = (f"basis monomial loses the fit's accuracy: max error {candidate.metrics['max_abs_error']:.3e} instead of "
                f"{cheb_error:.3e} in the Chebyshev basis (conversion changes values by {change:.2e}); "
                "use --basis auto or --basis chebyshev (basis='auto'/'chebyshev')")
        candidate = _add_warning(candidate, note)
    return candidate


def _overflowing_monomial(approx: Approximation, basis: str) -> Approximation:
    """The Chebyshev fit kept (auto), or ComputationError (monomial), when its monomial
    coefficients overflow float64 (a tiny input_scale, or a high degree on a narrow t-interval)."""
    from .errors import ComputationError

    lo, hi = approx.stages[0].interval
    why = (f"its monomial coefficients in t = {approx.input_scale:g}·x (t in [{lo:g}, {hi:g}]) overflow float64")
    if basis == "monomial":
        raise ComputationError(f"basis monomial is impossible for this fit: {why}; use --basis auto or chebyshev "
                               "(basis='auto'/'chebyshev'), or an input scale nearer 1/max|domain|")
    return _note_basis(approx, {"requested": basis, "chosen": "chebyshev", "chebyshev_max_error":
                                float(approx.metrics["max_abs_error"]), "conversion_change": None, "tolerance": None,
                                "rule": "monomial only when its coefficients are finite and keep the accuracy",
                                "reason": f"monomial coefficients are not finite: {why}"})


def _note_basis(approx: Approximation, choice: dict) -> Approximation:
    provenance = dict(approx.provenance)
    provenance["basis_choice"] = choice
    provenance["options"] = {**provenance.get("options", {}), "basis": choice["requested"]}
    return approx.replace(provenance=provenance)


def _add_warning(approx: Approximation, note: str) -> Approximation:
    warnings.warn(note, stacklevel=4)
    provenance = dict(approx.provenance)
    provenance["warnings"] = list(provenance.get("warnings") or []) + [note]
    return approx.replace(provenance=provenance)


# -- input scale ------------------------------------------------------------------------------
def _resolve_input_scale(input_scale, domain):
    """None → 1.0 (raw variable); "auto" → 1/max|domain|; anything else is make_problem's to check."""
    if input_scale is None:
        return 1.0
    if isinstance(input_scale, str):
        if input_scale != "auto":
            raise InputError(f"input_scale {input_scale!r} is not allowed; allowed: a finite non-zero number or 'auto'")
        from .validate import check_domain

        lo, hi = check_domain(domain)
        return 1.0 / max(abs(lo), abs(hi))
    return input_scale


def _compare_normalised(approx, target, degree, domain, basis, **kwargs) -> Approximation:
    """Refit in t = x/max|domain|; warn with the measured alternative when it is > 2× better."""
    lo, hi = approx.domain
    bound = max(abs(lo), abs(hi))
    if bound == 1.0:
        return approx
    from .errors import PolyfitError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            other = _fit_once(target, degree, domain, basis, 1.0 / bound, **kwargs)
    except PolyfitError:
        return approx
    raw_error, scaled_error = approx.metrics["max_abs_error"], other.metrics["max_abs_error"]
    comparison = {"raw_max_error": raw_error, "auto_max_error": scaled_error, "auto_input_scale": 1.0 / bound}
    provenance = {**approx.provenance, "input_scale_check": comparison}
    approx = approx.replace(provenance=provenance)
    if scaled_error * INPUT_SCALE_GAIN < raw_error:
        note = (f"the integers are in the raw variable x: normalising (--input-scale auto, t = x/{bound:g}; "
                f"input_scale='auto') gives max error {scaled_error:.3e} instead of {raw_error:.3e} "
                f"({raw_error / max(scaled_error, 1e-300):.3g}× smaller)")
        approx = _add_warning(approx, note)
    return approx


# -- options ----------------------------------------------------------------------------------
def _check_options(options: dict, method: str, bits) -> None:
    """Unknown keywords are a TypeError (:class:`~polyfit.errors.UnknownOptionError`), as for any
    Python function: ``bit=10`` is not ``bits=10``."""
    if not options:
        return
    if bits is not None:
        from .solvers.quantized import OPTIONS as allowed
        where = "quantized (bits)"
    elif method == "minimax":
        from .solvers.minimax import DEFAULT_OPTIONS as allowed
        where = "minimax"
    else:
        allowed, where = {}, "lstsq"
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, list(_FIT_KEYWORDS) + list(allowed), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        names = ", ".join(sorted(allowed)) or "none"
        raise UnknownOptionError(f"fit() got an unexpected keyword argument {name!r}{hint} "
                                 f"(unknown {where} option; allowed: {names})")
