"""Escaping activations: a degree-8 least-squares ReLU fit on [-5, 5] swapped in naively,
next to the same polynomial trained with PILLAR's clipping + out-of-range penalty.

    python examples/torch_naive_vs_penalty.py [--epochs 30] [--seeds 0 1 2] [--quick]

The naive run is reported as it is: outside [-5, 5] the degree-8 polynomial grows like
−2e-5·x^8, so once inputs escape the range, outputs and gradients explode (NaN or collapse).
Both runs use SGD (lr 0.05, momentum 0.9) as PILLAR does; Adam's normalised steps make the
escape rarer on this small task (``--optimizer adam`` to see it).
"""
from __future__ import annotations

import torch_common as tc
from polyfit.reports import Stopwatch
from polyfit.torch.activations import PolyActivation
from polyfit.torch.recipes import ActivationPenalty, pillar_warmup


def train_poly(data, args, seed, approximation, regularised: bool):
    g = tc.seed_everything(seed)
    model = tc.DigitsCNN(batchnorm=not args.no_batchnorm).to(args.device)
    sites = tc.swap_sites(model, lambda name, old: PolyActivation(approximation, clip=regularised, name=name))
    model.to(args.device)
    opt = tc.make_optimizer(model.parameters(), args.optimizer, args.lr)
    coefficient = args.penalty_coefficient if regularised else 0.0
    history = []
    with ActivationPenalty(sites, bound=args.penalty_bound, exponent=10, coefficient=coefficient) as penalty:
        for epoch in range(args.epochs):
            c, n = pillar_warmup(epoch, coefficient, 10)
            penalty.set(coefficient=c, exponent=n)
            loss_fn = tc.penalty_loss(penalty) if regularised else tc.cross_entropy_loss
            loss = tc.train_epoch(model, data, opt, args.batch_size, g, loss_fn)
            history.append({"epoch": epoch, "loss": loss, **tc.evaluate(model, data, sites, approximation.domain)})
    return history


def main(argv=None) -> int:
    p = tc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--optimizer", default="sgd", help="sgd (momentum 0.9, PILLAR's; default) or adam")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--degree", type=int, default=8)
    p.add_argument("--penalty-bound", type=float, default=4.0)
    p.add_argument("--penalty-coefficient", type=float, default=1.0)
    p.add_argument("--no-batchnorm", action="store_true", help="drop BatchNorm (activations escape faster)")
    args = tc.finish_args(p.parse_args(argv))
    data = tc.load_digits(args.device, quick=args.quick)
    import polyfit as pf

    approximation = pf.fit("relu", degree=args.degree, domain=5.0)
    print(f"activation: {approximation!r}")
    naive = tc.MethodResult(f"naive deg-{args.degree} (no clip, no penalty)")
    fixed = tc.MethodResult(f"deg-{args.degree} + clip + penalty")
    for seed in args.seeds:
        for result, regularised in ((naive, False), (fixed, True)):
            with Stopwatch() as sw:
                result.runs.append(train_poly(data, args, seed, approximation, regularised))
            result.seconds += sw.elapsed
    tc.report([naive, fixed], args, "torch_naive_vs_penalty", f"degree-{args.degree} ReLU fit on digits")
    print(tc.nan_onsets(naive))
    print(tc.nan_onsets(fixed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
