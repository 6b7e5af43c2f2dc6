"""One global BO round with BoTorch, used as it is: fit a ``SingleTaskGP`` to every evaluation
so far and maximise an acquisition over the cells of the space.

Every dimension but the range is discrete, so the acquisition is a 1-D function of the
range's unit coordinate u in each cell (one combination of degree, bits, method). It is
evaluated in one batched call on a grid of ``grid`` values of u per cell, points within
``separation`` of an evaluated point of the same cell are excluded (so no point is proposed
twice); optionally the best ``num_restarts`` grid points are polished by ``optimize_acqf``
(L-BFGS-B on u, the cell held by ``fixed_features``). By default (512 grid points, no
polish: the grid step is 0.2 % of the log range, and the refinement phase does the fine
work) one round on 11 cells costs one GP conditioning — its hyper-parameters re-optimised
whenever the data have grown by 15 %, from the previous values — and one batched
acquisition call
(``optimize_acqf_mixed`` ran a multi-start L-BFGS per cell: 11 of them, every round).

Acquisition: analytic ``LogExpectedImprovement`` for one point per round;
``qLogExpectedImprovement`` (sequential greedy with pending points) for batches;
``qLogNoisyExpectedHypervolumeImprovement`` for ``pareto``.
"""
from __future__ import annotations

import time
import warnings
from types import MappingProxyType

import numpy as np

from ...errors import MissingExtraError
from .space import SearchSpace

DEFAULT_ACQUISITION = MappingProxyType({"grid": 512, "num_restarts": 0, "mc_samples": 128, "maxiter": 50,
                                        "threads": 1, "floor_decades": 2.0, "noise": None, "refit_growth": 0.15})


def import_botorch():
    """(torch, botorch), or :class:`MissingExtraError` naming the ``search`` extra."""
    try:
        import torch
        import botorch  # noqa: F401
        import botorch.utils.sampling  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "botorch"
        raise MissingExtraError("search", "search", "torch" if missing == "torch" else "botorch") from None
    return torch, botorch


def unit_bounds(torch, dims):
    """The [0, 1]^dims box as BoTorch's 2 × dims bounds tensor."""
    return torch.stack([torch.zeros(dims, dtype=torch.double), torch.ones(dims, dtype=torch.double)])


def model_targets(evaluations, direction, log_scale, pareto, floor_decades=None) -> np.ndarray:
    """Training targets for the GP (maximised): ±score or ±log10(score); failures at the
    worst value seen. With ``pareto`` a second column −ckks_levels."""
    s = np.array([e.score for e in evaluations], dtype=float)
    ok = np.isfinite(s)
    if log_scale:
        with np.errstate(all="ignore"):
            s = np.log10(np.maximum(s, 1e-300))
    y = -s if direction == "minimize" else s
    y = np.where(ok, y, np.min(y[ok]))
    if log_scale and floor_decades is not None:
        # Scores more than floor_decades decades worse than the best are all just "bad": an
        # exploding polynomial (1e9) would otherwise dominate the GP's scale and flatten
        # the region near the optimum that the search has to resolve.
        y = np.maximum(y, y.max() - floor_decades)
    if not pareto:
        return y[:, None]
    levels = np.array([e.ckks_levels if e.ckks_levels is not None else np.nan for e in evaluations], dtype=float)
    levels = np.where(np.isfinite(levels), levels, np.nanmax(levels) if np.isfinite(levels).any() else 0.0)
    return np.column_stack([y, -levels])


def propose(torch, space: SearchSpace, evaluations, direction, log_scale, pareto, q, acq, seed, separation,
            warm=None):
    """Fit the GP to all evaluations and return (points, timing, converged).

    ``warm``: a dict the caller keeps between rounds; the GP's hyper-parameters are stored
    in it and start the next round's fit from there (fewer L-BFGS iterations). They are
    re-optimised when the data have grown by ``refit_growth`` (15 %) since the last fit
    (every round while there are few points, every few rounds later); in between, the GP is
    conditioned on the new data with the stored hyper-parameters (no L-BFGS).

    ``points``: up to q new points, none within ``separation`` (unit range coordinate) of an
    evaluated point of its cell; ``timing``: seconds spent fitting the GP (``model_fit_s``)
    and maximising the acquisition (``acquisition_s``), and whether the hyper-parameters
    were re-optimised (``refit``); ``converged``: the acquisition's
    maximiser was an already evaluated point (the global model has nothing new to try).
    """
    # A GP on tens of points is overhead-bound: extra torch threads only contend for cores
    # (measured 5-10x slower with 2 threads on a busy 2-core machine). Restored afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(int(acq["threads"]))
    try:
        return _propose_points(torch, space, evaluations, direction, log_scale, pareto, q, acq, seed, separation,
                               {} if warm is None else warm)
    finally:
        torch.set_num_threads(threads)


def _propose_points(torch, space, evaluations, direction, log_scale, pareto, q, acq, seed, separation, warm):
    X = torch.tensor([space.to_unit(e.point) for e in evaluations], dtype=torch.double)
    floor = acq["floor_decades"]
    Y = torch.tensor(model_targets(evaluations, direction, log_scale, pareto, None if floor is None else float(floor)),
                     dtype=torch.double)
    t0 = time.perf_counter()
    fitted_on = warm.get("fitted_on")
    model = _fit_model(torch, X, Y, acq["noise"], warm, float(acq["refit_growth"]))
    t1 = time.perf_counter()
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jitter notices while pruning the baseline, L-BFGS status
        acqf = _acquisition(torch, model, X, Y, pareto, q, int(acq["mc_samples"]), seed)
        grid, cells = _candidate_grid(torch, space, int(acq["grid"]))
        chosen, converged = [], False
        for j in range(q):
            taken = torch.cat([X, *chosen]) if chosen else X
            values = _batched(torch, acqf, grid)
            near = _near(torch, space, grid, taken, separation)
            if j == 0 and bool(near[int(torch.argmax(values))]):
                converged = True
            values = values.masked_fill(near, -float("inf"))
            if not torch.isfinite(values).any():
                break
            chosen.append(_polish(torch, space, acqf, grid, cells, values, taken, separation, acq))
            if q > 1:
                acqf.set_X_pending(torch.cat(chosen))
    t2 = time.perf_counter()
    points = [space.from_unit(c.reshape(-1).tolist()) for c in chosen]
    refit = warm.get("fitted_on") != fitted_on or fitted_on is None
    return points, {"model_fit_s": t1 - t0, "acquisition_s": t2 - t1, "refit": refit}, converged


def _fit_model(torch, X, Y, noise, warm, refit_growth=0.0):
    """SingleTaskGP (BoTorch's default kernel, Standardize), hyper-parameters by maximum
    marginal likelihood, started from the previous round's (``warm``) and re-optimised once
    the data have grown by the fraction ``refit_growth`` since the last fit; ``noise`` None
    learns the noise, a number fixes it as that fraction of the outputs' variance (the
    objectives are deterministic)."""
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.mlls import ExactMarginalLogLikelihood

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BoTorch's optimisation/numerical warnings: the fit still returns a model
        if noise is None:
            model = SingleTaskGP(X, Y)
        else:
            yvar = (Y.var(dim=0, keepdim=True).clamp_min(1e-12) * float(noise)).expand_as(Y)
            model = SingleTaskGP(X, Y, train_Yvar=yvar)
        params = warm.get("parameters", {})
        with torch.no_grad():
            for name, parameter in model.named_parameters():
                if name in params and params[name].shape == parameter.shape:
                    parameter.copy_(params[name])
        if not params or X.shape[0] >= warm["fitted_on"] * (1.0 + refit_growth):
            fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
            warm["fitted_on"] = X.shape[0]
        model.eval()
    warm["parameters"] = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    return model


def _acquisition(torch, model, X, Y, pareto, q, mc_samples, seed):
    """LogEI (one point), qLogEI (a batch) or qLogNEHVI with the reference point 10 % of the
    observed span below the worst observed values (``pareto``)."""
    from botorch.sampling import SobolQMCNormalSampler

    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([mc_samples]), seed=seed)
    if pareto:
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement

        span = (Y.max(0).values - Y.min(0).values).clamp_min(1e-6)
        ref_point = (Y.min(0).values - 0.1 * span).tolist()
        return qLogNoisyExpectedHypervolumeImprovement(model, ref_point=ref_point, X_baseline=X, sampler=sampler,
                                                       prune_baseline=True)
    if q == 1:
        from botorch.acquisition.analytic import LogExpectedImprovement

        return LogExpectedImprovement(model, best_f=Y.max())
    from botorch.acquisition.logei import qLogExpectedImprovement

    return qLogExpectedImprovement(model, best_f=Y.max(), sampler=sampler)


def _candidate_grid(torch, space, per_cell):
    """All cells × ``per_cell`` values of the range coordinate: (n, d) points and, per row,
    the index of its cell in ``space.fixed_features_list()``."""
    r = space.dims.index("range")
    u = torch.linspace(0.0, 1.0, per_cell, dtype=torch.double)
    rows, cells = [], []
    for k, fixed in enumerate(space.fixed_features_list()):
        block = torch.zeros(per_cell, len(space.dims), dtype=torch.double)
        for i, value in fixed.items():
            block[:, i] = value
        block[:, r] = u
        rows.append(block)
        cells += [k] * per_cell
    return torch.cat(rows), cells


def _batched(torch, acqf, grid, chunk=2048):
    with torch.no_grad():
        return torch.cat([acqf(grid[i:i + chunk].unsqueeze(1)).reshape(-1) for i in range(0, grid.shape[0], chunk)])


def _near(torch, space, points, taken, separation):
    """Rows of ``points`` in the cell of a ``taken`` row and within ``separation`` of it in u."""
    r = space.dims.index("range")
    others = [i for i in range(len(space.dims)) if i != r]
    same_cell = torch.ones(points.shape[0], taken.shape[0], dtype=torch.bool)
    for i in others:
        same_cell &= (points[:, i:i + 1] - taken[:, i].unsqueeze(0)).abs() < 1e-9
    close = (points[:, r:r + 1] - taken[:, r].unsqueeze(0)).abs() < separation
    return (same_cell & close).any(dim=1)


def _polish(torch, space, acqf, grid, cells, values, taken, separation, acq):
    """L-BFGS-B from the best ``num_restarts`` admissible grid points (0: the best grid point
    as it is), each within its cell; the best result that keeps its distance from the
    evaluated points (else the grid point)."""
    from botorch.optim import optimize_acqf

    r = space.dims.index("range")
    fixed_list = space.fixed_features_list()
    order = torch.argsort(values, descending=True)
    best, best_value = grid[order[0]].unsqueeze(0), float(values[order[0]])
    for idx in order[: int(acq["num_restarts"])].tolist():
        if not np.isfinite(float(values[idx])):
            continue
        candidate, value = optimize_acqf(acqf, bounds=unit_bounds(torch, len(space.dims)), q=1, num_restarts=1,
                                         batch_initial_conditions=grid[idx].reshape(1, 1, -1),
                                         fixed_features=fixed_list[cells[idx]], options={"maxiter": int(acq["maxiter"])},
                                         retry_on_optimization_warning=False)
        candidate = candidate.reshape(1, -1).clone()
        candidate[0, r] = candidate[0, r].clamp(0.0, 1.0)
        if bool(_near(torch, space, candidate, taken, separation)[0]):
            continue   # polished onto an evaluated point: the grid point stands
        if float(value) > best_value:
            best, best_value = candidate, float(value)
    return best
