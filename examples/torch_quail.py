"""Sisyphus' QuaIL on digits: the trained ReLU network's layers are copied into a network
with x² activations one layer at a time, each trained to imitate the ReLU network's
activations (MSE), then the whole network is fine-tuned with gradual unfreezing.

    python examples/torch_quail.py [--epochs 30] [--seeds 0 1 2] [--quick]
"""
from __future__ import annotations

import copy

import torch

import torch_common as tc
from polyfit.reports import Stopwatch
from polyfit.torch import PolyActivation
from polyfit.torch.recipes import gradual_unfreeze, imitate

EXAMPLE = torch.zeros(2, 1, 8, 8)
MONITOR_RANGE = 5.0  # x² has no fitted domain; inputs beyond ±5 are reported as out of range


def quad_approximation():
    """f(x) = x² (Sisyphus' Quad) as a polyfit Approximation: the exact degree-2 fit of x²."""
    import polyfit as pf

    return pf.fit(pf.expr("x**2"), degree=2, domain=MONITOR_RANGE)


def main(argv=None) -> int:
    p = tc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--lr", type=float, default=3e-3, help="baseline learning rate")
    p.add_argument("--imitation-epochs", type=int, default=5, help="epochs per imitated layer")
    p.add_argument("--imitation-lr", type=float, default=3e-3)
    p.add_argument("--unfreeze-epochs", type=int, default=2, help="epochs per unfreezing stage")
    p.add_argument("--unfreeze-lr", type=float, default=3e-4)
    args = tc.finish_args(p.parse_args(argv))
    if args.quick:
        args.imitation_epochs, args.unfreeze_epochs = 1, 1
    data = tc.load_digits(args.device, quick=args.quick)
    quad = quad_approximation()
    example = EXAMPLE.to(args.device)

    names = ["relu baseline", "x² swapped in (no training)", "QuaIL imitation", "QuaIL + gradual unfreezing"]
    # fine-tuning curves continue after the baseline's epochs; no-training rows sit at its last epoch
    offsets = {n: 0 if n == "relu baseline" else args.epochs - (n in ("x² swapped in (no training)",)) for n in names}
    results = {n: tc.MethodResult(n, offset=offsets[n]) for n in names}
    for seed in args.seeds:
        teacher = tc.train_teacher(data, args, seed, results["relu baseline"], lr=args.lr).eval()

        student = copy.deepcopy(teacher)
        sites = tc.swap_sites(student, lambda name, old: PolyActivation(quad, name=name))
        results[names[1]].runs.append([{"epoch": 0, **tc.evaluate(student, data, sites, MONITOR_RANGE)}])

        g = tc.seed_everything(seed)
        curve = []

        def batches():
            return tc.batches(data.x_train, data.y_train, args.batch_size, g)

        with Stopwatch() as imitation:
            imitate(student, teacher, list(tc.SITE_NAMES), batches, example, epochs=args.imitation_epochs,
                    lr=args.imitation_lr,
                    on_epoch=lambda k, e, mse: curve.append({"epoch": len(curve), "segment": k, "mse": mse,
                                                             **tc.evaluate(student, data, sites, MONITOR_RANGE)}))
        results[names[2]].runs.append(list(curve))
        results[names[2]].seconds += imitation.elapsed

        def train_epoch(model, optimizer):
            loss = tc.train_epoch(model, data, optimizer, args.batch_size, g)
            curve.append({"epoch": len(curve), "loss": loss, **tc.evaluate(model, data, sites, MONITOR_RANGE)})
            return loss

        with Stopwatch() as unfreezing:
            gradual_unfreeze(student, list(tc.SITE_NAMES), example, train_epoch, epochs_per_stage=args.unfreeze_epochs,
                             lr=args.unfreeze_lr)
        results[names[3]].runs.append(list(curve))
        results[names[3]].seconds += imitation.elapsed + unfreezing.elapsed
    tc.report(list(results.values()), args, "torch_quail", "Sisyphus QuaIL (x² activations)", reference="relu baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
