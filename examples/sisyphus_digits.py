"""Sisyphus on scikit-learn's digits: Bayesian optimisation of ReLU's polynomial replacement.

Reproduces the polynomial-regression experiment of Sisyphus (Garimella et al.) at digits
scale, with ``pf.search``:

1. Train a ReLU MLP (64-128-128-10) and a deeper plain CNN (``--cnn-layers`` 3×3 conv
   layers + linear head) on digits; report the ReLU test accuracy of each.
2. For each network, search degree 2..9 × range [0.5, 50] (log scale) with BoTorch
   (10 Sobol points + BO, 50 evaluations as in the paper), scoring a point by the
   *training* accuracy of the network with every ReLU replaced by the least-squares
   polynomial on [−a, a] (no retraining). Unlike Sisyphus's code, samples whose logits hold
   a NaN/inf count as wrong; the NaN rate is reported.
3. Report the test accuracy of the best polynomial network, its NaN rate, and the
   escaping-activation numbers: per activation site, the largest |input| seen with ReLU
   and with the polynomial, and the fraction of inputs outside the fit range [−a, a].

Expected outcome (the paper's finding): the shallow MLP keeps most of its accuracy with a
low-degree polynomial; the deeper CNN does not — its activations escape [−a, a] and grow
layer after layer until the logits overflow or become meaningless.

    python examples/sisyphus_digits.py            # full run (a few minutes on a laptop CPU)
    python examples/sisyphus_digits.py --quick    # seconds, for tests
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn


# -- data and models --------------------------------------------------------------------------
def digits_tensors(seed: int, quick: bool):
    """digits scaled to [0, 1] as N×1×8×8 float tensors; a stratified 70/30 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=seed, stratify=y)
    if quick:
        xtr, ytr, xte, yte = xtr[:300], ytr[:300], xte[:150], yte[:150]
    t = lambda a: torch.tensor(a)  # noqa: E731
    return t(xtr), t(ytr).long(), t(xte), t(yte).long()


def mlp() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))


def deep_cnn(layers: int) -> nn.Module:
    body = [nn.Conv2d(1, 16, 3, padding=1), nn.ReLU()]
    for _ in range(layers - 1):
        body += [nn.Conv2d(16, 16, 3, padding=1), nn.ReLU()]
    return nn.Sequential(*body, nn.Flatten(), nn.Linear(16 * 64, 10))


def train(model: nn.Module, x, y, epochs: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def batches(x, y, size=256):
    return [(x[i:i + size], y[i:i + size]) for i in range(0, x.shape[0], size)]


def relu_accuracy(model, x, y) -> float:
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


# -- escaping activations ---------------------------------------------------------------------
def escaping(model: nn.Module, x, kinds, a: float) -> tuple[list[float], list[float]]:
    """Per activation site of ``kinds``: the largest |input| (inf once an input is NaN/inf)
    and the fraction of inputs outside [−a, a] (non-finite ones count as outside)."""
    from polyfit.torch import profile_sites

    # A sample as large as the input set keeps every value, so the fractions are exact.
    profile = profile_sites(model, [x], kinds=kinds, sample_size=1 << 24)
    peaks, outside = [], []
    for p in profile.values():
        bad = p.nan_count + p.inf_count
        peaks.append(float("inf") if bad else max(-p.minimum, p.maximum))
        inside = (1.0 - p.fraction_outside(-a, a)) * p.elements if p.elements else 0.0
        outside.append(1.0 - inside / (p.elements + bad))
    return peaks, outside


# -- one experiment -------------------------------------------------------------------------
def sisyphus(name, model, data, args):
    import polyfit as pf
    from polyfit.search_objectives import NetworkAccuracy
    from polyfit.torch import PolyActivation

    xtr, ytr, xte, yte = data
    t0 = time.perf_counter()
    train(model, xtr, ytr, args.epochs, args.seed)
    relu_test = relu_accuracy(model, xte, yte)
    objective = NetworkAccuracy(model, batches(xtr, ytr))
    result = pf.search("relu", degrees=args.degrees, range_bounds=(0.5, 50.0), objective=objective,
                       budget=args.budget, n_initial=args.initial, seed=args.seed, progress=not args.quiet)
    best = result.best_evaluation
    poly_test = NetworkAccuracy(model, batches(xte, yte))(result.best)
    poly_net = objective.network(result.best)
    relu_peaks, _ = escaping(model, xte, (nn.ReLU,), best.range)
    poly_peaks, outside = escaping(poly_net, xte, (PolyActivation,), best.range)
    out = {
        "network": name, "relu_test_accuracy": relu_test,
        "best": {"degree": best.degree, "range": best.range, "train_accuracy": best.score,
                 "train_nan_rate": best.info.get("nan_rate"), "ckks_levels": best.ckks_levels},
        "poly_test_accuracy": poly_test["score"], "poly_test_nan_rate": poly_test["nan_rate"],
        # Sisyphus's code dropped NaN samples from the denominator; shown for comparison only.
        "poly_test_accuracy_finite_only": poly_test["score"] / (1 - poly_test["nan_rate"]) if poly_test["nan_rate"] < 1 else None,
        "evaluations": len(result.evaluations),
        "failed_points": int(sum(not e.ok or e.info.get("nan_rate", 0) > 0 for e in result.evaluations)),
        "median_train_accuracy": float(np.median(result.scores)),
        "escaping": {"relu_max_abs_input": relu_peaks, "poly_max_abs_input": poly_peaks,
                     "poly_fraction_outside_range": outside},
        "seconds": time.perf_counter() - t0,
    }
    return out, result


def report(r) -> str:
    b = r["best"]
    lines = [f"== {r['network']}",
             f"ReLU test accuracy          {r['relu_test_accuracy']:.4f}",
             f"best polynomial             degree {b['degree']}, range {b['range']:.3f} "
             f"(train accuracy {b['train_accuracy']:.4f}, NaN rate {b['train_nan_rate']:.4f}, CKKS levels {b['ckks_levels']})",
             f"polynomial test accuracy    {r['poly_test_accuracy']:.4f} (NaN rate {r['poly_test_nan_rate']:.4f}; "
             f"{_fmt(r['poly_test_accuracy_finite_only'])} on finite outputs only, Sisyphus's denominator)",
             f"search                      {r['evaluations']} evaluations, median train accuracy "
             f"{r['median_train_accuracy']:.4f}, {r['failed_points']} points with NaN outputs, {r['seconds']:.1f} s",
             "escaping activations (per site, test set):",
             f"  {'site':>4} {'max|in| ReLU':>14} {'max|in| poly':>14} {'outside [-a,a]':>15}"]
    e = r["escaping"]
    for i, (p_relu, p_poly, frac) in enumerate(zip(e["relu_max_abs_input"], e["poly_max_abs_input"], e["poly_fraction_outside_range"])):
        lines.append(f"  {i:>4} {p_relu:>14.4g} {p_poly:>14.4g} {frac:>15.4f}")
    return "\n".join(lines)


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def finite(value):
    """JSON has no inf/NaN: write them as null (an overflowing site's peak is inf)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data, 3 epochs, budget 6: seconds, for tests")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--budget", type=int, default=50, help="evaluations per network (Sisyphus: 50)")
    ap.add_argument("--initial", type=int, default=10, help="Sobol points (Sisyphus: 10)")
    ap.add_argument("--degrees", default="2-9")
    ap.add_argument("--cnn-layers", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--quiet", action="store_true", help="no progress bar")
    args = ap.parse_args(argv)
    if args.quick:
        args.epochs, args.budget, args.initial, args.degrees, args.cnn_layers = 3, 6, 4, "2-4", 4
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    data = digits_tensors(args.seed, args.quick)
    results = {}
    for name, model in (("mlp", mlp()), (f"cnn{args.cnn_layers}", deep_cnn(args.cnn_layers))):
        out, _ = sisyphus(name, model, data, args)
        results[name] = out
        print(report(out), flush=True)
    if args.out:
        from polyfit.atomic import atomic_write_text

        atomic_write_text(args.out, json.dumps(finite(results), indent=2, allow_nan=False) + "\n")
        print(f"results  {os.path.abspath(args.out)}")
    return results


if __name__ == "__main__":
    main()
