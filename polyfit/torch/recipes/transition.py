"""Smooth transition from the original activation to the polynomial (HE-friendly AlexNet §3.2).

    λ_e = clamp((e − e0) / d, 0, 1)

at epoch e (0-based), starting at epoch e0, over d epochs; each Blended site computes
(1 − λ)·original + λ·polynomial. *All at once* gives every site the same λ_e; *layer by
layer* ramps site k (execution order) over epochs [e0 + k·d, e0 + (k+1)·d], so site k+1
starts once site k is fully polynomial. The paper replaced all layers in parallel and
found layer-by-layer no better (its Remark 1); both are offered.
"""
from __future__ import annotations

from ...errors import InputError
from .sites import as_site_mapping

MODES = ("all", "layer")


def transition_lambda(epoch: float, start: float, duration: float) -> float:
    """λ = clamp((epoch − start)/duration, 0, 1); duration 0 is a step at ``start``
    (:class:`polyfit.torch.LinearRamp`, which validates the arguments).

    >>> [transition_lambda(e, 3, 10) for e in (0, 3, 8, 13, 20)]
    [0.0, 0.0, 0.5, 1.0, 1.0]
    """
    from ..blend import LinearRamp

    return float(LinearRamp(start, duration)(epoch))


class SmoothTransition:
    """Set λ on Blended sites per epoch: ``schedule.step(epoch)`` at the start of each epoch.

    Args:
        sites: ``{name: Blended}`` in execution order (any module with ``set_lambda``).
        start: e0, the first epoch of the transition (λ = 0 before and at it).
        duration: d epochs per ramp.
        mode: ``"all"`` (one ramp for every site) or ``"layer"`` (consecutive ramps).
    """

    def __init__(self, sites, start: int, duration: int, mode: str = "all"):
        if mode not in MODES:
            raise InputError(f"transition mode {mode!r} is not allowed; allowed: {', '.join(MODES)}")
        self.sites = as_site_mapping(sites)
        for name, module in self.sites.items():
            if not callable(getattr(module, "set_lambda", None)):
                raise InputError(f"site {name}: {type(module).__name__} has no set_lambda(); wrap it in Blended")
        transition_lambda(0, start, duration)  # validates
        self.start, self.duration, self.mode = start, duration, mode

    def lambdas(self, epoch: float) -> dict[str, float]:
        """λ of each site at ``epoch`` (pure; does not touch the modules)."""
        out = {}
        for k, name in enumerate(self.sites):
            offset = k * self.duration if self.mode == "layer" else 0
            out[name] = transition_lambda(epoch, self.start + offset, self.duration)
        return out

    def step(self, epoch: float) -> dict[str, float]:
        """Apply :meth:`lambdas` to the sites; returns them."""
        values = self.lambdas(epoch)
        for name, value in values.items():
            self.sites[name].set_lambda(value)
        return values

    @property
    def end(self) -> float:
        """First epoch at which every site is fully polynomial (λ = 1)."""
        n = len(self.sites) if self.mode == "layer" else 1
        return self.start + n * self.duration
