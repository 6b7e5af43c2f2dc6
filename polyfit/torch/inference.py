"""The inference form of a model trained with polyfit.torch: :func:`finalize`.

Every :class:`~polyfit.torch.Blended` becomes its polynomial, clipping is dropped
(PolyActivation's ``clip`` and ``ClipInTraining``), optionally BatchNorm is folded into the
preceding Conv/Linear, adaptive average pools become fixed pools for the example input size
(torch's ONNX exporter refuses an adaptive pool whose output size does not divide its
input), and the model is put in eval mode.
"""
from __future__ import annotations

import copy
import warnings

import torch
from torch import nn

from ..errors import InputError
from .surgery import set_submodule as _set_submodule


def finalize(model: nn.Module, *, fold_bn: bool = False, example_inputs=None, inplace: bool = False,
             fix_adaptive_pools: bool = True) -> nn.Module:
    """The inference form of a model trained with polyfit.torch (eval mode).

    Args:
        model: the trained network.
        fold_bn: fold each BatchNorm into the Conv/Linear that feeds it (eval statistics):
            W' = W·γ/σ, b' = (b − μ)·γ/σ + β with σ = sqrt(var + eps). With ``example_inputs``
            the pairs come from a dry run (the BN's input is that layer's output, with no layer
            in between, each called once); without, from adjacent children of ``nn.Sequential``.
        example_inputs: inputs for the dry runs of ``fold_bn`` and ``fix_adaptive_pools``.
        inplace: modify ``model`` instead of a deep copy.
        fix_adaptive_pools: with ``example_inputs``, every ``nn.AdaptiveAvgPool2d`` whose
            output size does not divide the input size it sees (vgg's 7×7 pool after a 1×1
            feature map) becomes :class:`~polyfit.torch.pooling.FixedAdaptiveAvgPool2d`, the
            same linear map as two constant matrix products, which ONNX export accepts; it
            refuses other input sizes. Pools that divide evenly are left (they export).
            A pool called with several sizes is left, with a warning saying so.

    A Blended with λ < 1 still mixes in its original activation: it is replaced by its
    polynomial all the same, with a warning naming it.
    """
    from .activations import PolyActivation
    from .blend import Blended
    from .clip import ClipInTraining

    target = model if inplace else copy.deepcopy(model)
    swaps = []
    for name, module in target.named_modules():
        if not name:
            continue
        if isinstance(module, Blended):
            if module.lambda_ < 1.0:
                warnings.warn(f"finalize: Blended site {name!r} has λ = {module.lambda_:g} < 1; "
                              "it is replaced by its polynomial alone", stacklevel=2)
            swaps.append((name, module.polynomial))
        elif isinstance(module, ClipInTraining):
            swaps.append((name, nn.Identity()))
    for name, new in _outermost(swaps):
        _set_submodule(target, name, new)
    for module in target.modules():
        if isinstance(module, PolyActivation):
            module.clip_range = None
    target.eval()
    if fold_bn:
        fold_batchnorm(target, example_inputs=example_inputs)
    if fix_adaptive_pools and example_inputs is not None:
        fixed_adaptive_pools(target, example_inputs)
    return target


def fixed_adaptive_pools(model: nn.Module, example_inputs) -> list[str]:
    """Replace (in place) each ``nn.AdaptiveAvgPool2d`` whose output size does not divide the
    input size seen in a dry run by the fixed pool computing it for that size; returns the
    names replaced. See :func:`finalize`."""
    from .discovery import HookSet, dry_run
    from .pooling import FixedAdaptiveAvgPool2d, fixed_adaptive_pool

    pools = [(n, m) for n, m in model.named_modules() if n and isinstance(m, nn.AdaptiveAvgPool2d)]
    sizes: dict[str, set] = {n: set() for n, _ in pools}
    with HookSet() as hooks:
        for name, module in pools:
            hooks.add(module.register_forward_pre_hook(
                lambda mod, args, _n=name: sizes[_n].add(tuple(args[0].shape[-2:])) if args else None))
        dry_run(model, example_inputs)
    replaced = []
    for name, module in pools:
        seen = sizes[name]
        if len(seen) != 1:
            if len(seen) > 1:
                warnings.warn(f"finalize: adaptive pool {name!r} ran on several input sizes {sorted(seen)}; "
                              "left adaptive (a fixed pool is right for one size only)", stacklevel=3)
            continue
        fixed = fixed_adaptive_pool(module, next(iter(seen)))
        if isinstance(fixed, FixedAdaptiveAvgPool2d):
            _set_submodule(model, name, fixed)
            replaced.append(name)
    return replaced


def _outermost(swaps):
    """Drop swaps nested inside an earlier swapped module (e.g. inside a Blended)."""
    kept = []
    for name, new in swaps:
        if not any(name.startswith(k + ".") for k, _ in kept):
            kept.append((name, new))
    return kept


def fold_batchnorm(model: nn.Module, example_inputs=None) -> list[tuple[str, str]]:
    """Fold BatchNorm layers into the preceding Conv/Linear in place; returns the (layer, bn) pairs.

    The model must be in eval mode (running statistics are used).
    """
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    if model.training:
        raise InputError("fold_batchnorm needs the model in eval mode (call model.eval() or finalize())")
    pairs = _bn_pairs_by_dry_run(model, example_inputs) if example_inputs is not None else _bn_pairs_in_sequentials(model)
    for layer_name, bn_name in pairs:
        layer, bn = model.get_submodule(layer_name), model.get_submodule(bn_name)
        fused = fuse_conv_bn_eval(layer, bn) if isinstance(layer, nn.modules.conv._ConvNd) else fuse_linear_bn_eval(layer, bn)
        _set_submodule(model, layer_name, fused)
        _set_submodule(model, bn_name, nn.Identity())
    return pairs


_FOLDABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _foldable(layer, bn) -> bool:
    if isinstance(layer, nn.Linear):
        return isinstance(bn, nn.BatchNorm1d) and bn.num_features == layer.out_features and bn.track_running_stats
    ranks = {nn.Conv1d: nn.BatchNorm1d, nn.Conv2d: nn.BatchNorm2d, nn.Conv3d: nn.BatchNorm3d}
    return (isinstance(bn, ranks.get(type(layer), ())) and bn.num_features == layer.out_channels
            and bn.track_running_stats)


def _bn_pairs_in_sequentials(model) -> list[tuple[str, str]]:
    pairs = []
    for name, module in model.named_modules():
        if isinstance(module, nn.Sequential):
            children = list(module.named_children())
            for (a_name, a), (b_name, b) in zip(children, children[1:]):
                if isinstance(a, _FOLDABLE) and _foldable(a, b):
                    prefix = f"{name}." if name else ""
                    pairs.append((prefix + a_name, prefix + b_name))
    return pairs


def _bn_pairs_by_dry_run(model, example_inputs) -> list[tuple[str, str]]:
    from .surgery import HookSet, dry_run

    leaves = [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]
    calls: dict[str, int] = {}
    order: list[tuple[str, int | None, int | None]] = []  # (name, id(input), id(output))
    kept = []  # every recorded tensor stays alive while ids are compared below

    def hook(name):
        def record(mod, inputs, output):
            calls[name] = calls.get(name, 0) + 1
            first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
            kept.extend((first, output))
            order.append((name, id(first) if first is not None else None, id(output)))
        return record

    uses = _Uses()
    with HookSet() as hooks:
        for name, module in leaves:
            hooks.add(module.register_forward_hook(hook(name)))
            if isinstance(module, _FOLDABLE):
                hooks.add(module.register_forward_hook(lambda mod, inputs, output: uses.watch(output)))
            if isinstance(module, _BATCHNORMS):
                hooks.add(module.register_forward_pre_hook(lambda mod, inputs: uses.enter(inputs)))
                hooks.add(module.register_forward_hook(lambda mod, inputs, output: uses.leave()))
        with uses:
            dry_run(model, example_inputs)
    pairs = []
    for (a_name, _, a_out), (b_name, b_in, _) in zip(order, order[1:]):
        a, b = model.get_submodule(a_name), model.get_submodule(b_name)
        # the layer's output must feed the BatchNorm alone: a residual "+ y" reading it too would
        # get the folded (normalised) values, which changed a conv-BN-ReLU block's output by 1.0
        if (isinstance(a, _FOLDABLE) and _foldable(a, b) and a_out == b_in
                and calls.get(a_name) == 1 and calls.get(b_name) == 1 and uses.count(a_out) == 1):
            pairs.append((a_name, b_name))
    return pairs


class _Uses(torch.overrides.TorchFunctionMode):
    """Counts the readers of each watched tensor (a Conv/Linear output) during a dry run: each
    BatchNorm module called on it, and each torch function call outside BatchNorm forwards
    taking it (a residual add, a second branch). Watched tensors stay alive (the dry run keeps
    them), so their ids are stable; a call inside another call is not seen twice."""

    def __init__(self):
        super().__init__()
        self.counts: dict[int, int] = {}
        self.inside_bn = 0

    def watch(self, tensor) -> None:
        if isinstance(tensor, torch.Tensor):
            self.counts[id(tensor)] = 0

    def count(self, tensor_id) -> int | None:
        return self.counts.get(tensor_id)

    def enter(self, inputs) -> None:
        self._read(inputs)
        self.inside_bn += 1

    def leave(self) -> None:
        self.inside_bn -= 1

    def _read(self, values) -> None:
        from torch.utils._pytree import tree_flatten

        seen = {id(v) for v in tree_flatten(values)[0] if isinstance(v, torch.Tensor)}
        for key in seen & self.counts.keys():
            self.counts[key] += 1

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if not self.inside_bn:
            self._read((args, kwargs))
        return func(*args, **kwargs)
