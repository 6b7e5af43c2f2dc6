"""The network objective of :func:`polyfit.search` (Sisyphus): a trained torch model with every
activation module replaced by the candidate polynomial, scored by a per-sample metric.

It lives in the torch adapter, above the search (the search calls any objective with
``direction`` and ``describe``, so it needs no import of this one); ``polyfit.search_objectives``
re-exports it lazily, so the other objectives load without torch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import InputError
from .activations import PolyActivation
from .surgery import replace_activations


def top1_correct(outputs, labels):
    """Per-sample 1.0 where argmax(outputs) == labels, else 0.0 (a torch tensor)."""
    return (outputs.argmax(dim=-1) == labels).to(outputs.dtype)


@dataclass
class NetworkAccuracy:
    """Mean per-sample metric of ``model`` on ``loader`` with every activation replaced.

    Args:
        model: a trained ``torch.nn.Module`` (not modified: each call works on a deep copy).
        loader: an iterable of ``(inputs, labels)`` batches (e.g. a DataLoader).
        metric: ``metric(outputs, labels) -> per-sample tensor`` in [0, 1]; default top-1.
        activation_types: module types to replace (default ``(torch.nn.ReLU,)``). A model
            without any such module is an error: functional ``F.relu`` calls cannot be reached.
        device: where to run (default: where the model's parameters are).

    Returns (per call) ``{"score": accuracy, "nan_rate": r, "replaced": n}``: samples whose
    output row holds a non-finite value score 0 and are counted in ``nan_rate``.
    """

    model: Any
    loader: Any
    metric: Callable | None = None
    activation_types: tuple | None = None
    device: Any = None

    direction = "maximize"
    log_scale = False

    def __post_init__(self):
        import torch

        if not isinstance(self.model, torch.nn.Module):
            raise InputError(f"model must be a torch.nn.Module, got {type(self.model).__name__}")
        types = tuple(self.activation_types) if self.activation_types else (torch.nn.ReLU,)
        self.activation_types = types
        if not any(isinstance(m, types) for m in self.model.modules()):
            names = ", ".join(t.__name__ for t in types)
            raise InputError(f"model has no {names} module to replace (functional calls such as F.relu cannot be reached)")

    def network(self, approx):
        """A copy of the model with every activation replaced by ``approx`` (eval mode).

        Uses :func:`polyfit.torch.replace_activations` with one
        :class:`polyfit.torch.PolyActivation` (fixed coefficients) per site.
        """
        return self._replace(approx)[0]

    def _replace(self, approx):
        net, report = replace_activations(self.model, lambda site: PolyActivation(approx),
                                          kinds=self.activation_types)
        return net.eval(), report

    def __call__(self, approx) -> dict:
        import torch

        net, report = self._replace(approx)
        device = self.device or next((p.device for p in net.parameters()), torch.device("cpu"))
        net.to(device)
        metric = self.metric or top1_correct
        total = correct = nonfinite = 0.0
        with torch.no_grad():
            for inputs, labels in self.loader:
                inputs, labels = inputs.to(device), labels.to(device)
                out = net(inputs)
                ok = torch.isfinite(out.reshape(out.shape[0], -1)).all(dim=1)
                per_sample = torch.as_tensor(metric(out, labels), dtype=torch.float64).reshape(-1)
                per_sample = torch.where(ok.to(per_sample.device), per_sample, torch.zeros_like(per_sample))
                total += out.shape[0]
                correct += float(per_sample.sum())
                nonfinite += float((~ok).sum())
        if total == 0:
            raise InputError("the data loader yielded no samples")
        return {"score": correct / total, "nan_rate": nonfinite / total, "replaced": len(report),
                "samples": int(total)}

    def describe(self) -> dict:
        return {"kind": "network", "model": type(self.model).__name__,
                "activations": [t.__name__ for t in self.activation_types],
                "metric": getattr(self.metric, "__name__", "top1_correct") if self.metric else "top1_correct",
                "nan_policy": "non-finite outputs count as wrong", "direction": self.direction}
