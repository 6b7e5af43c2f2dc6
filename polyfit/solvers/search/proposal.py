"""One BO round with BoTorch, used as it is: fit a ``SingleTaskGP`` to every evaluation so
far and maximise qLogNEI (or qLogNEHVI for ``pareto``) with ``optimize_acqf_mixed``."""
from __future__ import annotations

import time
import warnings

import numpy as np

from ...errors import MissingExtraError
from .space import SearchSpace

DEFAULT_ACQUISITION = {"num_restarts": 4, "raw_samples": 64, "mc_samples": 128, "maxiter": 100, "threads": 1,
                       "floor_decades": 2.0}


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


def _model_targets(evaluations, direction, log_scale, pareto, floor_decades=None) -> np.ndarray:
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


def propose(torch, space: SearchSpace, evaluations, direction, log_scale, pareto, q, acq, seed):
    """Fit the GP to all evaluations and return q new points (and the time each step took)."""
    # A GP on tens of points is overhead-bound: extra torch threads only contend for cores
    # (measured 5-10x slower with 2 threads on a busy 2-core machine). Restored afterwards.
    threads = torch.get_num_threads()
    torch.set_num_threads(int(acq["threads"]))
    try:
        return _propose_points(torch, space, evaluations, direction, log_scale, pareto, q, acq, seed)
    finally:
        torch.set_num_threads(threads)


def _propose_points(torch, space, evaluations, direction, log_scale, pareto, q, acq, seed):
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.optim import optimize_acqf_mixed
    from botorch.sampling import SobolQMCNormalSampler
    from gpytorch.mlls import ExactMarginalLogLikelihood

    X = torch.tensor([space.to_unit(e.point) for e in evaluations], dtype=torch.double)
    floor = acq["floor_decades"]
    Y = torch.tensor(_model_targets(evaluations, direction, log_scale, pareto, None if floor is None else float(floor)),
                     dtype=torch.double)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BoTorch's optimisation/numerical warnings: the fit still returns a model
        model = SingleTaskGP(X, Y)
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    t1 = time.perf_counter()
    sampler = SobolQMCNormalSampler(sample_shape=torch.Size([int(acq["mc_samples"])]), seed=seed)
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jitter notices while pruning the baseline
        acqf = _acquisition(space, model, X, Y, sampler, pareto)
        candidates, _ = optimize_acqf_mixed(
            acqf, bounds=unit_bounds(torch, len(space.dims)), q=q, num_restarts=int(acq["num_restarts"]),
            raw_samples=int(acq["raw_samples"]), fixed_features_list=space.fixed_features_list(),
            options={"maxiter": int(acq["maxiter"])})
    t2 = time.perf_counter()
    points = [space.from_unit(c.tolist()) for c in candidates.detach()]
    return points, {"model_fit_s": t1 - t0, "acquisition_s": t2 - t1}


def _acquisition(space, model, X, Y, sampler, pareto):
    """qLogNEI for one objective; qLogNEHVI for (score, −levels) with the reference point
    10 % of the observed span below the worst observed values."""
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement

    if pareto:
        from botorch.acquisition.multi_objective.logei import qLogNoisyExpectedHypervolumeImprovement

        span = (Y.max(0).values - Y.min(0).values).clamp_min(1e-6)
        ref_point = (Y.min(0).values - 0.1 * span).tolist()
        return qLogNoisyExpectedHypervolumeImprovement(model, ref_point=ref_point, X_baseline=X, sampler=sampler,
                                                       prune_baseline=True)
    return qLogNoisyExpectedImprovement(model, X_baseline=X, sampler=sampler)
