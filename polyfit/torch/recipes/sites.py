"""Naming and hooking activation sites: the small plumbing every recipe shares.

A *site* here is a named module whose input or output a recipe watches (a PolyActivation,
a Blended, a ReLU…). Recipes take sites as a mapping ``name -> module`` (or a model plus a
module filter) so they compose with any surgery; hooks are always removed by ``close()``
or on leaving a ``with`` block.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from ...errors import InputError


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


def as_site_mapping(sites) -> dict[str, nn.Module]:
    """Accept ``{name: module}``, an iterable of ``(name, module)`` or of objects with
    ``.name`` and ``.module`` (surgery reports); return ``{name: module}``."""
    if isinstance(sites, Mapping):
        out = dict(sites)
    elif isinstance(sites, nn.Module):
        raise InputError("pass sites as {name: module}; for a whole model use named_sites(model, kinds)")
    else:
        out = {}
        for item in sites:
            if isinstance(item, tuple) and len(item) == 2:
                name, mod = item
            else:
                name, mod = getattr(item, "name", None), getattr(item, "module", None)
            if name is None or not isinstance(mod, nn.Module):
                raise InputError(f"site {item!r} is not a (name, module) pair")
            out[str(name)] = mod
    if not out:
        raise InputError("no activation sites given; expected at least one (name, module)")
    for name, mod in out.items():
        if not isinstance(mod, nn.Module):
            raise InputError(f"site {name!r} is {type(mod).__name__}, not a torch.nn.Module")
    return out


class HookSet:
    """A set of hook handles removed together (``with HookSet() as hooks: ...``)."""

    def __init__(self):
        self._handles: list = []

    def add(self, handle) -> None:
        self._handles.append(handle)

    def close(self) -> None:
        while self._handles:
            self._handles.pop().remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __len__(self) -> int:
        return len(self._handles)


def first_tensor(args: Iterable) -> torch.Tensor | None:
    """The first positional tensor argument of a hook call (activation input)."""
    for a in args:
        if isinstance(a, torch.Tensor):
            return a
    return None
