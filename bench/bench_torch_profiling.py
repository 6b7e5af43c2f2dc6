"""profile_sites vs a plain forward over the same batches (issue 13: profiling ≤ 2× a forward).

A small CNN (conv–BN–ReLU ×4 at 32×32, 64 channels, batch 32; the ReLUs see 2 Mi elements
per call) run over the same batches in eval mode under no_grad: plain forwards, then
``profile_sites`` (default options: every site, histogram, 65536-element sample). Also a
functional-ReLU version of the model (sites seen through the function mode). Interleaved
rounds; best of each, by wall clock and by CPU time of the process; ratios measured in
the same run.

    python bench/bench_torch_profiling.py [--batches 4] [--rounds 5]
"""
from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.nn import functional as F

from polyfit.torch import profile_sites


class FunctionalReLUs(nn.Module):
    """The same network with F.relu in its forward (densenet/googlenet style)."""

    def __init__(self, net: nn.Sequential):
        super().__init__()
        self.layers = nn.ModuleList(m for m in net if not isinstance(m, nn.ReLU))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if isinstance(layer, nn.BatchNorm2d):
                x = F.relu(x)
        return x


def network(channels: int = 64, depth: int = 4) -> nn.Sequential:
    layers, c = [], 3
    for _ in range(depth):
        layers += [nn.Conv2d(c, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
        c = channels
    return nn.Sequential(*layers).eval()


def plain(model, batches):
    with torch.no_grad():
        for x in batches:
            model(x)


def best(fn, rounds, clock):
    out = float("inf")
    for _ in range(rounds):
        start = clock()
        fn()
        out = min(out, clock() - start)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0,
                        help="torch intra-op threads (0: torch's default); 1 gives steadier ratios on a shared machine")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batches = [torch.randn(32, 3, 32, 32) for _ in range(args.batches)]
    models = {"modules (nn.ReLU)": network()}
    models["functional (F.relu)"] = FunctionalReLUs(models["modules (nn.ReLU)"])
    print(f"\n{args.batches} batches of 32x3x32x32, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"best of {args.rounds} interleaved rounds")
    print(f"{'model':<22}{'forward ms':>12}{'profile ms':>12}{'× (wall)':>10}{'× (cpu)':>10}  goal ≤ 2×")
    for name, model in models.items():
        results = {}
        for clock_name, clock in (("wall", time.perf_counter), ("cpu", time.process_time)):
            f = p = float("inf")
            for _ in range(args.rounds):
                f = min(f, best(lambda: plain(model, batches), 1, clock))
                p = min(p, best(lambda: profile_sites(model, batches), 1, clock))
            results[clock_name] = (f, p)
        (fw, pw), (fc, pc) = results["wall"], results["cpu"]
        ok = "met" if pw / fw <= 2.0 else "MISSED"
        print(f"{name:<22}{fw * 1e3:>12.1f}{pw * 1e3:>12.1f}{pw / fw:>10.2f}{pc / fc:>10.2f}  {ok}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
