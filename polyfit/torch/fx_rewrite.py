"""Rewriting functional calls into modules with ``torch.fx``, in both training modes.

Symbolic tracing runs ``forward`` with Python booleans, so ``if self.training:`` branches
(auxiliary classifiers) and ``F.dropout(training=self.training)`` are baked into the graph.
:func:`rewrite_calls` therefore traces the model twice — training mode and eval mode —,
rewrites the matching ``call_function``/``call_method`` nodes of both graphs into
``call_module`` on one shared module per call site, and returns

- a ``GraphModule`` when both graphs are the same code (the usual case), or
- a :class:`TrainEvalGraphs`: the model's own submodules and parameters, plus the new
  modules, running the training graph or the eval graph by its ``training`` flag.

Call sites are matched to :func:`~polyfit.torch.find_sites` names
``"<enclosing module>:<function>#<k>"``: the enclosing module is the innermost module the
tracer was in (``node.meta["nn_module_stack"]``), k counts calls of that function there.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..errors import InputError
from .discovery import _hashable


class TrainEvalGraphs(nn.Module):
    """A traced model whose training and eval graphs differ: runs the one matching ``self.training``.

    Holds the original model's children, parameters and buffers under their own names (the
    state dict reads like the model's) plus the rewritten call sites; the two graphs'
    generated ``forward`` functions run on this module, so both see the same submodules.
    """

    def __init__(self, model: nn.Module, train_graph: torch.fx.GraphModule, eval_graph: torch.fx.GraphModule,
                 added: dict[str, nn.Module]):
        super().__init__()
        for name, child in model.named_children():
            self.add_module(name, child)
        for name, p in model.named_parameters(recurse=False):
            self.register_parameter(name, p)
        for name, b in model.named_buffers(recurse=False):
            self.register_buffer(name, b)
        for name, module in added.items():
            self.add_module(name, module)
        self.__dict__["graphs"] = {True: train_graph, False: eval_graph}  # code holders, not submodules
        self.train(model.training)

    def forward(self, *args, **kwargs):
        return type(self.graphs[self.training]).forward(self, *args, **kwargs)

    @property
    def code(self) -> str:
        """The generated code of both graphs."""
        return f"# training\n{self.graphs[True].code}\n# eval\n{self.graphs[False].code}"


def polyfit_leaves() -> tuple[type, ...]:
    """polyfit.torch's modules: the tracer calls them as they are (their forwards branch on
    shapes, modes and tracing, which symbolic tracing cannot follow)."""
    from .activations import PolyActivation
    from .blend import Blended
    from .clip import ClipInTraining
    from .dispatch import CallSiteDispatch
    from .norm import ApproxMinMaxNorm
    from .pooling import FixedAdaptiveAvgPool2d, SignMaxPool2d, ZeroPadAvgPool2d
    from .quadratic import TrainableQuadratic

    return (PolyActivation, Blended, ClipInTraining, CallSiteDispatch, ApproxMinMaxNorm, FixedAdaptiveAvgPool2d,
            SignMaxPool2d, ZeroPadAvgPool2d, TrainableQuadratic)


def node_label(node, table: dict, method_names: dict) -> str | None:
    """The display name of a node calling one of ``table``'s callables, or None."""
    if node.op == "call_function" and _hashable(node.target) and node.target in table:
        return table[node.target]
    if node.op == "call_method" and node.target in method_names:
        return method_names[node.target]
    return None


def enclosing(node) -> str:
    """Path of the innermost module the tracer was in when it recorded ``node`` ("<root>" at the top)."""
    stack = node.meta.get("nn_module_stack") or {}
    return next(reversed(stack.values()))[0] if stack else "<root>"


def _trace(model: nn.Module, leaf_types: tuple) -> torch.fx.Graph:
    import torch.fx as tfx

    class _Tracer(tfx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, leaf_types) or super().is_leaf_module(m, qualname)

    try:
        return _Tracer().trace(model)
    except Exception as exc:  # symbolic tracing fails on data-dependent control flow
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise InputError(f"fx=True: torch.fx could not trace the model ({type(exc).__name__}: {first}); "
                         "replace its functional calls by nn modules instead") from None


def rewrite_calls(model: nn.Module, table: dict, pick: Callable, prefix: str, leaf_types: tuple = ()):
    """Trace ``model`` in both modes and route every call to a ``table`` callable through a module.

    Args:
        table: ``{callable: display name}`` of the calls to rewrite (methods: ``"Tensor.<name>"``).
        pick: ``(name, label, node) -> nn.Module | None`` for the call site ``name``
            (``"<enclosing>:<label>#<k>"``); None leaves that call as it is. Called once
            per call site (both graphs share the module).
        prefix: name of the new submodules (``prefix0``, ``prefix1`` …).
        leaf_types: module types the tracer must not enter (besides torch.nn's and polyfit's).

    Returns:
        (the rewritten model, ``{call site name: (submodule name, module)}``, the names of
        call sites seen only in training mode).
    """
    import torch.fx as tfx

    method_names = {label.removeprefix("Tensor."): label for label in table.values() if label.startswith("Tensor.")}
    was_training = model.training
    graphs = {}
    try:
        for mode in (True, False):
            model.train(mode)
            graphs[mode] = tfx.GraphModule(model, _trace(model, tuple(leaf_types) + polyfit_leaves()))
    finally:
        model.train(was_training)
    made: dict[str, tuple[str, nn.Module] | None] = {}
    seen: dict[bool, set] = {True: set(), False: set()}
    for mode, gm in graphs.items():
        counts: dict[str, int] = {}
        for node in list(gm.graph.nodes):
            label = node_label(node, table, method_names)
            if label is None:
                continue
            base = f"{enclosing(node)}:{label}"
            name = f"{base}#{counts.get(base, 0)}"
            counts[base] = counts.get(base, 0) + 1
            seen[mode].add(name)
            if name not in made:
                module = pick(name, label, node)
                made[name] = None if module is None else (f"{prefix}{sum(v is not None for v in made.values())}", module)
            if made[name] is None:
                continue
            attr, module = made[name]
            if not hasattr(gm, attr):
                gm.add_submodule(attr, module)
            with gm.graph.inserting_after(node):
                call = gm.graph.call_module(attr, (node.args[0] if node.args else node.kwargs["input"],))
            node.replace_all_uses_with(call)
            gm.graph.erase_node(node)
        gm.graph.lint()
        gm.recompile()
    replaced = {name: entry for name, entry in made.items() if entry is not None}
    train_only = sorted(seen[True] - seen[False])
    if graphs[True].code == graphs[False].code:
        result = graphs[False]
        result.train(was_training)
    else:
        result = TrainEvalGraphs(model, graphs[True], graphs[False], dict(replaced.values()))
    return result, replaced, train_only
