"""PolyActivation (degree 4) vs nn.ReLU: forward + backward time and saved memory.

Prints, per device (CPU, and CUDA when present), the median time of forward+backward on a
4Mi-element float32 tensor for nn.ReLU, PolyActivation with fixed and with trainable
coefficients, and plain autograd Horner (what a naive module would cost), as ratios to
ReLU measured in the same run. Saved memory is what autograd keeps between forward and
backward, measured with ``torch.autograd.graph.saved_tensors_hooks``.

Goals (issue 5): time ≤ 1.5× ReLU on CPU; saved memory ≤ ReLU's + one input-sized tensor.

    python bench/bench_torch.py [--elements 4194304] [--repeats 15]
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from polyfit.approximation import Stage
from polyfit.reports import assemble
from polyfit.torch import PolyActivation
from polyfit.torch.activations import horner


def relu_degree4():
    """The headline artifact's stage (polyfit fit --degree 4 --range 5 --bits 10)."""
    return assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                    objective={"norm": "l2"}, provenance={"solver": "bench"})


class NaiveHorner(nn.Module):
    """Baseline: the same polynomial through plain autograd (saves every Horner temporary)."""

    def __init__(self, coefficients):
        super().__init__()
        self.register_buffer("c", torch.tensor(coefficients, dtype=torch.float32))

    def forward(self, x):
        return horner(x, list(self.c.unbind(0)))


class PerChannelOnFlat(nn.Module):
    """Runs a per-channel activation on the flat bench tensor viewed as [N, 64, 16, 16]."""

    def __init__(self, activation):
        super().__init__()
        self.activation = activation

    def forward(self, x):
        return self.activation(x.view(-1, 64, 16, 16)).view(-1)


def saved_bytes(module, x) -> int:
    """Bytes autograd saves for backward in one forward of ``module`` (distinct storages)."""
    seen = {}

    def pack(t):
        if t.numel() > 1000:  # ignore the few-element coefficient tensors
            seen[(t.untyped_storage().data_ptr(), t.dtype)] = t.untyped_storage().nbytes()
        return t

    xr = x.detach().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        module(xr)
    return sum(seen.values())


def time_fwd_bwd(module, x, grad, repeats: int, sync) -> float:
    """Median seconds of forward + backward (input as a fresh leaf each time)."""
    times = []
    for i in range(repeats + 2):
        xr = x.detach().requires_grad_()
        sync()
        start = time.perf_counter()
        module(xr).backward(grad)
        sync()
        if i >= 2:  # two warm-up runs
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(device: str, elements: int, repeats: int) -> None:
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    torch.manual_seed(0)
    x = torch.randn(elements, device=device) * 3.0
    grad = torch.ones_like(x)
    approx = relu_degree4()
    modules = {
        "nn.ReLU": nn.ReLU(),
        "PolyActivation": PolyActivation(approx).to(device),
        "PolyActivation trainable": PolyActivation(approx, trainable=True).to(device),
        "PolyActivation per-channel": PerChannelOnFlat(PolyActivation(approx, channel_dim=1, num_channels=64)).to(device),
        "plain autograd Horner": NaiveHorner(approx.coefficients).to(device),
    }
    # Interleave the measurements in rounds so machine noise hits every module alike.
    results = {name: [] for name in modules}
    for _ in range(3):
        for name, module in modules.items():
            results[name].append(time_fwd_bwd(module, x, grad, max(1, repeats // 3), sync))
    base_t = min(results["nn.ReLU"])
    base_m = saved_bytes(modules["nn.ReLU"], x)
    input_bytes = x.numel() * x.element_size()
    print(f"\ndevice {device}, {elements} float32 elements ({input_bytes / 2**20:.1f} MiB), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'module':<28}{'fwd+bwd ms':>12}{'× ReLU':>9}{'saved MiB':>11}{'× input':>9}  goal")
    for name, module in modules.items():
        t = min(results[name])
        m = saved_bytes(module, x)
        goal = ""
        if name == "PolyActivation":
            ok_t = t / base_t <= 1.5
            ok_m = m <= base_m + input_bytes
            goal = f"time ≤1.5×: {'met' if ok_t else 'MISSED'}; memory ≤ ReLU+1 input: {'met' if ok_m else 'MISSED'}"
        print(f"{name:<28}{t * 1e3:>12.2f}{t / base_t:>9.2f}{m / 2**20:>11.1f}{m / input_bytes:>9.2f}  {goal}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=4 * 2**20, help="a multiple of 16384 (per-channel view)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args(argv)
    run("cpu", args.elements, args.repeats)
    if torch.cuda.is_available():
        run("cuda", args.elements, args.repeats)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
