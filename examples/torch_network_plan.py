"""Network plans on digits: each activation site's polynomial chosen under a depth budget.

A residual CNN with 7 ReLU sites (stem, two residual blocks of two sites, a strided
downsampling conv, the hidden fully connected layer) is trained on scikit-learn's digits (ships
with scikit-learn; stratified 60/20/20 train/validation/test split). Without BatchNorm (the
default; ``--batchnorm`` adds it) the activation ranges grow along the network, from ±2 at the
stem to ±100 in the second block, as in Sisyphus' deep CNNs. Its ReLUs are then replaced,
without retraining, in these ways, compared at the same *total depth* — CKKS levels of the
activations along the network's deepest path (residual branches in parallel, a chain adds):

- **uniform**: one candidate spec at every site (``fit:D`` least squares of degree D on the
  site's range, ``fit:D:samples`` on its profiled inputs, ``composite:…`` minimax ReLU), each
  fitted on its own site's profile. The *best uniform* choice is the one that scores highest.
- **plan @ uniform depth**: ``NetworkPlanner.plan(depth_budget = the best uniform's depth)``.
- **plan @ uniform accuracy**: the least depth the planner finds whose validation accuracy is at
  least the best uniform's (``metric_target`` = that accuracy − 10⁻³, see below).
- **global BO** (Sisyphus): ``pf.search`` over degree × range [−a, a] of one polynomial used at
  every site (BoTorch, validation accuracy), degrees whose network depth fits the best uniform's.
- **plan @ 2 levels per site + PA**: the cheapest non-linear plan, then fine-tuned by SmartPAF's
  progressive replacement (the recipes): a plan needs no retraining, but composes with it.

The score the planner maximises is the validation accuracy with ties broken by fidelity to the
exact network: accuracy − 10⁻⁴·min(KL(exact ‖ polynomial), 10), the KL term below one sample's
1/N, so it only orders plans of equal accuracy (and a target of accuracy A − 10⁻³ means
"accuracy ≥ A"). The tables print plain accuracies; the test set is held out (one test sample
is 0.28 %).

    python examples/torch_network_plan.py            # a few minutes on 2 cores
    python examples/torch_network_plan.py --quick    # tiny, for tests
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from torch import nn

QUICK_SPECS = ("fit:1", "fit:3", "fit:7", "fit:3:samples", "fit:7:samples", "composite:3,3")
KL_WEIGHT = 1e-4
KL_CAP = 10.0


# -- data and model ---------------------------------------------------------------------------------------
def digits_splits(seed: int, quick: bool):
    """(train, val, test) pairs of N×1×8×8 float tensors in [0, 1] and int64 labels, stratified 60/20/20."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
    xtr, xrest, ytr, yrest = train_test_split(x, y, test_size=0.4, random_state=seed, stratify=y)
    xva, xte, yva, yte = train_test_split(xrest, yrest, test_size=0.5, random_state=seed, stratify=yrest)
    if quick:
        xtr, ytr, xva, yva, xte, yte = xtr[:400], ytr[:400], xva[:150], yva[:150], xte[:150], yte[:150]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    return (t(xtr), t(ytr).long()), (t(xva), t(yva).long()), (t(xte), t(yte).long())


def norm(channels: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm2d(channels) if batchnorm else nn.Identity()


class Residual(nn.Module):
    """conv-(BN)-ReLU-conv-(BN), plus the input, then ReLU: two sites, a parallel skip."""

    def __init__(self, channels: int, batchnorm: bool):
        super().__init__()
        self.conv1, self.bn1, self.act1 = nn.Conv2d(channels, channels, 3, padding=1), norm(channels, batchnorm), nn.ReLU()
        self.conv2, self.bn2, self.act2 = nn.Conv2d(channels, channels, 3, padding=1), norm(channels, batchnorm), nn.ReLU()

    def forward(self, x):
        return self.act2(x + self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))


class PlanCNN(nn.Module):
    """stem conv → residual block → strided conv → residual block → avg pool → fc-ReLU → fc: 7 ReLU sites."""

    def __init__(self, width: int = 16, batchnorm: bool = False):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), norm(width, batchnorm), nn.ReLU())
        self.block1 = Residual(width, batchnorm)
        self.down = nn.Sequential(nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), norm(2 * width, batchnorm), nn.ReLU())
        self.block2 = Residual(2 * width, batchnorm)
        self.pool = nn.AvgPool2d(2)
        self.fc1, self.act, self.fc2 = nn.Linear(8 * width, 64), nn.ReLU(), nn.Linear(64, 10)

    def forward(self, x):
        h = self.pool(self.block2(self.down(self.block1(self.stem(x)))))
        return self.fc2(self.act(self.fc1(h.flatten(1))))


def train(model: nn.Module, data, epochs: int, seed: int, lr: float = 2e-3, parameters=None) -> nn.Module:
    x, y = data
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(parameters if parameters is not None else model.parameters(), lr=lr)
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(x.shape[0], generator=g)
        for i in range(0, x.shape[0], 64):
            idx = perm[i:i + 64]
            opt.zero_grad()
            nn.functional.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
    return model.eval()


def accuracy(model: nn.Module, data) -> float:
    """Top-1 accuracy; a sample whose logits are not all finite counts as wrong."""
    x, y = data
    with torch.no_grad():
        out = model.eval()(x)
    ok = torch.isfinite(out).all(dim=1) & (out.argmax(1) == y)
    return float(ok.double().mean())


def fidelity_accuracy(exact: nn.Module, data):
    """``evaluate`` for the planner: accuracy − 10⁻⁴·min(KL(exact ‖ net), 10) on ``data``
    (KL of the softmax outputs, mean over samples; a non-finite output costs the cap)."""
    with torch.no_grad():
        reference = torch.log_softmax(exact.eval()(data[0]), dim=1)

    def evaluate(net):
        with torch.no_grad():
            out = net(data[0])
        if torch.isfinite(out).all():
            kl = float((reference.exp() * (reference - torch.log_softmax(out, dim=1))).sum(dim=1).mean())
        else:
            kl = KL_CAP
        return accuracy(net, data) - KL_WEIGHT * min(kl, KL_CAP)

    return evaluate


# -- the comparison ---------------------------------------------------------------------------------------
def compare(args) -> dict:
    """Train, plan and compare; returns the rows, the uniform table, the plans and the goal ratios."""
    import polyfit.torch as pft

    torch.manual_seed(args.seed)
    train_set, val, test = digits_splits(args.seed, args.quick)
    model = train(PlanCNN(args.width, args.batchnorm), train_set, args.epochs, args.seed)
    rows = {"relu": {"val": accuracy(model, val), "test": accuracy(model, test), "depth": None, "seconds": None}}
    calibration = [(val[0][i:i + 128], val[1][i:i + 128]) for i in range(0, val[0].shape[0], 128)]
    specs = QUICK_SPECS if args.quick else None

    load_before = os.getloadavg()
    t0, c0 = time.perf_counter(), time.process_time()
    planner = pft.NetworkPlanner(model, calibration, evaluate=fidelity_accuracy(model, val), candidates=specs,
                                 seed=args.seed, progress=not args.quiet)
    planner.sensitivities()
    uniform = planner.uniform()
    setup_s, setup_cpu = time.perf_counter() - t0, time.process_time() - c0
    for u in uniform:
        net = planner.network({n: u["candidate"] for n in planner.sites})
        u["val"], u["test"] = accuracy(net, val), accuracy(net, test)
    best = max(uniform, key=lambda u: (u["metric"] if u["metric"] is not None else -1.0, -u["total_depth"]))
    rows[f"uniform best ({best['candidate']})"] = {"val": best["val"], "test": best["test"],
                                                  "depth": best["total_depth"], "seconds": None}

    t1, c1 = time.perf_counter(), time.process_time()
    at_depth = planner.plan(depth_budget=best["total_depth"], max_evaluations=args.evaluations)
    plan_s, plan_cpu = setup_s + time.perf_counter() - t1, setup_cpu + time.process_time() - c1
    rows["plan @ uniform depth"] = _row(at_depth, model, val, test, plan_s)
    t2 = time.perf_counter()
    # score >= accuracy − 10⁻⁴·cap  ⇔  accuracy >= the uniform's (a sample less is −1/N < −10⁻³)
    at_accuracy = planner.plan(metric_target=best["val"] - KL_WEIGHT * KL_CAP, max_evaluations=args.evaluations)
    rows["plan @ uniform accuracy"] = _row(at_accuracy, model, val, test, time.perf_counter() - t2)
    load_after = os.getloadavg()
    if args.bo:
        name, row = _global_bo(model, planner, calibration, val, test, best, args)
        rows[name] = row
    if args.pa:
        # The cheapest non-linear plan (2 levels per site on the deepest path), then fine-tuned.
        budget = 2 * sum(1 for s in at_depth.depth.path if s.kind == "site")
        t4 = time.perf_counter()
        cheap = planner.plan(depth_budget=budget, max_evaluations=args.evaluations)
        rows[f"plan @ {budget} levels"] = _row(cheap, model, val, test, time.perf_counter() - t4)
        t5 = time.perf_counter()
        tuned = _fine_tune(model, cheap, train_set, args)
        rows[f"plan @ {budget} levels + PA (SmartPAF)"] = {"val": accuracy(tuned, val), "test": accuracy(tuned, test),
                                                         "depth": pft.network_depth(tuned).total,
                                                         "seconds": time.perf_counter() - t5}
    plan_row = rows["plan @ uniform depth"]
    return {"rows": rows, "uniform": uniform, "best_uniform": best, "plans": {"at_depth": at_depth, "at_accuracy": at_accuracy},
            "goals": {"accuracy_ratio_val": _ratio(plan_row["val"], best["val"]),
                      "accuracy_ratio_test": _ratio(plan_row["test"], best["test"]),
                      "depth_ratio": _ratio(at_accuracy.total_depth, best["total_depth"]),
                      "target_reached": rows["plan @ uniform accuracy"]["val"] >= best["val"],
                      "planning_seconds": plan_s, "planning_cpu_seconds": plan_cpu, "sites": len(planner.sites),
                      "evaluations": planner.run.evaluations,
                      "load_average_before": load_before[0], "load_average_after": load_after[0],
                      "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count()},
            "whole_network_depth": {"plan @ uniform depth": _whole(at_depth.apply(model)[0]),
                                    "uniform best": _whole(planner.network({n: best["candidate"] for n in planner.sites}))}}


def _global_bo(model, planner, calibration, val, test, best, args):
    """Sisyphus: one (degree, range) at every site by BoTorch, within the best uniform's depth."""
    import polyfit as pf
    from polyfit.search_objectives import NetworkAccuracy

    per_site = max(lv for lv in range(1, 64) if planner.graph.total({n: lv for n in planner.sites}) <= best["total_depth"])
    t3 = time.perf_counter()
    search = pf.search("relu", degrees=args.bo_degrees, range_bounds=(0.5, 200.0), objective=NetworkAccuracy(model, calibration),
                       max_depth=per_site, budget=args.bo_budget, n_initial=args.bo_initial, seed=args.seed,
                       progress=not args.quiet)
    bo = search.best_evaluation
    net = NetworkAccuracy(model, calibration).network(search.best)
    depth = planner.graph.total({n: int(search.best.depth["ckks_levels"]) for n in planner.sites})
    return (f"global BO (d={bo.degree}, a={bo.range:.3g})",
            {"val": accuracy(net, val), "test": accuracy(net, test), "depth": depth, "seconds": time.perf_counter() - t3})


def _row(plan, model, val, test, seconds) -> dict:
    net, _ = plan.apply(model)
    return {"val": accuracy(net, val), "test": accuracy(net, test), "depth": plan.total_depth, "seconds": seconds}


def _whole(net) -> int:
    """Depth of the whole network: activations, linear layers and average pooling (BN folded)."""
    import polyfit.torch as pft

    return pft.network_depth(net, count_linear=True).total


def _fine_tune(model, plan, train_set, args) -> nn.Module:
    """SmartPAF's progressive replacement with the plan's modules: each site in turn, the layers
    before it trained ``--pa-epochs`` epochs at learning rate 3·10⁻⁴ (inputs clipped to each fit's
    domain while training)."""
    import copy

    from polyfit.torch.recipes import progressive_replacement

    tuned = copy.deepcopy(model)

    def fine_tune(net, site, parameters):
        if parameters:
            train(net, train_set, args.pa_epochs, args.seed, lr=3e-4, parameters=parameters)
        return accuracy(net, train_set)

    progressive_replacement(tuned, plan.factory(clip=True), fine_tune, train_set[0][:8], sites=[s.name for s in plan.sites])
    return tuned.eval()


def _ratio(a, b):
    return a / b if a is not None and b else None


# -- report -----------------------------------------------------------------------------------------------
def report(result) -> str:
    lines = [f"{'method':<34}{'val acc':>9}{'test acc':>10}{'total depth':>13}{'seconds':>10}"]
    for name, r in result["rows"].items():
        depth = "-" if r["depth"] is None else str(r["depth"])
        secs = "-" if r["seconds"] is None else f"{r['seconds']:.1f}"
        lines.append(f"{name:<34}{_pct(r['val']):>9}{_pct(r['test']):>10}{depth:>13}{secs:>10}")
    g = result["goals"]
    lines += ["", "uniform choices (same spec at every site, each on its own site's profile):",
              f"  {'candidate':<18}{'total depth':>12}{'val acc':>9}{'test acc':>10}"]
    for u in result["uniform"]:
        lines.append(f"  {u['candidate']:<18}{u['total_depth']:>12}{_pct(u['val']):>9}{_pct(u['test']):>10}")
    lines += ["", "goals (total depth = activation levels on the deepest path):",
              f"  plan accuracy / best uniform accuracy at the same depth: {_fmt(g['accuracy_ratio_val'])} (val), "
              f"{_fmt(g['accuracy_ratio_test'])} (test)   goal >= 1",
              f"  plan depth / best uniform depth at the same (val) accuracy: {_fmt(g['depth_ratio'])}"
              f"{'' if g['target_reached'] else ' (target not reached)'}   goal <= 0.75",
              f"  planning time ({g['sites']} sites; profile, candidates, sensitivities, uniform, plan; "
              f"{g['evaluations']} evaluations): {g['planning_seconds']:.1f} s wall, {g['planning_cpu_seconds']:.1f} s CPU; "
              f"load average {g['load_average_before']:.1f} -> {g['load_average_after']:.1f} on {g['cpus']} CPUs, "
              f"{g['torch_threads']} torch thread(s)   goal < 300 s",
              f"  whole-network depth (activations + linear layers + average pooling, BN folded): "
              f"plan {result['whole_network_depth']['plan @ uniform depth']}, "
              f"best uniform {result['whole_network_depth']['uniform best']}"]
    return "\n".join(lines)


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}"


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3f}"


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny run for tests (few epochs, candidates, BO points)")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--width", type=int, default=16, help="channels of the first conv (default 16)")
    ap.add_argument("--batchnorm", action="store_true", help="BatchNorm after every conv (default: none)")
    ap.add_argument("--evaluations", type=int, default=60, help="local-search evaluations per plan (default 60)")
    ap.add_argument("--no-bo", dest="bo", action="store_false", help="skip the global BO")
    ap.add_argument("--no-pa", dest="pa", action="store_false", help="skip the fine-tuning by progressive replacement")
    ap.add_argument("--bo-budget", type=int, default=50, help="global BO evaluations (Sisyphus: 50)")
    ap.add_argument("--bo-initial", type=int, default=10, help="Sobol points of the BO (Sisyphus: 10)")
    ap.add_argument("--bo-degrees", default="2-31", help="degrees the BO searches (default 2-31)")
    ap.add_argument("--pa-epochs", type=int, default=2, help="fine-tuning epochs per site (progressive replacement)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--out-dir", default="plan-results", help="folder for the plan, the results JSON and the plot")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    return ap


def finish_args(ap, args):
    if args.quick:
        args.epochs, args.width, args.evaluations, args.bo_budget, args.bo_initial, args.pa_epochs = 15, 8, 10, 5, 4, 1
        args.bo_degrees = "2-7"
    if min(args.epochs, args.width, args.bo_budget, args.bo_initial, args.pa_epochs) < 1 or args.evaluations < 0:
        ap.error("--epochs, --width, --bo-budget, --bo-initial and --pa-epochs must be >= 1, --evaluations >= 0")
    if args.threads < 0:
        ap.error("--threads must be >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    return args


def main(argv=None) -> int:
    ap = parser()
    args = finish_args(ap, ap.parse_args(argv))
    if not os.path.isdir(args.out_dir):
        os.makedirs(args.out_dir)
    result = compare(args)
    print(report(result), flush=True)
    plan = result["plans"]["at_depth"]
    print("\nplan @ uniform depth, per site:\n" + plan.table())
    print("\nits Pareto table:\n" + plan.pareto_table())
    print("\n" + plan.depth.describe())
    plan_path = plan.save(os.path.join(args.out_dir, "torch_network_plan.plan.json"))
    uniform = [(u["total_depth"], u["metric"]) for u in result["uniform"] if u["metric"] is not None]
    png = plan.plot(os.path.join(args.out_dir, "torch_network_plan.png"), baselines={"uniform": uniform})
    from polyfit.atomic import atomic_write_text

    payload = {k: v for k, v in result.items() if k != "plans"}
    payload["plans"] = {k: {"total_depth": p.total_depth, "metric": p.metric, "search": p.search,
                            "choice": {s.name: s.candidate for s in p.sites}} for k, p in result["plans"].items()}
    out = atomic_write_text(os.path.join(args.out_dir, "torch_network_plan.json"),
                            json.dumps(payload, indent=2, allow_nan=False, default=float) + "\n")
    print(f"\nplan {plan_path}\nplot {png}\nresults {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
