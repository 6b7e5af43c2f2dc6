"""The figure of an approximation (matplotlib, imported only when drawing).

It draws what it is given — the value's own numbers and an optional reference curve the
caller computed — and never fits, so :meth:`Approximation.plot` can call it without reaching
above the value layer (docs/architecture.md). ``polyfit plot`` and ``fit --plot`` pass the
unquantized least-squares fit of a quantized stage as the reference
(:func:`polyfit.fitting.float_reference`).
"""
from __future__ import annotations

import numpy as np

from .errors import InputError


def plot_approximation(approx, points: int = 2001, figure=None, reference=None, reference_label=None):
    """Figure with (top) target, approximation and ``reference`` (a callable, drawn dashed,
    when given); (bottom) |error| on a log scale.

    ``reference_label`` defaults to "float L2 fit (same degree, unquantized)", what the CLI
    passes for a quantized stage. Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    from .validate import check_integer

    points = check_integer(points, "points", 2, 1_000_000)
    lo, hi = approx.domain
    x = np.linspace(lo, hi, points)
    y = approx(x)
    reference_y = None if reference is None else _reference_values(reference, x)
    fig = figure or plt.figure(figsize=(7.5, 6.0))
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    try:
        f = approx.target(x)
    except InputError:  # an artifact of a Python callable has no target to evaluate
        f = None
    if f is not None:
        top.plot(x, f, color="black", lw=1.5, label=f"target {approx.target.name}")
    label = f"approximation (degrees {approx.degrees})"
    bits = sorted({s.quantized.frac_bits for s in approx.stages if s.quantized})
    if bits:
        label = f"quantized, 2^-{bits[0] if len(bits) == 1 else bits} (degrees {approx.degrees})"
    top.plot(x, y, color="tab:blue", lw=1.2, label=label)
    if reference_y is not None:
        top.plot(x, reference_y, color="tab:orange", lw=1.0, ls="--",
                 label=reference_label or "float L2 fit (same degree, unquantized)")
    exclude = (approx.metrics or {}).get("exclude")
    if exclude:
        for ax in (top, bottom):
            ax.axvspan(exclude[0], exclude[1], color="grey", alpha=0.15, lw=0)
    top.set_ylabel("y")
    top.legend(loc="best", fontsize=8)
    top.grid(alpha=0.3)
    top.set_title(plot_title(approx), fontsize=8)
    if f is not None:
        err = np.abs(y - f)
        err[err == 0] = np.nan  # log scale: exact points are gaps, not -inf
        bottom.semilogy(x, err, color="tab:red", lw=1.0)
        bottom.set_ylabel("|error|")
    bottom.set_xlabel("x")
    bottom.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


def _reference_values(reference, x: np.ndarray) -> np.ndarray:
    """reference(x), checked: one real number per x (InputError otherwise, before drawing)."""
    if not callable(reference):
        raise InputError(f"reference must be a callable of x (an Approximation or a function), "
                         f"got {type(reference).__name__}")
    values = np.asarray(reference(x))
    if values.shape != x.shape or values.dtype.kind not in "biuf":
        raise InputError(f"reference must return one real number per x (shape {x.shape}); it returned shape "
                         f"{values.shape} of dtype {values.dtype}")
    return values.astype(float)


def plot_title(approx) -> str:
    """Two lines: what was fitted where (target, degree(s), domain) and how (solver, coefficient
    precision, stored max |error|), e.g.

    ``relu ≈ degree 4 on [-5, 5]`` / ``quantized-l2 (exact), integers × 2^-10, max |error| 3.145e-01``
    """
    lo, hi = approx.domain
    degrees = f"degree {approx.degrees[0]}" if len(approx.degrees) == 1 else f"degrees {approx.degrees}"
    combine = f", combine {approx.combine}" if approx.combine != "none" else ""
    head = f"{approx.target.name} ≈ {degrees} on [{lo:g}, {hi:g}]{combine}"
    prov = approx.provenance or {}
    solver = str(prov.get("solver") or "unknown solver") + (f" ({prov['backend']})" if prov.get("backend") else "")
    bits = sorted({s.quantized.frac_bits for s in approx.stages if s.quantized})
    precision = (f"integers × 2^-{bits[0]}" if len(bits) == 1 else f"integers × 2^-{bits}") if bits else "float64 coefficients"
    error = (approx.metrics or {}).get("max_abs_error")
    if not approx.metrics:
        measured = "max |error| not stated"
    else:
        measured = f"max |error| {error:.3e}" if error is not None else "max |error| not finite"
    return f"{head}\n{solver}, {precision}, {measured}"


def save_plot(approx, path, reference=None) -> str:
    """Render :func:`plot_approximation` to a PNG, atomically (temp file + rename)."""
    from .atomic import save_figure

    return save_figure(lambda: plot_approximation(approx, reference=reference), path)
