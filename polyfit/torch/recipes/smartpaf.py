"""SmartPAF (ReLU-FHE paper): coefficient tuning (CT), progressive approximation (PA),
alternate training (AT) and static scale, as separate pieces.

- **Static scale**: a polynomial approximation of sign on [-1, 1] (a composite preset with
  ``combine="relu"``: ReLU(x) = x·(1 + sign(x/S))/2) needs its input in [-1, 1]; each site
  divides by its own constant S = margin · quantile(|x|, q) of its profiled inputs, folded
  into the Approximation's ``input_scale`` (``input_scale / S``, domain × S).
- **CT**: fit each site's polynomial to ReLU under that site's profiled input distribution:
  ``tune_lstsq`` solves min Σ_i (p(x_i) − relu(x_i))² over the profiled samples x_i with the
  core's sample-weighted least squares (one stage, linear in the coefficients);
  ``tune_gradient`` minimises the same mean squared error by Adam on any PolyActivation with
  trainable coefficients (composites, which are not linear in their coefficients).
- **PA**: replace the sites one at a time in execution order; after each replacement, train
  only the parameters of the layers up to and including that site (the layers after it are
  frozen), then move on.
- **AT**: alternate phases that train only the polynomial coefficients and only the other
  weights, each with its own optimizer and learning rate.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from ...errors import InputError
from ...validate import check_domain
from .sites import execution_order, frozen, parameters_between, unique_parameters


def _as_samples(samples, site: str) -> np.ndarray:
    """1-D float64 samples from a tensor, an array, or a profile with a ``sample`` (SiteProfile)."""
    if hasattr(samples, "sample") and not isinstance(samples, (torch.Tensor, np.ndarray)):
        if samples.sample is None:
            raise InputError(f"site {site}: the profile holds no sample of inputs")
        samples = samples.sample
    x = samples.detach().cpu().double().numpy() if isinstance(samples, torch.Tensor) else np.asarray(samples, float)
    x = x.ravel()
    if x.size < 2:
        raise InputError(f"site {site}: coefficient tuning needs at least 2 profiled samples, got {x.size}")
    if not np.all(np.isfinite(x)):
        raise InputError(f"site {site}: profiled samples contain {int(np.sum(~np.isfinite(x)))} NaN/inf values")
    return x


# -- static scale ---------------------------------------------------------------------------
def static_scale(samples, quantile: float = 1.0, margin: float = 1.0, site: str = "?") -> float:
    """S = margin · quantile(|x|, q) of the profiled inputs: the site's static divisor.

    ``samples``: the inputs (tensor/array), or a :class:`polyfit.torch.profiling.SiteProfile`,
    whose exact minimum and maximum over all profiled inputs give q = 1 (its sample gives
    the other quantiles).

    >>> static_scale([-4.0, 1.0, 2.0])
    4.0
    """
    if not 0.0 < quantile <= 1.0:
        raise InputError(f"quantile must be in (0, 1], got {quantile!r}")
    if not (math.isfinite(margin) and margin > 0):
        raise InputError(f"margin must be a finite number > 0, got {margin!r}")
    extremes = (getattr(samples, "minimum", None), getattr(samples, "maximum", None))
    if quantile == 1.0 and None not in extremes and not isinstance(samples, (torch.Tensor, np.ndarray)):
        if not all(math.isfinite(e) for e in extremes):
            raise InputError(f"site {site}: profiled extremes {extremes} are not finite")
        scale = float(margin * max(abs(extremes[0]), abs(extremes[1])))
    else:
        scale = float(margin * np.quantile(np.abs(_as_samples(samples, site)), quantile))
    if not scale > 0:
        raise InputError(f"site {site}: all profiled inputs are 0; no static scale exists")
    return scale


def scaled_approximation(approximation, scale: float):
    """The same approximation evaluated on x/S: input_scale/S, domain·S (reports recomputed).

    For a sign-based ReLU composite (combine relu) on [-1, 1] this is ReLU on [-S, S]:
    x·(1 + s(x/S))/2 ≈ x·(1 + sign(x))/2. Only the sign-based combines (relu, abs, step)
    are invariant under the input scaling; a plain fit (combine none) of f would become an
    approximation of f(x/S), so it is refused: refit it on [-S, S] instead.
    """
    from ...reports import with_reports

    if approximation.combine == "none":
        raise InputError("static scale applies to sign-based composites (combine relu, abs or step); "
                         "for a plain fit, fit the target on [-S, S] instead")
    if not (math.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be a finite number > 0, got {scale!r}")
    lo, hi = approximation.domain
    provenance = dict(approximation.provenance)
    provenance["static_scale"] = float(scale)
    exclude = (approximation.metrics or {}).get("exclude")
    scaled = approximation.replace(input_scale=approximation.input_scale / scale, domain=(lo * scale, hi * scale),
                                   provenance=provenance)
    return with_reports(scaled, exclude=tuple(e * scale for e in exclude) if exclude else None)


# -- coefficient tuning ---------------------------------------------------------------------
def tune_lstsq(samples, degree: int, target="relu", domain=None, site: str = "?", **fit_options):
    """CT by least squares: ``polyfit.fit(target, degree, domain, samples=profiled inputs)``.

    ``domain`` defaults to [min, max] of the samples; samples outside it are an error."""
    from ...fitting import fit

    x = _as_samples(samples, site)
    if domain is None:
        lo, hi = float(x.min()), float(x.max())
        if not lo < hi:
            raise InputError(f"site {site}: profiled samples span [{lo:g}, {hi:g}], which is not an interval; pass domain=")
    else:
        try:
            lo, hi = check_domain(domain)
        except InputError as exc:
            raise InputError(f"site {site}: {exc}") from None
    if x.min() < lo or x.max() > hi:
        raise InputError(f"site {site}: samples span [{x.min():g}, {x.max():g}], outside the domain [{lo:g}, {hi:g}]")
    return fit(target, degree, (lo, hi), samples=x, **fit_options)


def tune_gradient(activation: nn.Module, samples, target: Callable[[torch.Tensor], torch.Tensor] = torch.relu,
                  steps: int = 300, lr: float = 1e-2, batch_size: int = 4096, seed: int = 0, site: str = "?") -> float:
    """CT by gradient: Adam on the activation's trainable coefficients minimising
    mean (act(x) − target(x))² over the profiled samples; returns the final MSE on all of them.

    The activation runs in eval mode (no training-time clipping) and keeps its device/dtype.
    """
    if getattr(activation, "channel_dim", None) is not None:
        raise InputError(f"site {site}: tune_gradient tunes one polynomial per layer from 1-D samples; this activation "
                         f"is per channel (channel_dim={activation.channel_dim}): tune a per-layer copy and load it")
    params = [p for p in activation.parameters() if p.requires_grad]
    if not params:
        raise InputError(f"site {site}: {type(activation).__name__} has no trainable coefficients; "
                         "build it with PolyActivation(..., trainable=True)")
    if steps < 0 or not lr > 0:
        raise InputError(f"steps must be >= 0 and lr > 0, got steps={steps!r}, lr={lr!r}")
    ref = params[0]
    x = torch.as_tensor(_as_samples(samples, site), dtype=torch.float32, device=ref.device)
    y = target(x)
    g = torch.Generator(device="cpu")
    g.manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    was_training = activation.training
    activation.eval()
    try:
        for _ in range(steps):
            idx = torch.randint(0, x.numel(), (min(batch_size, x.numel()),), generator=g).to(x.device)
            opt.zero_grad(set_to_none=True)
            loss = torch.mean((activation(x[idx]) - y[idx]) ** 2)
            loss.backward()
            opt.step()
        with torch.no_grad():
            mse = float(torch.mean((activation(x) - y) ** 2))
    finally:
        activation.train(was_training)
    if not math.isfinite(mse):
        raise InputError(f"site {site}: coefficient tuning diverged (MSE {mse}); lower lr or rescale the inputs")
    return mse


# -- progressive approximation --------------------------------------------------------------
def progressive_replacement(model: nn.Module, factory, fine_tune, example_inputs, sites=None,
                            train_coefficients: bool = False) -> list[dict]:
    """PA: for each site in execution order, replace it (in place) by ``factory(site)`` and
    call ``fine_tune(model, site_name, parameters)`` with only ``parameters`` — those of the
    layers before the site (and, with ``train_coefficients``, the polynomial coefficients up
    to and including the site) — trainable, the rest frozen meanwhile. Coefficients are left
    to AT by default: a small change of a coefficient moves every activation of the layer
    (SmartPAF §3.4).

    Args:
        model: the network (modified in place).
        factory: ``site -> nn.Module`` as for :func:`polyfit.torch.replace_activations`.
        fine_tune: trains the model for a while; its return value is logged.
        example_inputs: for the dry runs (find_sites, execution order).
        sites: names to replace (default: every reachable activation site).

    Returns: one ``{"site", "parameters", "result"}`` per site.
    """
    from .. import find_sites, replace_activations

    found = find_sites(model, example_inputs)
    by_name = {s.name: s for s in found if s.reachable}
    names = [s.name for s in found if s.reachable] if sites is None else list(sites)
    for name in names:
        if name not in by_name:
            raise InputError(f"site {name!r} is not a reachable activation site; sites: {', '.join(by_name)}")
    log = []
    for name in names:
        replace_activations(model, factory, sites=[by_name[name]], inplace=True)
        order = execution_order(model, example_inputs)
        params = parameters_between(model, order, None, name, include_stop=train_coefficients)
        if not train_coefficients:
            coefficient_ids = {id(p) for p in coefficient_parameters(model)}
            params = [p for p in params if id(p) not in coefficient_ids]
        with frozen(model, params):
            result = fine_tune(model, name, params)
        log.append({"site": name, "parameters": sum(p.numel() for p in params), "result": result})
    return log


# -- alternate training ---------------------------------------------------------------------
def coefficient_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Trainable coefficients of the polynomial activations (PolyActivation, TrainableQuadratic)."""
    from ..activations import PolyActivation
    from ..quadratic import TrainableQuadratic

    return unique_parameters(p for module in model.modules() if isinstance(module, (PolyActivation, TrainableQuadratic))
                             for p in module.parameters())


class AlternateTraining:
    """AT: phases that train only the polynomial coefficients, then only the other weights.

    Args:
        model: network whose polynomial activations have trainable coefficients.
        coefficient_lr, weight_lr: the two learning rates.
        optimizer: optimizer class (default Adam); one instance per group, kept across
            rounds so its state persists.

    ``run(train_epoch, rounds, coefficient_epochs, weight_epochs)`` calls
    ``train_epoch(model, optimizer, phase)`` per epoch and returns the log.
    """

    PHASES = ("coefficients", "weights")

    def __init__(self, model: nn.Module, coefficient_lr: float, weight_lr: float, optimizer=torch.optim.Adam):
        for label, lr in (("coefficient_lr", coefficient_lr), ("weight_lr", weight_lr)):
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
                raise InputError(f"{label} must be a finite number > 0, got {lr!r}")
        self.model = model
        coefficients = coefficient_parameters(model)
        if not coefficients:
            raise InputError("alternate training needs trainable polynomial coefficients; "
                             "build the activations with PolyActivation(..., trainable=True)")
        ids = {id(p) for p in coefficients}
        weights = [p for p in model.parameters() if id(p) not in ids]
        self.groups = {"coefficients": coefficients, "weights": weights}
        self.optimizers = {"coefficients": optimizer(coefficients, lr=coefficient_lr),
                           "weights": optimizer(weights, lr=weight_lr)}

    def phase(self, which: str):
        """Context manager: only group ``which`` trainable; yields its optimizer via ``frozen``."""
        if which not in self.PHASES:
            raise InputError(f"phase {which!r} is not allowed; allowed: {', '.join(self.PHASES)}")
        return frozen(self.model, self.groups[which])

    def run(self, train_epoch, rounds: int = 1, coefficient_epochs: int = 1, weight_epochs: int = 1) -> list[dict]:
        if rounds < 1 or coefficient_epochs < 0 or weight_epochs < 0:
            raise InputError(f"rounds must be >= 1 and epochs >= 0, got {rounds}, {coefficient_epochs}, {weight_epochs}")
        log = []
        for r in range(rounds):
            for which, epochs in (("coefficients", coefficient_epochs), ("weights", weight_epochs)):
                with self.phase(which):
                    for _ in range(epochs):
                        log.append({"round": r, "phase": which,
                                    "result": train_epoch(self.model, self.optimizers[which], which)})
        return log
