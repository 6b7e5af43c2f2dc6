"""Model surgery: replace activation sites through a factory.

:func:`replace_activations` follows ``torch.ao.quantization.convert``: it first collects
one replacement per site from ``factory(site)`` (sites from :func:`find_sites`'s dry run),
then assigns them; the input model is deep-copied unless ``inplace=True``. A module called
at several places in one forward (torchvision's BasicBlock calls ``self.relu`` twice) gets
one replacement per call with ``per_call=True`` through :class:`CallSiteDispatch`.
Attribute calls (``TransformerEncoderLayer(activation="gelu")``'s ``self.activation``) are
replaced by assigning the attribute; functional calls need ``fx=True``
(:mod:`polyfit.torch.fx_rewrite`).
"""
from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass
from typing import Callable

from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from .dispatch import CallSiteDispatch, reset_call_counters  # noqa: F401  (public names)
from .discovery import (ACTIVATION_TYPES, FUNCTIONAL_KINDS, HookSet, Site, SiteList,  # noqa: F401  (public names)
                        _user_frame, default_kinds, dry_run, find_sites, functional_activations, static_sites)

_static_sites = static_sites  # the name the recipes and export used


# -- replacement ------------------------------------------------------------------------------

@dataclass
class Replacement:
    """What one site became: ``name`` and the new ``module``, plus the site it replaced."""

    name: str
    module: nn.Module
    original: str
    site: Site

    def describe(self) -> str:
        return f"{self.name:<28} {self.original:<18} -> {type(self.module).__name__}"


class ReplacementReport(list):
    """``list[Replacement]``; ``as_dict()`` gives ``{name: new module}`` for the recipes."""

    def as_dict(self) -> dict[str, nn.Module]:
        return {r.name: r.module for r in self}

    def table(self) -> str:
        return "\n".join(r.describe() for r in self)


def _resolve_factory(factory) -> Callable[[Site], nn.Module]:
    if isinstance(factory, dict):
        mapping = dict(factory)

        def by_type(site: Site):
            kind = site.kind
            for wanted, make in mapping.items():
                if kind is not None and issubclass(kind, wanted):
                    return make(site)
            raise InputError(f"site {site.name!r}: no factory for type {site.type}; mapping has "
                             f"{', '.join(k.__name__ for k in mapping)} (to replace only those, pass "
                             f"kinds=({', '.join('nn.' + k.__name__ for k in mapping)},))")

        return by_type
    if not callable(factory):
        raise InputError(f"factory must be a callable site -> nn.Module or a {{type: callable}} mapping, got {type(factory).__name__}")
    return factory


def _make(factory, site: Site) -> nn.Module:
    made = factory(site)
    if not isinstance(made, nn.Module):
        raise InputError(f"factory returned {type(made).__name__} for site {site.name!r} ({site.type}); it must return a torch.nn.Module")
    if getattr(made, "site_name", "missing") is None:
        made.site_name = site.name
    return made


def _check_attribute_site(model: nn.Module, site: Site) -> None:
    parent_path, _, attr = site.name.rpartition(".")
    try:
        parent = model.get_submodule(parent_path) if parent_path else model
    except AttributeError:
        parent = None
    value = parent.__dict__.get(attr) if parent is not None else None
    if value is None or not any(value is f for f in functional_activations()):
        raise InputError(f"site {site.name!r} is not an attribute holding a functional activation in the model")


def replace_activations(model: nn.Module, factory, sites=None, inplace: bool = False, per_call: bool = False,
                        fx: bool = False, *, example_inputs=None, kinds=None):
    """Replace activation sites with ``factory(site)``; returns ``(model, report)``.

    Args:
        model: the network.
        factory: ``site -> nn.Module`` or a ``{module type: site -> nn.Module}`` mapping
            (attribute and functional sites match the module type computing the same
            function: ``F.relu`` → ``nn.ReLU``, see :attr:`Site.kind`).
        sites: a :func:`find_sites` result or a subset of it (only these are replaced);
            default: ``find_sites(model, example_inputs)`` when ``example_inputs`` is given,
            else every activation module found by ``named_modules`` (no functional check:
            pass ``example_inputs`` to get one).
        inplace: modify ``model`` itself instead of a deep copy.
        per_call: a module called k > 1 times per forward gets k replacements
            (a :class:`CallSiteDispatch`); otherwise one replacement serves all its calls.
        fx: rewrite functional activations (``F.relu`` …) with ``torch.fx`` into
            ``factory`` modules (the model must be symbolically traceable; returns a
            ``GraphModule``, or a :class:`~polyfit.torch.fx_rewrite.TrainEvalGraphs` when
            the training and eval graphs differ). Without it, functional sites raise
            :class:`InputError`.

    After replacing, transformer layers whose activation is no longer native ReLU/GELU
    have torch's fused fast path turned off (:func:`disable_transformer_fast_paths`).

    Raises:
        InputError: a functional site without ``fx=True``, or one ``fx`` cannot reach (inside
            a torch.nn module, which the tracer does not enter); a factory output that is not
            a module (naming the site); a site whose module is no longer in the model.
    """
    make = _resolve_factory(factory)
    kinds = tuple(kinds) if kinds is not None else default_kinds()
    complete = sites is None or isinstance(sites, SiteList)
    if sites is None:
        sites = find_sites(model, example_inputs, kinds) if example_inputs is not None else static_sites(model, kinds)
    sites = list(sites)
    for s in sites:
        if not isinstance(s, Site):
            raise InputError(f"sites must come from find_sites (Site objects), got {type(s).__name__}")
    functional = [s for s in sites if not s.reachable]
    if functional and not fx:
        listing = "; ".join(f"{s.name} at {s.location}" for s in functional[:4])
        raise InputError(f"{len(functional)} functional activation call(s) cannot be reached by module swapping "
                         f"({listing}); use nn modules in the model or pass fx=True")
    target = model if inplace else copy.deepcopy(model)
    report = ReplacementReport()

    # Collect: every replacement is built before anything is assigned.
    paths_of: dict[int, list[str]] = {}
    for name, module in target.named_modules(remove_duplicate=False):
        if name:
            paths_of.setdefault(id(module), []).append(name)
    original_by_name = dict(model.named_modules(remove_duplicate=False))
    planned: list[tuple[list[str], nn.Module]] = []
    for site in (s for s in sites if s.reachable):
        if site.attribute:
            _check_attribute_site(model, site)
            paths = [site.name]
        else:
            if original_by_name.get(site.name) is None:
                raise InputError(f"site {site.name!r} is not a submodule of the model")
            paths = paths_of.get(id(target.get_submodule(site.name)), [site.name])
        if per_call and site.call_count > 1:
            parts = [_make(make, site.for_call(k)) for k in range(site.call_count)]
            for k, part in enumerate(parts):
                report.append(Replacement(f"{site.name}.calls.{k}", part, site.type, site.for_call(k)))
            new = CallSiteDispatch(parts)
        else:
            new = _make(make, site)
            report.append(Replacement(site.name, new, site.type, site))
        planned.append((paths, new))

    # Assign.
    for paths, new in planned:
        for path in paths:
            set_submodule(target, path, new)
    disable_transformer_fast_paths(target)
    if fx:
        target = _fx_rewrite_functionals(target, make, functional, report, kinds, complete)
    if any(isinstance(new, CallSiteDispatch) for _, new in planned):
        target.register_forward_pre_hook(reset_call_counters)
    return target, report


def set_submodule(root: nn.Module, path: str, new: nn.Module) -> None:
    """Assign ``new`` at the dotted ``path`` (a submodule or a plain attribute)."""
    parent_path, _, leaf = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, leaf, new)


_set_submodule = set_submodule  # the name pooling and export used


def _fx_rewrite_functionals(model, make, functional_sites: list[Site], report: ReplacementReport, kinds, complete):
    """Route every requested functional activation through a ``factory`` module with torch.fx.

    Nodes are matched to the dry run's sites by name (enclosing module, function, k). Calls
    seen only in training mode (absent from the eval dry run) are replaced too when the
    sites are a whole :func:`find_sites` result; a requested site no node matches (inside a
    module the tracer does not enter) raises.
    """
    from .fx_rewrite import rewrite_calls

    wanted = {s.name: s for s in functional_sites}

    def pick(name, label, node):
        site = wanted.get(name)
        if site is None:
            if not complete:
                return None
            site = Site(name, None, label, None, call_count=1, order=len(report), reachable=False,
                        location="training mode only")
        return _make(make, site)

    result, replaced, train_only = rewrite_calls(model, functional_activations(), pick, "polyfit_fx_",
                                                 leaf_types=tuple(kinds))
    missed = [s for s in functional_sites if s.name not in replaced]
    if missed:
        listing = "; ".join(f"{s.name} at {s.location}" for s in missed[:4])
        raise InputError(f"fx=True could not reach {len(missed)} functional activation call(s) ({listing}): they run "
                         "inside torch.nn modules, which torch.fx does not trace into; give those modules an "
                         "activation module (or an attribute find_sites can replace)")
    for name, (attr, module) in replaced.items():
        site = wanted.get(name) or Site(name, None, name.rpartition(":")[2].partition("#")[0], None, call_count=1,
                                         reachable=False, location="training mode only")
        report.append(Replacement(attr, module, site.type, site))
    left = [n for n in train_only if n not in replaced]
    if left:
        warnings.warn(f"fx: {len(left)} functional call(s) run only in training mode and are not among the given "
                      f"sites; left as they are: {', '.join(left[:4])}", stacklevel=3)
    return result


def _native_transformer_activation(activation) -> bool:
    return activation is F.relu or activation is F.gelu or type(activation) in (nn.ReLU, nn.GELU)


def disable_transformer_fast_paths(model: nn.Module) -> list[str]:
    """Turn off torch's fused transformer kernels wherever the activation was replaced.

    In eval mode under no_grad, ``nn.TransformerEncoderLayer`` (and the encoder around it)
    runs ``torch._transformer_encoder_layer_fwd``, which computes ReLU or GELU natively from
    the flag ``activation_relu_or_gelu`` and never calls ``self.activation``; setting the
    flag to 0 sends those layers down the ordinary path. Returns the layers changed.
    """
    changed = []
    for name, module in model.named_modules():
        if getattr(module, "activation_relu_or_gelu", 0) and not _native_transformer_activation(
                getattr(module, "activation", None)):
            module.activation_relu_or_gelu = 0
            changed.append(name)
    return changed
