"""Naming and hooking activation sites: the small plumbing every recipe shares.

A *site* here is a named module whose input or output a recipe watches (a PolyActivation,
a Blended, a ReLU…). Recipes take sites as a mapping ``name -> module`` (or a model plus a
module filter) so they compose with any surgery; hooks are always removed by ``close()``
or on leaving a ``with`` block.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ...errors import InputError
from ..discovery import HookSet, as_site_mapping, dry_run  # noqa: F401  (as_site_mapping: a public name here)


def named_sites(model: nn.Module, kinds: type | tuple[type, ...] | Callable[[nn.Module], bool]) -> dict[str, nn.Module]:
    """``{qualified name: module}`` of the submodules of ``model`` matching ``kinds``.

    ``kinds`` is a module class, a tuple of classes, or a predicate ``module -> bool``.
    Order is ``model.named_modules()`` order (definition order); a module reachable
    under two names is listed once, under its first name.

    >>> m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    >>> list(named_sites(m, nn.ReLU))
    ['1']
    """
    match = kinds if callable(kinds) and not isinstance(kinds, type) else (lambda mod: isinstance(mod, kinds))
    return {name: mod for name, mod in model.named_modules() if name and match(mod)}


def first_tensor(args: Iterable) -> torch.Tensor | None:
    """The first positional tensor argument of a hook call (activation input)."""
    for a in args:
        if isinstance(a, torch.Tensor):
            return a
    return None


def execution_order(model: nn.Module, example_inputs) -> list[str]:
    """Qualified names of ``model``'s submodules in the order of their first call in one
    forward pass (forward pre-hooks, always removed; run under no_grad in eval mode, the
    training flag restored). Modules never called are left out.
    """
    order: list[str] = []
    seen: set[str] = set()

    def make_hook(name):
        def hook(module, inputs):
            if name not in seen:
                seen.add(name)
                order.append(name)
        return hook

    with HookSet() as hooks:
        for name, module in model.named_modules():
            if name:
                hooks.add(module.register_forward_pre_hook(make_hook(name)))
        dry_run(model, example_inputs)
    return order


def parameters_between(model: nn.Module, order: list[str], start: str | None, stop: str | None,
                       include_stop: bool = True) -> list[nn.Parameter]:
    """Parameters owned directly by modules called after ``start`` and before ``stop`` in
    ``order`` (from :func:`execution_order`); ``start=None`` means from the beginning,
    ``stop=None`` to the end. ``include_stop`` adds ``stop``'s own parameters (a trainable
    activation at the site). Each parameter appears once."""
    for label, name in (("start", start), ("stop", stop)):
        if name is not None and name not in order:
            raise InputError(f"site {name!r} ({label}) was not called in the dry run; called: {', '.join(order[:12])}")
    lo = order.index(start) + 1 if start is not None else 0
    hi = order.index(stop) + (1 if include_stop else 0) if stop is not None else len(order)
    modules = dict(model.named_modules())
    chosen = [p for name in order[lo:hi] for p in modules[name].parameters(recurse=False)]
    if stop is not None and include_stop:
        chosen += modules[stop].parameters()  # a site's nested parameters (Blended, CallSiteDispatch)
    return unique_parameters(chosen)


def unique_parameters(parameters: Iterable[nn.Parameter]) -> list[nn.Parameter]:
    """``parameters`` in order, each (shared ones included) once.

    >>> w = nn.Parameter(torch.zeros(1))
    >>> len(unique_parameters([w, w]))
    1
    """
    out, seen = [], set()
    for p in parameters:
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    return out


class frozen:
    """Context manager: ``requires_grad = False`` on every parameter of ``model`` except
    ``trainable``; restores the previous flags on exit.

    >>> m = nn.Linear(2, 2)
    >>> with frozen(m, [m.bias]):
    ...     m.weight.requires_grad, m.bias.requires_grad
    (False, True)
    """

    def __init__(self, model: nn.Module, trainable):
        self.model = model
        self.trainable = {id(p) for p in trainable}
        self._saved: list = []

    def __enter__(self):
        self._saved = [(p, p.requires_grad) for p in self.model.parameters()]
        for p, _ in self._saved:
            p.requires_grad_(id(p) in self.trainable)
        return self

    def __exit__(self, *exc):
        for p, flag in self._saved:
            p.requires_grad_(flag)
        return False
