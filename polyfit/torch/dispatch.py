"""CallSiteDispatch: one module per call of an activation module called several times per forward."""
from __future__ import annotations

from torch import nn


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
