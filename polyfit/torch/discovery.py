"""Finding activation sites: one dry run with hooks and a ``TorchFunctionMode``.

A *site* is a place in the forward pass where an activation runs:

- an activation module (``nn.ReLU`` …), seen by a forward *pre*-hook (an in-place ReLU
  overwrites its input before a forward hook could read it);
- an *attribute* call: a module attribute bound to a functional activation and called
  through it (``nn.TransformerEncoderLayer(activation="gelu")`` stores ``F.gelu`` as
  ``self.activation``). Assigning a module to that attribute replaces it, so these sites
  are reachable by module surgery; they are recognised exactly, by wrapping the attribute
  for the duration of the dry run;
- a *functional* call (``F.relu(x)``, ``torch.relu``, ``x.relu()`` … outside any activation
  module), seen by the mode: module swapping cannot reach it (``reachable=False``); its
  ``file:line`` is the innermost frame outside torch and polyfit.torch.

:class:`SiteWatcher` holds the machinery (module stack, per-forward call counters); the dry
run of :func:`find_sites` and the profiling of :func:`polyfit.torch.profile_sites` are two
uses of it. Hooks and wrapped attributes are always restored (``HookSet`` / ``finally``).
"""
from __future__ import annotations

import os
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

from ..errors import InputError

#: Activation module types found by default (polyfit's own modules are added at call time).
ACTIVATION_TYPES: tuple[type, ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Softsign,
    nn.Tanhshrink, nn.LogSigmoid,
)

#: The module class computing what a functional activation computes (by the name after the dot).
FUNCTIONAL_KINDS: Mapping[str, type] = MappingProxyType({
    "relu": nn.ReLU, "relu_": nn.ReLU, "relu6": nn.ReLU6, "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU,
    "silu": nn.SiLU, "mish": nn.Mish, "elu": nn.ELU, "selu": nn.SELU, "celu": nn.CELU, "softplus": nn.Softplus,
    "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid, "hardtanh": nn.Hardtanh, "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh, "logsigmoid": nn.LogSigmoid, "softsign": nn.Softsign,
})


def functional_activations() -> dict[Any, str]:
    """Callables that compute an activation without a module: ``{callable: display name}``."""
    return {
        F.relu: "F.relu", F.relu_: "F.relu_", torch.relu: "torch.relu", torch.relu_: "torch.relu_",
        torch.Tensor.relu: "Tensor.relu", torch.Tensor.relu_: "Tensor.relu_", F.relu6: "F.relu6",
        F.leaky_relu: "F.leaky_relu", F.gelu: "F.gelu", F.silu: "F.silu", F.mish: "F.mish", F.elu: "F.elu",
        F.selu: "F.selu", F.celu: "F.celu", F.softplus: "F.softplus", F.hardswish: "F.hardswish",
        F.hardsigmoid: "F.hardsigmoid", F.hardtanh: "F.hardtanh", torch.sigmoid: "torch.sigmoid",
        torch.Tensor.sigmoid: "Tensor.sigmoid", torch.tanh: "torch.tanh", torch.Tensor.tanh: "Tensor.tanh",
        F.sigmoid: "F.sigmoid", F.tanh: "F.tanh", F.logsigmoid: "F.logsigmoid", F.softsign: "F.softsign",
    }


def default_kinds() -> tuple[type, ...]:
    """ACTIVATION_TYPES plus polyfit's activation modules (so a replaced model still profiles)."""
    from .activations import PolyActivation
    from .blend import Blended
    from .quadratic import TrainableQuadratic

    return ACTIVATION_TYPES + (PolyActivation, TrainableQuadratic, Blended)


@dataclass
class Site:
    """One activation site, in the order the dry run first reached it.

    Attributes:
        name: module path (``"features.3"``); for an attribute call the attribute's path
            (``"encoder.layers.0.activation"``); for a functional call
            ``"<enclosing module path>:<function>#<k>"``.
        module: the activation module (None for attribute and functional calls).
        type: class name of the module, or the functional's name (``"F.gelu"``).
        input_shape: shape of the first call's input.
        call_count: calls during the dry run (a shared module called twice: 2).
        layers_since_previous: leaf modules run between the previous site's call and this one's
            first call (the count before the first site counts from the model's input).
        order: 0-based execution index among sites.
        reachable: False for functional calls, which module swapping cannot replace.
        location: ``file:line`` of an attribute or functional call (empty for modules).
        call_shapes: input shape of each call (per-call replacement uses them).
        call_layers_since_previous: ``layers_since_previous`` of each call.
        call_index: k on the per-call view :meth:`for_call` hands to factories, else None.
        attribute: True for an attribute call (replaced by assigning the attribute).
    """

    name: str
    module: nn.Module | None
    type: str
    input_shape: tuple | None
    call_count: int = 0
    layers_since_previous: int = 0
    order: int = 0
    reachable: bool = True
    location: str = ""
    call_shapes: list = field(default_factory=list)
    call_layers_since_previous: list = field(default_factory=list)
    call_index: int | None = None
    attribute: bool = False

    @property
    def kind(self) -> type | None:
        """The module class of the site: the module's, or the one computing the same
        function for attribute and functional calls (``F.relu`` → ``nn.ReLU``)."""
        if self.module is not None:
            return type(self.module)
        return FUNCTIONAL_KINDS.get(self.type.rpartition(".")[2])

    def for_call(self, k: int) -> "Site":
        """The site as seen by call ``k`` (per-call replacement)."""
        shape = self.call_shapes[k] if k < len(self.call_shapes) else self.input_shape
        layers = self.call_layers_since_previous[k] if k < len(self.call_layers_since_previous) else 0
        return Site(f"{self.name}#{k}", self.module, self.type, shape, 1, layers, self.order, self.reachable,
                    self.location, [shape], [layers], k, self.attribute)

    def describe(self) -> str:
        where = f" at {self.location}" if self.location else ""
        shape = "x".join(str(s) for s in self.input_shape) if self.input_shape else "?"
        return f"{self.order:>3}  {self.name:<28} {self.type:<18} in {shape:<16} calls {self.call_count}  +{self.layers_since_previous} layers{where}"


class SiteList(list):
    """``list[Site]`` in execution order, with the functional (unreachable) ones split out."""

    @property
    def functional(self) -> list[Site]:
        return [s for s in self if not s.reachable]

    @property
    def modules(self) -> list[Site]:
        return [s for s in self if s.reachable]

    def table(self) -> str:
        return "\n".join(s.describe() for s in self)


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


def dry_run(model: nn.Module, example_inputs):
    """``model(*example_inputs)`` once in eval mode under ``torch.no_grad()``, the training
    flag restored after; returns the output. ``example_inputs``: a tensor or a tuple."""
    args = example_inputs if isinstance(example_inputs, tuple) else (example_inputs,)
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            return model(*args)
    finally:
        model.train(was_training)


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


def _hashable(obj) -> bool:
    try:
        hash(obj)
        return True
    except TypeError:
        return False


def _inside(path: str, directory: str) -> bool:
    """Whether ``path`` lies in ``directory`` (``…/torchvision`` is not inside ``…/torch``)."""
    return path == directory or path.startswith(directory.rstrip(os.sep) + os.sep)


def _user_frame() -> str:
    """file:line of the innermost frame outside torch and polyfit.torch."""
    libraries = (os.path.dirname(os.path.abspath(torch.__file__)), os.path.dirname(os.path.abspath(__file__)))
    for frame in reversed(traceback.extract_stack()):
        path = os.path.abspath(frame.filename)
        if not any(_inside(path, d) for d in libraries):
            return f"{os.path.basename(frame.filename)}:{frame.lineno}"
    return ""


class _AttributeCall:
    """Stands in for a module attribute bound to a functional activation during a watch:
    calls the function with the watcher told which attribute it came through."""

    def __init__(self, function, path: str, watcher: "SiteWatcher"):
        self.function, self.path, self.watcher = function, path, watcher

    def __call__(self, *args, **kwargs):
        self.watcher.via_attribute.append((self.function, self.path))
        try:
            return self.function(*args, **kwargs)
        finally:
            self.watcher.via_attribute.pop()


class SiteWatcher(TorchFunctionMode):
    """Follows one model's forward passes and reports every site call to its subclass.

    ``on_module(name, module, args)`` for an activation module (outermost only: modules
    inside a site are not sites), ``on_call(name, label, x, attribute)`` for an attribute or
    functional call, named as :class:`Site` says. Counters restart at every root forward.
    Use as ``with watcher.attached(model): ...``.
    """

    def __init__(self, kinds, functionals=None):
        super().__init__()
        self.kinds = kinds
        self.functionals = functional_activations() if functionals is None else functionals
        self.site_depth = 0
        # activation modules left out of ``kinds`` (find_sites(kinds=(nn.ReLU,)) on a model with
        # nn.GELU): their own F.gelu inside is not a functional site of the model
        self.other_kinds = tuple(k for k in default_kinds() if not issubclass(k, tuple(kinds)))
        self.quiet_depth = 0
        self.module_stack: list[str] = []
        self.functional_counts: dict[str, int] = {}
        self.via_attribute: list = []
        self.paused = False  # True while the watcher's own work runs (its torch calls are not the model's)

    # -- subclass interface ------------------------------------------------------------
    def on_module(self, name: str, module: nn.Module, args) -> None:
        """An activation module is called."""

    def on_call(self, name: str, label: str, x, attribute: bool) -> None:
        """An attribute or functional activation is called."""

    def on_leaf(self) -> None:
        """A leaf module outside any site finished."""

    # -- machinery ----------------------------------------------------------------------
    def pre_hook(self, name, module, args):
        if not self.module_stack:
            self.functional_counts.clear()
        self.module_stack.append(name)
        if isinstance(module, self.kinds):
            if self.site_depth == 0:
                self.on_module(name, module, args)
            self.site_depth += 1
        if isinstance(module, self.other_kinds):
            self.quiet_depth += 1

    def post_hook(self, name, module, args, output):
        if self.module_stack:
            self.module_stack.pop()
        if isinstance(module, self.other_kinds):
            self.quiet_depth -= 1
        if isinstance(module, self.kinds):
            self.site_depth -= 1
        elif self.site_depth == 0 and not any(True for _ in module.children()):
            self.on_leaf()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.paused:
            return func(*args, **kwargs)
        label = self.functionals.get(func) if _hashable(func) else None
        if label is not None and self.site_depth == 0 and self.quiet_depth == 0:
            x = args[0] if args else kwargs.get("input")
            if self.via_attribute and self.via_attribute[-1][0] is func:
                self.on_call(self.via_attribute[-1][1], label, x, True)
            else:
                enclosing = self.module_stack[-1] if self.module_stack else ""
                key = f"{enclosing or '<root>'}:{label}"
                k = self.functional_counts.get(key, 0)
                self.functional_counts[key] = k + 1
                self.on_call(f"{key}#{k}", label, x, False)
        return func(*args, **kwargs)

    def attached(self, model: nn.Module):
        """Context manager: hooks on every module, attribute calls wrapped, this mode on."""
        return _Attached(self, model)


class _Attached:
    def __init__(self, watcher: SiteWatcher, model: nn.Module):
        self.watcher, self.model = watcher, model
        self.hooks = HookSet()
        self.wrapped: list = []

    def __enter__(self):
        w = self.watcher
        try:
            for name, module in self.model.named_modules():
                self.hooks.add(module.register_forward_pre_hook(lambda mod, a, _n=name: w.pre_hook(_n, mod, a)))
                self.hooks.add(module.register_forward_hook(lambda mod, a, out, _n=name: w.post_hook(_n, mod, a, out)))
                for attr, value in list(vars(module).items()):
                    if not attr.startswith("_") and _hashable(value) and value in w.functionals:
                        path = f"{name}.{attr}" if name else attr
                        self.wrapped.append((module, attr, value))
                        module.__dict__[attr] = _AttributeCall(value, path, w)
            w.__enter__()
        except BaseException:
            self._restore()
            raise
        return w

    def _restore(self):
        self.hooks.close()
        while self.wrapped:
            module, attr, value = self.wrapped.pop()
            module.__dict__[attr] = value

    def __exit__(self, *exc):
        try:
            self.watcher.__exit__(*exc)
        finally:
            self._restore()
        return False


class _DryRun(SiteWatcher):
    """Builds the :class:`Site` list of one forward."""

    def __init__(self, kinds):
        super().__init__(kinds)
        self.sites: dict[str, Site] = {}
        self.ordered: list[Site] = []
        self.leaves_since_site = 0

    def on_leaf(self):
        self.leaves_since_site += 1

    def _record(self, name, make, x):
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else None
        site = self.sites.get(name)
        if site is None:
            site = make(shape)
            self.sites[name] = site
            self.ordered.append(site)
        site.call_count += 1
        site.call_shapes.append(shape)
        site.call_layers_since_previous.append(self.leaves_since_site)
        self.leaves_since_site = 0

    def on_module(self, name, module, args):
        x = args[0] if args else None
        self._record(name, lambda shape: Site(name, module, type(module).__name__, shape, order=len(self.ordered),
                                              layers_since_previous=self.leaves_since_site), x)

    def on_call(self, name, label, x, attribute):
        self._record(name, lambda shape: Site(name, None, label, shape, order=len(self.ordered),
                                              layers_since_previous=self.leaves_since_site, reachable=attribute,
                                              location=_user_frame(), attribute=attribute), x)


def find_sites(model: nn.Module, example_inputs, kinds: tuple[type, ...] | None = None) -> SiteList:
    """Every activation site of ``model`` in execution order, from one dry run.

    Args:
        model: any ``nn.Module``; run once in eval mode under ``torch.no_grad()`` (its
            training flag is restored after). Code that runs only in training mode (an
            auxiliary classifier) is not seen; ``replace_activations(fx=True)`` traces both.
        example_inputs: a tensor or a tuple of positional inputs.
        kinds: module types counted as activations (default :func:`default_kinds`).
            Modules nested inside a site (a Blended's ReLU) are not sites of their own.

    Returns:
        a :class:`SiteList`; ``.functional`` lists calls like ``F.relu`` that module
        swapping cannot replace, with the enclosing module and ``file:line``.

    Hooks and wrapped attributes are restored whatever happens.
    """
    kinds = tuple(kinds) if kinds is not None else default_kinds()
    if not kinds or not all(isinstance(k, type) for k in kinds):
        raise InputError(f"kinds must be a tuple of module classes, got {kinds!r}")
    run = _DryRun(kinds)
    with run.attached(model):
        dry_run(model, example_inputs)
    return SiteList(run.ordered)


def static_sites(model: nn.Module, kinds) -> SiteList:
    """Sites from ``named_modules`` alone (no dry run): no shapes, no functional calls.

    Definition order; a module reachable under two names is listed once (``named_modules``
    drops duplicates), and modules nested inside a site are not sites of their own.
    """
    found = []
    for name, module in model.named_modules():
        if name and isinstance(module, kinds) and not any(name.startswith(s.name + ".") for s in found):
            found.append(Site(name, module, type(module).__name__, None, order=len(found)))
    return SiteList(found)
