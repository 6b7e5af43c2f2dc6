"""PILLAR on digits: degree-4 quantized ReLU fit on [-5, 5] (10 fractional bits) in every
activation, trained with clipping (training only), the out-of-range penalty and its warm-up.

    python examples/torch_pillar.py [--epochs 30] [--seeds 0 1 2] [--device cpu] [--quick]

The activation is the artifact of ``polyfit fit --degree 4 --range 5 --bits 10`` (computed with
``pf.fit``, or read with ``--artifact PATH``).
"""
from __future__ import annotations

import torch

import torch_common as tc
from polyfit.reports import Stopwatch
from polyfit.torch.activations import PolyActivation
from polyfit.torch.recipes import ActivationPenalty, pillar_warmup


def train_pillar(data, args, seed, approximation, bound, coefficient, exponent, clip=True, warmup=True):
    """One PILLAR run; returns the per-epoch history (test accuracy, out-of-range rate, NaN)."""
    g = tc.seed_everything(seed)
    model = tc.DigitsCNN().to(args.device)
    sites = tc.swap_sites(model, lambda name, old: PolyActivation(approximation, clip=clip, name=name))
    model.to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    history = []
    with ActivationPenalty(sites, bound=bound, exponent=exponent, coefficient=coefficient) as penalty:
        for epoch in range(args.epochs):
            c, n = pillar_warmup(epoch, coefficient, exponent) if warmup else (coefficient, exponent)
            penalty.set(coefficient=c, exponent=n)
            loss = tc.train_epoch(model, data, opt, args.batch_size, g, tc.penalty_loss(penalty))
            history.append({"epoch": epoch, "loss": loss, "penalty_coefficient": c, "penalty_exponent": n,
                            **tc.evaluate(model, data, sites, approximation.domain)})
    return history


def main(argv=None) -> int:
    p = tc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--penalty-bound", type=float, default=4.0, help="B of the penalty (default 4, inside the fit range 5)")
    p.add_argument("--penalty-exponent", type=int, default=10)
    p.add_argument("--penalty-coefficient", type=float, default=1.0)
    p.add_argument("--artifact", help="activation artifact JSON, e.g. from `polyfit fit --degree 4 --range 5 --bits 10 "
                                      "--out relu.json` (default: computed with pf.fit)")
    args = tc.finish_args(p.parse_args(argv))
    data = tc.load_digits(args.device, quick=args.quick)
    if args.artifact:
        import polyfit as pf

        approximation = pf.load(args.artifact)
    else:
        approximation = tc.pillar_approximation(degree=4, bound=5.0, bits=10)
    print(f"activation: {approximation!r}")

    baseline, pillar = tc.MethodResult("relu baseline"), tc.MethodResult("PILLAR deg-4 b10 (clip+penalty)")
    for seed in args.seeds:
        tc.train_teacher(data, args, seed, baseline, lr=args.lr)
        with Stopwatch() as sw:
            pillar.runs.append(train_pillar(data, args, seed, approximation, args.penalty_bound,
                                            args.penalty_coefficient, args.penalty_exponent))
        pillar.seconds += sw.elapsed
    tc.report([baseline, pillar], args, "torch_pillar", "PILLAR on digits", reference="relu baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
