"""polyfit: polynomial approximations of non-polynomial functions for HE and MPC.

>>> import polyfit as pf
>>> a = pf.fit("relu", degree=4, domain=5, bits=10)
>>> a.stages[0].quantized.integers
(322, 512, 160, 0, -3)

Heavy packages (torch, botorch, tenseal, matplotlib, sympy) load only when a feature needs
them; ``import polyfit`` costs numpy.
"""
from ._version import __version__
from .approximation import Approximation, Quantization, Stage
from .errors import ArtifactError, ComputationError, InputError, PolyfitError
from .fitting import fit
from .targets import Target, get_target, target_names
from .targets import parse_expr as expr

__all__ = [
    "Approximation", "ArtifactError", "ComputationError", "InputError", "PolyfitError", "Quantization",
    "Stage", "Target", "__version__", "composite", "expr", "fit", "get_target", "load", "search", "taylor",
    "target_names", "verify",
]


def load(path) -> Approximation:
    """Read and validate an artifact JSON file (see :mod:`polyfit.artifact`)."""
    from .artifact import load as _load

    return _load(path)


def taylor(target, degree, center=0.0, domain=None):
    """Taylor polynomial of ``target`` about ``center`` (SymPy series; see solvers/taylor.py)."""
    from .solvers.taylor import taylor as _taylor

    return _taylor(target, degree, center=center, domain=domain)


def __getattr__(name):
    # Features from later issues load on first use, keeping `import polyfit` light.
    if name == "composite":
        from .solvers.composite import composite

        return composite
    if name == "search":
        from .solvers.search import search

        return search
    if name == "verify":
        from .verification import verify

        return verify
    raise AttributeError(f"module 'polyfit' has no attribute {name!r}")
