"""HE-friendly AlexNet's recipe on digits: trainable quadratic activations a·x² + b·x
(starting as the identity) reached by a smooth transition from ReLU, with distillation
from the trained ReLU network.

    python examples/torch_quadratic_transition_kd.py [--epochs 30] [--seeds 0 1 2] [--quick]

λ_e = clamp((e − e0)/d, 0, 1) with e0 = 3, d = 10 as in the paper (scaled down in --quick);
loss α·τ²·CE(Q_s^τ, Q_t^τ) + (1 − α)·CE(student, labels) with τ = 10, α = 0.1.
"""
from __future__ import annotations

import torch

import torch_common as tc
from polyfit.reports import Stopwatch
from polyfit.torch import Blended, TrainableQuadratic
from polyfit.torch.recipes import SmoothTransition, distillation_loss

MONITOR_RANGE = 5.0  # the quadratic has no fitted domain; inputs beyond ±5 are reported as out of range


def train_quadratic(data, args, seed, teacher=None, transition=True):
    """Quadratic student from scratch: Blended(ReLU, quadratic) sites under the schedule
    (transition) or quadratics from epoch 0 (direct); KD when a teacher is given."""
    g = tc.seed_everything(seed)
    model = tc.DigitsCNN().to(args.device)
    start, duration = (args.start, args.duration) if transition else (0, 0)
    sites = tc.swap_sites(model, lambda name, old: Blended(old, TrainableQuadratic()))
    model.to(args.device)
    schedule = SmoothTransition(sites, start=start, duration=duration, mode=args.mode)
    opt = tc.make_optimizer(model.parameters(), "adam", args.lr)

    def kd_loss(m, xb, yb):
        logits = m(xb)
        if teacher is None:
            return torch.nn.functional.cross_entropy(logits, yb)
        with torch.no_grad():
            t_logits = teacher(xb)
        return distillation_loss(logits, t_logits, yb, temperature=args.temperature, alpha=args.alpha, form=args.form)

    history = []
    for epoch in range(args.epochs):
        lambdas = schedule.step(epoch)
        loss = tc.train_epoch(model, data, opt, args.batch_size, g, kd_loss)
        history.append({"epoch": epoch, "loss": loss, "lambda": min(lambdas.values()),
                        **tc.evaluate(model, data, sites, MONITOR_RANGE)})
    final = min(schedule.lambdas(args.epochs - 1).values())
    if final < 1.0:
        print(f"note: training ended at λ = {final:g} < 1; the model still uses ReLU partly")
    return history


def main(argv=None) -> int:
    p = tc.parser(__doc__.split("\n\n")[0])
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--start", type=int, default=3, help="e0: first transition epoch (default 3)")
    p.add_argument("--duration", type=int, default=10, help="d: transition epochs (default 10)")
    p.add_argument("--mode", default="all", choices=("all", "layer"), help="all sites at once, or layer by layer")
    p.add_argument("--temperature", type=float, default=10.0)
    p.add_argument("--alpha", type=float, default=0.1)
    p.add_argument("--form", default="mix", choices=("mix", "add"), help="mix (paper) or add (HElayers)")
    args = tc.finish_args(p.parse_args(argv), quick_epochs=3)
    if args.quick:
        args.start, args.duration = 0, 2
    data = tc.load_digits(args.device, quick=args.quick)

    baseline = tc.MethodResult("relu baseline (teacher)")
    direct = tc.MethodResult("quadratic, direct (no ST, no KD)")
    full = tc.MethodResult("quadratic + ST + KD")
    for seed in args.seeds:
        teacher = tc.train_teacher(data, args, seed, baseline, lr=args.lr).eval()
        for result, kwargs in ((direct, {"teacher": None, "transition": False}),
                               (full, {"teacher": teacher, "transition": True})):
            with Stopwatch() as sw:
                result.runs.append(train_quadratic(data, args, seed, **kwargs))
            result.seconds += sw.elapsed
    tc.report([baseline, direct, full], args, "torch_quadratic_transition_kd",
              "trainable quadratic + smooth transition + KD", reference="relu baseline (teacher)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
