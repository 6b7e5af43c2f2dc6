"""Swapping max pooling for average pooling or a polynomial max, modules and functional calls.

``nn.MaxPool2d`` modules are replaced by assignment. Functional calls (``F.max_pool2d`` in
a ``forward``, as torchvision's inception_v3 does) are found by a dry run when
``example_inputs`` are given and rewritten with ``torch.fx`` when ``fx=True``; without
``fx`` they are refused, naming each call. Without ``example_inputs``, a forward whose code
names ``max_pool2d`` is refused the same way (module swapping alone would leave it).
"""
from __future__ import annotations

import copy
from types import MappingProxyType

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import InputError
from .discovery import SiteWatcher, _user_frame, dry_run
from .pooling import avg_pool_like, pool_scale, sign_pool_like
from .surgery import set_submodule

#: Functional max pooling calls: ``{callable: display name}``.
FUNCTIONAL_POOLS = MappingProxyType({F.max_pool2d: "F.max_pool2d", torch.max_pool2d: "torch.max_pool2d",
                                     F.max_pool2d_with_indices: "F.max_pool2d_with_indices"})
_POOL_ARGS = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")


class _PoolCalls(SiteWatcher):
    """Records functional max pooling calls outside ``nn.MaxPool2d`` modules."""

    def __init__(self):
        super().__init__((nn.MaxPool2d,), FUNCTIONAL_POOLS)
        self.calls: list[tuple[str, str]] = []

    def on_call(self, name, label, x, attribute):
        self.calls.append((name, _user_frame()))


def functional_pools(model: nn.Module, example_inputs) -> list[tuple[str, str]]:
    """``[(call site name, file:line)]`` of functional max pooling in one dry run."""
    watch = _PoolCalls()
    with watch.attached(model):
        dry_run(model, example_inputs)
    return watch.calls


def _named_max_pool(model: nn.Module) -> list[str]:
    """Modules (outside torch.nn) whose methods' code names max_pool2d: a static hint."""
    names = []
    for name, module in model.named_modules():
        cls = type(module)
        if cls.__module__.startswith("torch.") or isinstance(module, nn.MaxPool2d):
            continue
        for attr in vars(cls).values():
            code = getattr(attr, "__code__", None)
            if code is not None and {"max_pool2d", "max_pool2d_with_indices"} & set(code.co_names):
                names.append(f"{name or '<root>'} ({cls.__name__}.{attr.__name__})")
                break
    return names


def _pool_arguments(node) -> dict:
    values = dict(zip(_POOL_ARGS, node.args))
    values.update(node.kwargs)
    if values.get("return_indices"):
        raise InputError(f"fx: {node.name} asks max_pool2d for indices; no polynomial pooling returns them")
    return {k: v for k, v in values.items() if k != "input"}


def _scale_for(name, scale, approximation):
    if isinstance(scale, dict):
        if name not in scale:
            raise InputError(f"pool {name!r}: no scale given; scales cover {', '.join(map(str, scale)) or 'nothing'}")
        value = scale[name]
        return pool_scale(value, approximation) if hasattr(value, "maximum") else _number(value, f"pool {name!r}: scale")
    return _number(scale, "scale")


def _number(value, what: str) -> float:
    """A real number (SignMaxPool2d then checks it is finite and positive); else InputError."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what} {value!r} must be a number B > 0, a SiteProfile or a {{pool name: either}} mapping")
    return float(value)


def swap_max_pooling(model: nn.Module, mode: str = "avg", approximation=None, scale=1.0, inplace: bool = False, *,
                     example_inputs=None, fx: bool = False, **options):
    """Replace every max pooling: ``mode="avg"`` → average pooling (divisor k² in every
    window, ceil mode included), ``mode="sign"`` → :class:`~polyfit.torch.SignMaxPool2d`.

    Args:
        scale: B for ``mode="sign"``: one number, or ``{pool name: B or SiteProfile}`` (a
            profile of that pool's inputs, e.g. ``profile_sites(model, loader, sites=pools)``,
            turned into B by :func:`~polyfit.torch.pooling.pool_scale`).
        example_inputs: run a dry run that also finds functional ``F.max_pool2d`` calls.
        fx: rewrite those calls with ``torch.fx`` (returns a GraphModule, or TrainEvalGraphs
            when the training and eval graphs differ); without it they raise InputError.
        options: passed to SignMaxPool2d (``on_out_of_range``, ``domain``).

    Returns ``(model, [(name, new module), ...])``; deep-copies unless ``inplace``.
    """
    if mode not in ("avg", "sign"):
        raise InputError(f"pooling mode {mode!r} is unknown; allowed: avg, sign")
    if mode == "sign" and approximation is None:
        raise InputError("mode='sign' needs an approximation of sign, |x| or ReLU (e.g. a composite preset)")
    if example_inputs is not None:
        calls = functional_pools(model, example_inputs)
        if calls and not fx:
            listing = "; ".join(f"{name} at {where}" for name, where in calls[:4])
            raise InputError(f"{len(calls)} functional max pooling call(s) cannot be reached by module swapping "
                             f"({listing}); pass fx=True to rewrite them")
    elif not fx:
        hints = _named_max_pool(model)
        if hints:
            raise InputError(f"the forward of {', '.join(hints[:4])} calls max_pool2d functionally, which module "
                             "swapping cannot reach; pass example_inputs= to find the calls and fx=True to rewrite them")

    def make(name, args):
        if mode == "avg":
            return avg_pool_like(args)
        return sign_pool_like(args, approximation, _scale_for(name, scale, approximation), **options)

    target = model if inplace else copy.deepcopy(model)
    planned = []
    for name, module in target.named_modules():
        if isinstance(module, nn.MaxPool2d):
            if not name:
                raise InputError("the model itself is a MaxPool2d; wrap it in a container to swap it")
            planned.append((name, make(name, module)))
    for name, new in planned:
        set_submodule(target, name, new)
    if fx:
        from .fx_rewrite import rewrite_calls

        target, replaced, _ = rewrite_calls(target, FUNCTIONAL_POOLS, lambda name, label, node: make(name, _pool_arguments(node)),
                                            "polyfit_pool_")
        planned += [(attr, module) for attr, module in replaced.values()]
    return target, planned
