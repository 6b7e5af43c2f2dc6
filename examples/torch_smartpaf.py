"""SmartPAF on digits: a sign-composite ReLU (x·(1 + s(x/S))/2) at every site, with static
scale S per site, coefficient tuning (CT) on profiled inputs, progressive approximation (PA)
and alternate training (AT), starting from the trained ReLU network.

    python examples/torch_smartpaf.py [--preset f1g2] [--epochs 30] [--seeds 0 1 2] [--quick]

The composite comes from ``pf.composite(preset=...)``; if this polyfit has no composite
solver, a degree-7 least-squares ReLU fit is used instead (printed), refit on [-S, S] per site
in the Chebyshev basis (well-scaled coefficients for training).
"""
from __future__ import annotations

import copy

import torch

import torch_common as tc
from polyfit.reports import Stopwatch
from polyfit.torch import PolyActivation
from polyfit.torch.recipes import (ActivationPenalty, AlternateTraining, progressive_replacement, scaled_approximation,
                                   static_scale, tune_gradient, tune_lstsq)

EXAMPLE = torch.zeros(2, 1, 8, 8)


def base_approximation(preset: str):
    """ReLU on [-1, 1] as a composite preset (combine relu), or the degree-7 fallback."""
    import polyfit as pf

    try:
        return pf.composite(preset=preset, function="relu")
    except ImportError as exc:
        print(f"note: pf.composite(preset={preset!r}) unavailable ({type(exc).__name__}: {exc}); "
              "using a degree-7 least-squares ReLU fit on [-1, 1]")
        return pf.fit("relu", degree=7, domain=1.0)


def tuned_activations(teacher, data, base, args, seed):
    """Static scale + CT per site: {name: (direct PolyActivation, tuned PolyActivation)}.

    The composite is rescaled to [-S, S] (input_scale 1/S); the one-stage fallback is refit
    on [-S, S] (a plain fit is not invariant under input scaling). Clipping to [-S, S] in
    training keeps fine-tuning inside the polynomial's domain.
    """
    import polyfit as pf

    profiles = tc.site_profiles(teacher, tc.sites_of(teacher), data.x_train, seed=seed)
    out = {}
    for name, x in profiles.items():  # x: a SiteProfile (exact extremes + a sample of inputs)
        scale = static_scale(x, quantile=1.0, margin=args.margin, site=name)
        if base.combine != "none":
            initial = scaled_approximation(base, scale)
        else:
            initial = pf.fit("relu", degree=base.degree, domain=scale, basis="chebyshev")
        direct = PolyActivation(initial, name=name)
        if len(initial.stages) == 1:  # linear in the coefficients: the core's sample-weighted lstsq
            tuned_fit = tune_lstsq(x, initial.stages[0].degree, domain=initial.domain, site=name, basis="chebyshev")
            tuned = PolyActivation(tuned_fit, trainable=True, clip=True, name=name)
        else:  # composite: gradient on the MSE
            tuned = PolyActivation(initial, trainable=True, clip=True, name=name)
            tune_gradient(tuned, x, steps=args.ct_steps, lr=args.ct_lr, seed=seed, site=name)
        out[name] = (direct, tuned)
    return out


def with_activations(teacher, acts, which: int):
    model = copy.deepcopy(teacher)
    tc.swap_sites(model, lambda name, old: copy.deepcopy(acts[name][which]))
    return model


def main(argv=None) -> int:
    p = tc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="f1g2", help="composite preset (default f1g2)")
    p.add_argument("--lr", type=float, default=3e-3, help="baseline learning rate")
    p.add_argument("--margin", type=float, default=1.1, help="static scale S = margin · max|x| (default 1.1)")
    p.add_argument("--ct-steps", type=int, default=300)
    p.add_argument("--ct-lr", type=float, default=1e-2)
    p.add_argument("--pa-epochs", type=int, default=2, help="fine-tuning epochs after each replacement")
    p.add_argument("--at-rounds", type=int, default=3)
    p.add_argument("--coefficient-lr", type=float, default=1e-4)
    p.add_argument("--weight-lr", type=float, default=3e-4)
    p.add_argument("--penalty-coefficient", type=float, default=0.0,
                   help="add PILLAR's out-of-range penalty during PA and AT, bound = each site's profiled max|x| "
                        "(default 0: SmartPAF as published)")
    args = tc.finish_args(p.parse_args(argv))
    if args.quick:
        args.pa_epochs, args.at_rounds, args.ct_steps = 1, 1, 30
    data = tc.load_digits(args.device, quick=args.quick)
    base = base_approximation(args.preset)
    print(f"activation on [-1, 1]: {base!r}")
    example = EXAMPLE.to(args.device)

    names = ["relu baseline", "direct replacement", "CT", "CT + PA", "CT + PA + AT"]
    # fine-tuning curves continue after the baseline's epochs; no-training rows sit at its last epoch
    offsets = {n: 0 if n == "relu baseline" else args.epochs - (n in ("direct replacement", "CT")) for n in names}
    results = {n: tc.MethodResult(n, offset=offsets[n]) for n in names}
    for seed in args.seeds:
        teacher = tc.train_teacher(data, args, seed, results["relu baseline"], lr=args.lr)
        with Stopwatch() as tuning:
            acts = tuned_activations(teacher, data, base, args, seed)
        ranges = {n: a[1].approximation.domain for n, a in acts.items()}
        for label, which in (("direct replacement", 0), ("CT", 1)):
            model = with_activations(teacher, acts, which)
            results[label].runs.append([{"epoch": 0, **tc.evaluate(model, data, tc.sites_of(model), ranges)}])
            results[label].seconds += tuning.elapsed

        g = tc.seed_everything(seed)
        model = copy.deepcopy(teacher)
        curve = []

        def evaluate_now(stage):
            curve.append({"epoch": len(curve), "stage": stage, **tc.evaluate(model, data, tc.sites_of(model), ranges)})

        def train(m, optimizer):
            """One epoch of cross entropy (+ PILLAR's penalty with per-site bounds S_l/margin, if asked)."""
            if args.penalty_coefficient <= 0:
                return tc.train_epoch(m, data, optimizer, args.batch_size, g)
            bounds = {n: ranges[n][1] / args.margin for n in tc.SITE_NAMES}
            with ActivationPenalty(tc.sites_of(m), bound=bounds, exponent=10, coefficient=args.penalty_coefficient) as pen:
                return tc.train_epoch(m, data, optimizer, args.batch_size, g, tc.penalty_loss(pen))

        def fine_tune(m, site_name, params):
            opt = torch.optim.Adam(params, lr=args.weight_lr)
            for _ in range(args.pa_epochs):
                train(m, opt)
                evaluate_now(f"PA {site_name}")
            return curve[-1]["accuracy"] if args.pa_epochs else None

        with Stopwatch() as pa:
            progressive_replacement(model, lambda site: copy.deepcopy(acts[site.name][1]).to(args.device), fine_tune,
                                    example, sites=list(tc.SITE_NAMES))
        results["CT + PA"].runs.append(list(curve))
        results["CT + PA"].seconds += pa.elapsed

        def at_epoch(m, optimizer, phase):
            loss = train(m, optimizer)
            evaluate_now(f"AT {phase}")
            return loss

        with Stopwatch() as at:
            AlternateTraining(model, args.coefficient_lr, args.weight_lr).run(at_epoch, rounds=args.at_rounds,
                                                                               coefficient_epochs=1, weight_epochs=2)
        results["CT + PA + AT"].runs.append(list(curve))
        results["CT + PA + AT"].seconds += pa.elapsed + at.elapsed
    tc.report(list(results.values()), args, "torch_smartpaf", "SmartPAF: CT + PA + AT", reference="relu baseline")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
