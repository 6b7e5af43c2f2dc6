"""Model surgery: find activation sites with one dry run, replace them through a factory.

:func:`find_sites` runs the model once with forward *pre*-hooks on every module (an
in-place ReLU overwrites its input before a forward hook could read it) and a
``TorchFunctionMode`` that sees functional activations (``F.relu``, ``torch.relu``,
``x.relu()`` …) called outside activation modules: module swapping cannot reach those,
and :func:`replace_activations` refuses to run past them unless asked to rewrite the
graph with ``torch.fx``.

:func:`replace_activations` follows ``torch.ao.quantization.convert``: it first collects
one replacement per site from ``factory(site)``, then assigns them; the input model is
deep-copied unless ``inplace=True``. A module called at several places in one forward
(torchvision's BasicBlock calls ``self.relu`` twice) gets one replacement per call with
``per_call=True`` through :class:`CallSiteDispatch`.
"""
from __future__ import annotations

import copy
import os
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable

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


def functional_activations() -> dict[Any, str]:
    """Callables that compute an activation without a module: ``{callable: display name}``."""
    table = {
        F.relu: "F.relu", F.relu_: "F.relu_", torch.relu: "torch.relu", torch.relu_: "torch.relu_",
        torch.Tensor.relu: "Tensor.relu", torch.Tensor.relu_: "Tensor.relu_", F.relu6: "F.relu6",
        F.leaky_relu: "F.leaky_relu", F.gelu: "F.gelu", F.silu: "F.silu", F.mish: "F.mish", F.elu: "F.elu",
        F.selu: "F.selu", F.celu: "F.celu", F.softplus: "F.softplus", F.hardswish: "F.hardswish",
        F.hardsigmoid: "F.hardsigmoid", F.hardtanh: "F.hardtanh", torch.sigmoid: "torch.sigmoid",
        torch.Tensor.sigmoid: "Tensor.sigmoid", torch.tanh: "torch.tanh", torch.Tensor.tanh: "Tensor.tanh",
        F.sigmoid: "F.sigmoid", F.tanh: "F.tanh", F.logsigmoid: "F.logsigmoid", F.softsign: "F.softsign",
    }
    return table


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
        name: module path (``"features.3"``); for a functional call
            ``"<enclosing module path>:<function>#<k>"``.
        module: the activation module (None for a functional call).
        type: class name of the module, or the functional's name.
        input_shape: shape of the first call's input.
        call_count: calls during the dry run (a shared module called twice: 2).
        layers_since_previous: leaf modules run between the previous site's call and this one's
            first call (the count before the first site counts from the model's input).
        order: 0-based execution index among sites.
        reachable: False for functional calls, which module swapping cannot replace.
        location: ``file:line`` of the functional call (empty for modules).
        call_shapes: input shape of each call (per-call replacement uses them).
        call_layers_since_previous: ``layers_since_previous`` of each call.
        call_index: k on the per-call view :meth:`for_call` hands to factories, else None.
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

    def for_call(self, k: int) -> "Site":
        """The site as seen by call ``k`` (per-call replacement)."""
        shape = self.call_shapes[k] if k < len(self.call_shapes) else self.input_shape
        layers = self.call_layers_since_previous[k] if k < len(self.call_layers_since_previous) else 0
        return Site(f"{self.name}#{k}", self.module, self.type, shape, 1, layers, self.order, self.reachable,
                    self.location, [shape], [layers], k)

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


class _DryRun(TorchFunctionMode):
    """Records module sites (via hooks) and functional activations (via this mode)."""

    def __init__(self, kinds, functionals):
        super().__init__()
        self.kinds = kinds
        self.functionals = functionals
        self.sites: dict[int, Site] = {}
        self.ordered: list[Site] = []
        self.site_depth = 0
        self.module_stack: list[str] = []
        self.leaves_since_site = 0
        self.functional_counts: dict[str, int] = {}

    def pre_hook(self, name, module, args):
        self.module_stack.append(name)
        if isinstance(module, self.kinds):
            if self.site_depth == 0:
                self._record_module_site(name, module, args)
            self.site_depth += 1

    def post_hook(self, name, module, args, output):
        if self.module_stack:
            self.module_stack.pop()
        if isinstance(module, self.kinds):
            self.site_depth -= 1
        elif not any(True for _ in module.children()) and self.site_depth == 0:
            self.leaves_since_site += 1

    def _record_module_site(self, name, module, args):
        shape = tuple(args[0].shape) if args and isinstance(args[0], torch.Tensor) else None
        site = self.sites.get(id(module))
        if site is None:
            site = Site(name, module, type(module).__name__, shape, order=len(self.ordered),
                        layers_since_previous=self.leaves_since_site)
            self.sites[id(module)] = site
            self.ordered.append(site)
        site.call_count += 1
        site.call_shapes.append(shape)
        site.call_layers_since_previous.append(self.leaves_since_site)
        self.leaves_since_site = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        label = self.functionals.get(func) if _hashable(func) else None
        if label is not None and self.site_depth == 0:
            enclosing = self.module_stack[-1] if self.module_stack else ""
            key = f"{enclosing or '<root>'}:{label}"
            k = self.functional_counts.get(key, 0)
            self.functional_counts[key] = k + 1
            x = args[0] if args else kwargs.get("input")
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else None
            site = Site(f"{key}#{k}", None, label, shape, call_count=1, order=len(self.ordered),
                        layers_since_previous=self.leaves_since_site, reachable=False, location=_user_frame(),
                        call_shapes=[shape], call_layers_since_previous=[self.leaves_since_site])
            self.ordered.append(site)
            self.leaves_since_site = 0
        return func(*args, **kwargs)


def _hashable(obj) -> bool:
    try:
        hash(obj)
        return True
    except TypeError:
        return False


def _user_frame() -> str:
    """file:line of the innermost frame outside torch and this module."""
    torch_dir = os.path.dirname(torch.__file__)
    here = os.path.abspath(__file__)
    for frame in reversed(traceback.extract_stack()):
        path = os.path.abspath(frame.filename)
        if path != here and not path.startswith(torch_dir):
            return f"{os.path.basename(frame.filename)}:{frame.lineno}"
    return ""


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


def find_sites(model: nn.Module, example_inputs, kinds: tuple[type, ...] | None = None) -> SiteList:
    """Every activation site of ``model`` in execution order, from one dry run.

    Args:
        model: any ``nn.Module``; run once in eval mode under ``torch.no_grad()`` (its
            training flag is restored after).
        example_inputs: a tensor or a tuple of positional inputs.
        kinds: module types counted as activations (default :func:`default_kinds`).
            Modules nested inside a site (a Blended's ReLU) are not sites of their own.

    Returns:
        a :class:`SiteList`; ``.functional`` lists calls like ``F.relu`` that module
        swapping cannot replace, with the enclosing module and ``file:line``.

    Hooks are removed whatever happens (try/finally).
    """
    kinds = tuple(kinds) if kinds is not None else default_kinds()
    if not kinds or not all(isinstance(k, type) for k in kinds):
        raise InputError(f"kinds must be a tuple of module classes, got {kinds!r}")
    run = _DryRun(kinds, functional_activations())
    with HookSet() as hooks:
        for name, module in model.named_modules():
            hooks.add(module.register_forward_pre_hook(lambda mod, a, _n=name: run.pre_hook(_n, mod, a)))
            hooks.add(module.register_forward_hook(lambda mod, a, out, _n=name: run.post_hook(_n, mod, a, out)))
        with run:
            dry_run(model, example_inputs)
    return SiteList(run.ordered)


# -- replacement ------------------------------------------------------------------------------

class CallSiteDispatch(nn.Module):
    """Routes the k-th call in a forward pass to ``replacements[k]``.

    Replaces one activation module that the model calls at several places. The call counter
    cycles modulo the number of calls seen in the dry run, and a forward pre-hook on the
    root model (installed by :func:`replace_activations`) resets it at every forward, so a
    forward interrupted by an exception does not shift the routing.
    """

    def __init__(self, replacements: list[nn.Module]):
        super().__init__()
        self.calls = nn.ModuleList(replacements)
        self._next = 0

    def reset(self) -> None:
        self._next = 0

    def forward(self, x):
        k = self._next
        self._next = (k + 1) % len(self.calls)
        return self.calls[k](x)

    def extra_repr(self) -> str:
        return f"calls={len(self.calls)}"


def reset_call_counters(root: nn.Module, args=None) -> None:
    """Forward pre-hook of the root: reset every CallSiteDispatch below it."""
    for module in root.modules():
        if isinstance(module, CallSiteDispatch):
            module.reset()


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
            for kind, make in mapping.items():
                if site.module is not None and isinstance(site.module, kind):
                    return make(site)
            raise InputError(f"site {site.name!r}: no factory for type {site.type}; mapping has "
                             f"{', '.join(k.__name__ for k in mapping)}")

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


def _static_sites(model: nn.Module, kinds) -> SiteList:
    """Sites from ``named_modules`` alone (no dry run): no shapes, no functional calls.

    Definition order; a module reachable under two names is listed once (``named_modules``
    drops duplicates), and modules nested inside a site are not sites of their own.
    """
    found = []
    for name, module in model.named_modules():
        if name and isinstance(module, kinds) and not any(name.startswith(s.name + ".") for s in found):
            found.append(Site(name, module, type(module).__name__, None, order=len(found)))
    return SiteList(found)


def replace_activations(model: nn.Module, factory, sites=None, inplace: bool = False, per_call: bool = False,
                        fx: bool = False, *, example_inputs=None, kinds=None):
    """Replace activation sites with ``factory(site)``; returns ``(model, report)``.

    Args:
        model: the network.
        factory: ``site -> nn.Module`` or a ``{module type: site -> nn.Module}`` mapping.
        sites: a :func:`find_sites` result or a subset of it (only these are replaced);
            default: ``find_sites(model, example_inputs)`` when ``example_inputs`` is given,
            else every activation module found by ``named_modules`` (no functional check:
            pass ``example_inputs`` to get one).
        inplace: modify ``model`` itself instead of a deep copy.
        per_call: a module called k > 1 times per forward gets k replacements
            (a :class:`CallSiteDispatch`); otherwise one replacement serves all its calls.
        fx: rewrite functional activations (``F.relu`` …) with ``torch.fx`` into
            ``factory`` modules (the model must be symbolically traceable; returns a
            ``GraphModule``). Without it, functional sites raise :class:`InputError`.

    Raises:
        InputError: a functional site without ``fx=True``; a factory output that is not a
            module (naming the site); a site whose module is no longer in the model.
    """
    make = _resolve_factory(factory)
    kinds = tuple(kinds) if kinds is not None else default_kinds()
    if sites is None:
        sites = find_sites(model, example_inputs, kinds) if example_inputs is not None else _static_sites(model, kinds)
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
        original = original_by_name.get(site.name)
        if original is None:
            raise InputError(f"site {site.name!r} is not a submodule of the model")
        copy_in_target = target.get_submodule(site.name)
        if per_call and site.call_count > 1:
            parts = [_make(make, site.for_call(k)) for k in range(site.call_count)]
            for k, part in enumerate(parts):
                report.append(Replacement(f"{site.name}.calls.{k}", part, site.type, site.for_call(k)))
            new = CallSiteDispatch(parts)
        else:
            new = _make(make, site)
            report.append(Replacement(site.name, new, site.type, site))
        planned.append((paths_of.get(id(copy_in_target), [site.name]), new))

    # Assign.
    for paths, new in planned:
        for path in paths:
            _set_submodule(target, path, new)
    if fx:
        target = _fx_rewrite_functionals(target, make, functional, report)
    if any(isinstance(new, CallSiteDispatch) for _, new in planned):
        target.register_forward_pre_hook(reset_call_counters)
    return target, report


def _set_submodule(root: nn.Module, path: str, new: nn.Module) -> None:
    parent_path, _, leaf = path.rpartition(".")
    parent = root.get_submodule(parent_path) if parent_path else root
    setattr(parent, leaf, new)


def _fx_rewrite_functionals(model: nn.Module, make, functional_sites: list[Site], report: ReplacementReport):
    """Symbolically trace ``model`` and route every functional activation through a module.

    Each ``call_function``/``call_method`` node whose target is a functional activation
    becomes ``call_module`` on ``factory(site)`` registered as ``polyfit_fx_<k>``. Sites
    are matched to nodes in execution order when the dry run saw the same number of calls.
    """
    import torch.fx as tfx

    leaf_types = default_kinds() + (CallSiteDispatch,)

    class _Tracer(tfx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, leaf_types) or super().is_leaf_module(m, qualname)

    try:
        graph = _Tracer().trace(model)
    except Exception as exc:  # symbolic tracing fails on data-dependent control flow
        raise InputError(f"fx=True: torch.fx could not trace the model ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                         "replace its functional activations by nn modules instead") from None
    gm = tfx.GraphModule(model, graph)
    table = functional_activations()
    method_names = {label.removeprefix("Tensor."): label for label in table.values() if label.startswith("Tensor.")}
    nodes = []
    for node in gm.graph.nodes:
        if node.op == "call_function" and _hashable(node.target) and node.target in table:
            nodes.append((node, table[node.target]))
        elif node.op == "call_method" and node.target in method_names:
            nodes.append((node, method_names[node.target]))
    use_dry_run = len(nodes) == len(functional_sites)
    for k, (node, label) in enumerate(nodes):
        site = functional_sites[k] if use_dry_run else Site(f"fx:{node.name}", None, label, None, call_count=1,
                                                             order=k, reachable=False)
        new = _make(make, site)
        attr = f"polyfit_fx_{k}"
        gm.add_submodule(attr, new)
        with gm.graph.inserting_after(node):
            call = gm.graph.call_module(attr, (node.args[0] if node.args else node.kwargs["input"],))
        node.replace_all_uses_with(call)
        gm.graph.erase_node(node)
        report.append(Replacement(attr, new, label, site))
    gm.graph.lint()
    gm.recompile()
    return gm
