"""polyfit.torch: polynomial activations in PyTorch, model surgery, profiling and export.

Needs the ``torch`` extra (``pip install 'polyfit-ppml[torch]'``); the core never imports it.
Layers, each importing only those below it (docs/architecture.md; tests/test_architecture.py):
kernels (``kernels``, ``blocked``, ``fused``) → modules (``activations``, ``blend``,
``quadratic``, ``norm``, ``pooling``, ``clip``, ``dispatch``) → surgery (``discovery``,
``surgery``, ``fx_rewrite``, ``pool_surgery``) → profiling and export (``profiling``,
``inference`` (finalize), ``export``) → ``recipes``; this package file serves all of them.

>>> import polyfit as pf, polyfit.torch as pft
>>> # model, report = pft.replace_activations(model, lambda site: pft.PolyActivation(approx))
"""
from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError:  # pragma: no cover - exercised only without the extra
    from ..errors import MissingExtraError

    raise MissingExtraError("polyfit.torch", "torch", "torch") from None

from .activations import PolyActivation, PolyFunction
from .blend import Blended, LinearRamp
from .quadratic import TrainableQuadratic
from .surgery import (ACTIVATION_TYPES, CallSiteDispatch, Replacement, ReplacementReport, Site, SiteList,
                      find_sites, replace_activations)

_LAZY = {
    "ApproxMinMaxNorm": ".norm",
    "ClipInTraining": ".clip",
    "SignMaxPool2d": ".pooling",
    "ZeroPadAvgPool2d": ".pooling",
    "FixedAdaptiveAvgPool2d": ".pooling",
    "avg_pool_like": ".pooling",
    "pool_scale": ".pooling",
    "swap_max_pooling": ".pool_surgery",
    "TrainEvalGraphs": ".fx_rewrite",
    "profile_sites": ".profiling",
    "SiteProfile": ".profiling",
    "Profile": ".profiling",
    "finalize": ".inference",
    "fold_batchnorm": ".inference",
    "export_onnx": ".export",
    "onnx_op_types": ".export",
    "save_bundle": ".export",
    "load_bundle": ".export",
    "bundle": ".export",
    "plan_network": ".planning",
    "NetworkPlan": ".planning",
    "NetworkPlanner": ".planning",
    "network_depth": ".planning",
    "NetworkDepth": ".planning",
    "load_plan": ".planning",
}

__all__ = ["ACTIVATION_TYPES", "Blended", "CallSiteDispatch", "LinearRamp", "PolyActivation", "PolyFunction",
           "Replacement", "ReplacementReport", "Site", "SiteList", "TrainableQuadratic", "find_sites",
           "replace_activations", *_LAZY]


def _recipes_names() -> list[str]:
    """Public names of polyfit.torch.recipes (the training recipes), served lazily from here."""
    import importlib

    return importlib.import_module(f"{__name__}.recipes").__all__


def __getattr__(name):
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    if name == "recipes":
        return importlib.import_module(f"{__name__}.recipes")
    if name in _recipes_names():
        return getattr(importlib.import_module(f"{__name__}.recipes"), name)
    raise AttributeError(f"module 'polyfit.torch' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__) | set(_recipes_names()))
