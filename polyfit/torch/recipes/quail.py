"""Sisyphus' QuaIL (quadratic imitation learning), layer by layer, then gradual unfreezing.

The student is the teacher's architecture with polynomial activations (Sisyphus: x²). Its
activation sites s_1 … s_L cut it into segments: segment k holds the layers called after
s_{k−1} up to and including s_k; segment L+1 runs from s_L to the output.

1. Imitation: for k = 1 … L+1, train only segment k (earlier segments frozen, in eval
   mode) to minimise MSE(h_k^student(x), h_k^teacher(x)), h_k the output of site k (the
   logits for k = L+1). The student's forward stops at site k.
2. Gradual unfreezing: stage j = 1 … L+1 trains the last j segments with the task loss
   (cross entropy), the earlier ones frozen.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import InputError
from .sites import HookSet, execution_order, frozen, parameters_between, unique_parameters


class _Stop(Exception):
    """Raised by a forward hook to end a forward pass once the wanted output exists."""


def representation(model: nn.Module, site: str | None, x: torch.Tensor) -> torch.Tensor:
    """Output of submodule ``site`` for input x (the forward stops there), or the model's
    output for ``site=None``."""
    if site is None:
        return model(x)
    module = dict(model.named_modules()).get(site)
    if module is None:
        raise InputError(f"site {site!r} is not a submodule of {type(model).__name__}")
    box = []

    def hook(mod, args, out):
        box.append(out)
        raise _Stop

    with HookSet() as hooks:
        hooks.add(module.register_forward_hook(hook))
        try:
            model(x)
        except _Stop:
            pass
    if not box:
        raise InputError(f"site {site!r} was not called by the forward pass")
    return box[0]


def segments(model: nn.Module, site_names: list[str], example_inputs) -> list[dict]:
    """``[{"site", "modules", "parameters"}]``: segment k ends at site k; the last ends at
    the output (``site=None``)."""
    if not site_names:
        raise InputError("QuaIL needs at least one activation site")
    order = execution_order(model, example_inputs)
    for name in site_names:
        if name not in order:
            raise InputError(f"site {name!r} was not called in the dry run; called: {', '.join(order[:12])}")
    positions = [order.index(n) for n in site_names]
    if positions != sorted(positions):
        raise InputError(f"sites {site_names} are not in execution order")
    out, previous = [], None
    for name in [*site_names, None]:
        lo = order.index(previous) + 1 if previous is not None else 0
        hi = order.index(name) + 1 if name is not None else len(order)
        out.append({"site": name, "modules": order[lo:hi],
                    "parameters": parameters_between(model, order, previous, name, include_stop=True)})
        previous = name
    return out


def _inputs(batch):
    return batch[0] if isinstance(batch, (tuple, list)) else batch


def _set_segment_modes(model: nn.Module, train_modules: Iterable[str]) -> None:
    model.eval()
    modules = dict(model.named_modules())
    for name in train_modules:
        modules[name].train()


def imitate(student: nn.Module, teacher: nn.Module, site_names: list[str], batches: Callable[[], Iterable],
            example_inputs, epochs: int = 1, lr: float = 1e-3, optimizer=torch.optim.Adam,
            teacher_sites: list[str] | None = None, on_epoch: Callable | None = None) -> list[dict]:
    """Step 1 of QuaIL: layer-by-layer MSE imitation of the teacher's site outputs.

    Args:
        student, teacher: same layout; the teacher is only evaluated (eval mode, no grad).
        site_names: the student's activation sites in execution order.
        batches: zero-argument callable returning an iterable of inputs or (inputs, labels).
        teacher_sites: the teacher's names for the same sites (default: the same names).
        on_epoch: ``on_epoch(segment_index, epoch, mean_mse)``, e.g. to evaluate.

    Returns: one ``{"site", "epochs", "mse"}`` per segment (mse of its last epoch).
    """
    teacher_sites = list(site_names) if teacher_sites is None else list(teacher_sites)
    if len(teacher_sites) != len(site_names):
        raise InputError(f"{len(site_names)} student sites but {len(teacher_sites)} teacher sites")
    if epochs < 0 or not lr > 0:
        raise InputError(f"epochs must be >= 0 and lr > 0, got {epochs!r}, {lr!r}")
    parts = segments(student, site_names, example_inputs)
    teacher.eval()
    was_training = student.training
    log = []
    try:
        for k, (part, t_site) in enumerate(zip(parts, [*teacher_sites, None])):
            params = part["parameters"]
            mse = float("nan")
            if params:
                opt = optimizer(params, lr=lr)
                with frozen(student, params):
                    for epoch in range(epochs):
                        _set_segment_modes(student, part["modules"])
                        total, count = 0.0, 0
                        for batch in batches():
                            x = _inputs(batch)
                            with torch.no_grad():
                                target = representation(teacher, t_site, x)
                            opt.zero_grad(set_to_none=True)
                            loss = F.mse_loss(representation(student, part["site"], x), target)
                            loss.backward()
                            opt.step()
                            total += float(loss.detach()) * x.shape[0]
                            count += x.shape[0]
                        mse = total / max(count, 1)
                        if on_epoch is not None:
                            on_epoch(k, epoch, mse)
            log.append({"site": part["site"] or "output", "epochs": epochs if params else 0, "mse": mse})
    finally:
        student.train(was_training)
    return log


def gradual_unfreeze(student: nn.Module, site_names: list[str], example_inputs, train_epoch: Callable,
                     epochs_per_stage: int = 1, lr: float = 1e-3, optimizer=torch.optim.Adam) -> list[dict]:
    """Step 2 of QuaIL: stage j trains the last j segments (deepest first) with the task
    loss; ``train_epoch(model, optimizer)`` runs one epoch and its result is logged."""
    if epochs_per_stage < 0 or not lr > 0:
        raise InputError(f"epochs_per_stage must be >= 0 and lr > 0, got {epochs_per_stage!r}, {lr!r}")
    parts = segments(student, site_names, example_inputs)
    log = []
    for j in range(1, len(parts) + 1):
        params = unique_parameters(p for part in parts[-j:] for p in part["parameters"])
        if not params:
            continue
        opt = optimizer(params, lr=lr)
        with frozen(student, params):
            for _ in range(epochs_per_stage):
                student.train()
                log.append({"stage": j, "trainable_segments": j, "result": train_epoch(student, opt)})
    return log
