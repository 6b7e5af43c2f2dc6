"""Shared pieces of the torch examples: scikit-learn's digits (ships offline), a small CNN,
a plain training loop, evaluation with the out-of-range monitor, the results table and the
accuracy-per-epoch plot.

Every example takes ``--device``, ``--epochs``, ``--seeds``, ``--quick`` (a few seconds, for
tests) and ``--out-dir`` (plot and JSON results).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from polyfit.atomic import atomic_write_text, save_figure
from polyfit.reports import Stopwatch

QUICK_TRAIN = 400      # training images in --quick mode
QUICK_TEST = 200       # test images in --quick mode


# -- command line -------------------------------------------------------------------------
def parser(description: str, epochs: int = 30) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda (default cpu)")
    p.add_argument("--epochs", type=int, default=epochs, help=f"training epochs (default {epochs})")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="model seeds (default 0 1 2)")
    p.add_argument("--quick", action="store_true", help="tiny run for tests: 2 epochs, 1 seed, 400 images")
    p.add_argument("--out-dir", default="torch-results", help="folder for the plot and results JSON")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    return p


def finish_args(args: argparse.Namespace, quick_epochs: int = 2) -> argparse.Namespace:
    """Apply --quick (few epochs, one seed), --threads, and check the device."""
    if args.epochs < 1:
        raise SystemExit("--epochs must be >= 1")
    if args.quick:
        args.epochs = min(args.epochs, quick_epochs)
        args.seeds = args.seeds[:1]
    if args.threads:
        torch.set_num_threads(args.threads)
    args.device = torch.device(args.device)
    if args.device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda requested but CUDA is not available")
    os.makedirs(args.out_dir, exist_ok=True)
    return args


# -- data ---------------------------------------------------------------------------------
@dataclass
class Digits:
    """digits as float tensors N×1×8×8 scaled to [0, 1], labels int64; 80/20 stratified split."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor


def load_digits(device="cpu", quick: bool = False, split_seed: int = 0) -> Digits:
    from sklearn.datasets import load_digits as _load
    from sklearn.model_selection import train_test_split

    bunch = _load()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]
    y = bunch.target.astype(np.int64)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.2, stratify=y, random_state=split_seed)
    if quick:
        xtr, ytr, xte, yte = xtr[:QUICK_TRAIN], ytr[:QUICK_TRAIN], xte[:QUICK_TEST], yte[:QUICK_TEST]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a)).to(device)  # noqa: E731
    return Digits(t(xtr), t(ytr), t(xte), t(yte))


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, generator: torch.Generator | None):
    """Shuffled mini-batches (generator given) or in order (None)."""
    n = x.shape[0]
    order = torch.randperm(n, generator=generator).to(x.device) if generator is not None else torch.arange(n, device=x.device)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        yield x[idx], y[idx]


# -- model --------------------------------------------------------------------------------
class DigitsCNN(nn.Module):
    """conv(1→16)-BN-act → conv(16→32)-BN-act → avgpool 2 → fc(512→64)-act → fc(64→10).

    Three activation sites (``act1``, ``act2``, ``act3``), all nn.ReLU at construction;
    average pooling (HE/MPC friendly) rather than max pooling.
    """

    def __init__(self, batchnorm: bool = True):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16) if batchnorm else nn.Identity()
        self.act1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32) if batchnorm else nn.Identity()
        self.act2 = nn.ReLU()
        self.pool = nn.AvgPool2d(2)
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(32 * 4 * 4, 64)
        self.act3 = nn.ReLU()
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv1(x)))
        x = self.pool(self.act2(self.bn2(self.conv2(x))))
        x = self.act3(self.fc1(self.flatten(x)))
        return self.fc2(x)


SITE_NAMES = ("act1", "act2", "act3")


def sites_of(model: nn.Module) -> dict[str, nn.Module]:
    """The CNN's three activation sites, in execution order."""
    return {name: getattr(model, name) for name in SITE_NAMES}


def make_optimizer(parameters, name: str, lr: float):
    """``adam`` (torch.optim.Adam) or ``sgd`` (momentum 0.9, as PILLAR trains)."""
    if name == "adam":
        return torch.optim.Adam(parameters, lr=lr)
    if name == "sgd":
        return torch.optim.SGD(parameters, lr=lr, momentum=0.9)
    raise SystemExit(f"--optimizer {name!r} is not allowed; allowed: adam, sgd")


def seed_everything(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


# -- training -----------------------------------------------------------------------------
def cross_entropy_loss(model, xb, yb):
    return F.cross_entropy(model(xb), yb)


def train_epoch(model, data: Digits, optimizer, batch_size: int, generator, loss_fn=cross_entropy_loss) -> float:
    """One pass over the training set; ``loss_fn(model, xb, yb)`` → scalar. Returns mean loss
    (NaN/inf if any batch's loss was not finite: the run is reported as it is)."""
    model.train()
    total, count = 0.0, 0
    for xb, yb in batches(data.x_train, data.y_train, batch_size, generator):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, xb, yb)
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * xb.shape[0]
        count += xb.shape[0]
    return total / max(count, 1)


@torch.no_grad()
def accuracy(model, x, y, batch_size: int = 512) -> float:
    """Test accuracy in percent; a NaN logit row counts as wrong."""
    model.eval()
    correct = 0
    for xb, yb in batches(x, y, batch_size, None):
        logits = model(xb)
        ok = (logits.argmax(dim=1) == yb) & torch.isfinite(logits).all(dim=1)
        correct += int(ok.sum())
    return 100.0 * correct / x.shape[0]


def evaluate(model, data: Digits, sites: dict | None = None, ranges=None) -> dict:
    """Test accuracy and, when sites are given, the out-of-range rate and NaN count of the
    activation inputs on the test set (polyfit.torch.recipes.OutOfRangeMonitor)."""
    if not sites:  # ReLU has no range: nothing to monitor
        return {"accuracy": accuracy(model, data.x_test, data.y_test), "oor_rate": None, "nan": None,
                "first_nan_site": None}
    from polyfit.torch.recipes import OutOfRangeMonitor

    with OutOfRangeMonitor(sites, ranges) as monitor:
        acc = accuracy(model, data.x_test, data.y_test)
        t = monitor.totals()
    return {"accuracy": acc, "oor_rate": t["rate"], "nan": t["nan"], "inf": t["inf"], "first_nan_site": t["first_nan_site"]}


def train_relu_baseline(data: Digits, args, seed: int, epochs: int | None = None, lr: float = 3e-3):
    """The ReLU CNN trained with Adam; returns (model, per-epoch history)."""
    g = seed_everything(seed)
    model = DigitsCNN().to(args.device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in range(epochs or args.epochs):
        loss = train_epoch(model, data, opt, args.batch_size, g)
        history.append({"epoch": epoch, "loss": loss, **evaluate(model, data)})
    return model, history


def train_teacher(data: Digits, args, seed: int, result: "MethodResult", lr: float = 3e-3) -> nn.Module:
    """:func:`train_relu_baseline`, its history and time added to ``result``; returns the model."""
    with Stopwatch() as sw:
        model, history = train_relu_baseline(data, args, seed, lr=lr)
    result.runs.append(history)
    result.seconds += sw.elapsed
    return model


# -- reporting ----------------------------------------------------------------------------
@dataclass
class MethodResult:
    """Runs of one method over seeds: each run is a list of per-epoch dicts. ``offset``:
    epochs trained before the first entry (fine-tuning that starts from a trained network is
    plotted after the baseline's epochs)."""

    name: str
    runs: list = field(default_factory=list)
    seconds: float = 0.0
    offset: int = 0

    def final(self, key: str) -> list:
        return [run[-1][key] for run in self.runs]


def _mean(values) -> float:
    vals = [float(v) for v in values]
    return statistics.fmean(vals) if vals else float("nan")


def table(results: list[MethodResult], reference: str | None = None) -> str:
    """Text table: final test accuracy (mean ± std over seeds), Δ vs ``reference``,
    out-of-range rate and NaN count of the activation inputs on the test set."""
    ref = next((r for r in results if r.name == reference), None)
    ref_acc = _mean(ref.final("accuracy")) if ref else None
    head = f"{'method':<34} {'seeds':>5} {'accuracy %':>15} {'Δ acc':>7} {'out-of-range':>13} {'NaN':>9} {'time s':>7}"
    lines = [head, "-" * len(head)]
    if ref is not None:
        lines.insert(0, f"Δ acc: mean accuracy minus that of {reference!r}; out-of-range and NaN: activation inputs "
                        "on the test set (- : ReLU, not monitored)")
    for r in results:
        accs = r.final("accuracy")
        mean = _mean(accs)
        std = statistics.pstdev(accs) if len(accs) > 1 else 0.0
        delta = f"{mean - ref_acc:+.2f}" if ref_acc is not None and r is not ref else ""
        monitored = [v for v in r.final("oor_rate") if v is not None]
        oor = f"{100 * _mean(monitored):>12.3f}%" if monitored else f"{'-':>13}"
        nan = f"{sum(int(v) for v in r.final('nan') if v is not None):>9d}" if monitored else f"{'-':>9}"
        lines.append(f"{r.name:<34} {len(accs):>5} {mean:>9.2f} ± {std:<4.2f} {delta:>7} {oor} {nan} {r.seconds:>7.1f}")
    return "\n".join(lines)


def save_results(results: list[MethodResult], out_dir: str, stem: str, title: str) -> tuple[str, str]:
    """Plot mean test accuracy per epoch and write the runs as JSON (both atomically)."""

    def figure():
        import matplotlib.pyplot as plt  # imported by save_figure, after it selects the Agg backend

        fig, ax = plt.subplots(figsize=(6.4, 4.0))
        for r in results:
            n = min(len(run) for run in r.runs)
            acc = [_mean(run[e]["accuracy"] for run in r.runs) for e in range(n)]
            ax.plot(range(r.offset + 1, r.offset + n + 1), acc, marker="o", markersize=3 if n > 1 else 6, label=r.name)
        ax.set_xlabel("epoch (fine-tuning continues after the baseline's epochs)" if any(r.offset for r in results)
                      else "epoch")
        ax.set_ylabel("test accuracy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        return fig

    png = save_figure(figure, os.path.join(out_dir, f"{stem}.png"), dpi=100)
    payload = {r.name: {"seconds": r.seconds, "runs": r.runs} for r in results}
    js = atomic_write_text(os.path.join(out_dir, f"{stem}.json"), json.dumps(payload, indent=1, default=str))
    return png, js


def report(results: list[MethodResult], args, stem: str, title: str, reference: str | None = None) -> None:
    print(table(results, reference))
    png, js = save_results(results, args.out_dir, stem, title)
    print(f"plot: {png}\nresults: {js}")


# -- polynomial models --------------------------------------------------------------------
def pillar_approximation(degree: int = 4, bound: float = 5.0, bits: int | None = 10):
    """The artifact of ``polyfit fit --degree 4 --range 5 --bits 10`` (PILLAR's activation)."""
    import polyfit as pf

    return pf.fit("relu", degree=degree, domain=bound, bits=bits)


def swap_sites(model: nn.Module, factory, names=SITE_NAMES) -> dict[str, nn.Module]:
    """Replace activation sites ``names`` of the CNN in place with ``factory(name, old)``
    (moved to the model's device), through polyfit.torch's surgery (find_sites dry run +
    replace_activations); returns the CNN's sites in execution order."""
    from polyfit.torch import find_sites, replace_activations

    device = next(model.parameters()).device
    sites = [s for s in find_sites(model, torch.zeros(2, 1, 8, 8, device=device)) if s.name in names]
    replace_activations(model, lambda site: factory(site.name, site.module).to(device), sites=sites, inplace=True)
    return sites_of(model)


def penalty_loss(penalty):
    """``loss_fn`` for train_epoch: cross entropy + the PILLAR penalty of this forward."""
    def loss_fn(model, xb, yb):
        return F.cross_entropy(model(xb), yb) + penalty.penalty().to(xb.device)
    return loss_fn


def site_profiles(model: nn.Module, sites: dict[str, nn.Module], x: torch.Tensor, sample_size: int = 20000,
                  seed: int = 0) -> dict:
    """Profile each site's inputs over ``x`` with polyfit.torch.profile_sites (eval mode):
    ``{name: SiteProfile}`` with exact min/max and a random sample of ``sample_size`` inputs."""
    from polyfit.torch import profile_sites

    profile = profile_sites(model, x.split(256), sites=sites, sample_size=sample_size, seed=seed)
    return {name: profile[name] for name in sites}


def nan_onsets(result: MethodResult) -> str:
    """One line per run: the first epoch whose evaluation saw a NaN, and the first site with it."""
    lines = []
    for k, run in enumerate(result.runs):
        first = next((e for e in run if e.get("nan")), None)
        lines.append(f"  {result.name} run {k}: " + (f"first NaN after epoch {first['epoch'] + 1}, at site {first['first_nan_site']}"
                                                    if first else "no NaN"))
    return "\n".join(lines)
