"""PolyActivation vs nn.ReLU: forward + backward time and saved memory.

Prints, per device (CPU, and CUDA when present), the best of interleaved rounds of
forward+backward times on a 4Mi-element float32 tensor for nn.ReLU and PolyActivation with
the default constructor (the auto engine: compiled kernels in training), ``fused=False``
(the eager engine) and ``fused=True``; fixed, trainable and per-channel coefficients of the
degree-4 headline artifact, a degree-12 Chebyshev stage and a two-stage composite with
combine relu; and plain autograd Horner (what a naive module would cost), as ratios to ReLU
measured in the same run. Saved memory is what autograd keeps between forward and backward,
measured with ``torch.autograd.graph.saved_tensors_hooks``.

Goals (issues 5 and 13): the default constructor's time ≤ 1.5× ReLU; saved memory ≤ ReLU's +
one input-sized tensor. ``bench_torch_compile.py`` measures the first call's compile cost.

    python bench/bench_torch.py [--elements 4194304] [--rounds 8]
"""
from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from polyfit.approximation import Stage
from polyfit.reports import assemble
from polyfit.torch import PolyActivation
from polyfit.torch.kernels import horner


def chebyshev_degree12():
    """A degree-12 Chebyshev stage (gelu on [-6, 6])."""
    import polyfit as pf

    return pf.fit("gelu", degree=12, domain=6, basis="chebyshev")


def composite_relu():
    """Two stages (Chebyshev then monomial) with input_scale and combine relu."""
    return assemble("relu", (-5.0, 5.0), [Stage("chebyshev", [0.0, 1.2, 0.0, -0.3], (-1.0, 1.0)),
                                          Stage("monomial", [0.0, 1.5, 0.0, -0.5])],
                    input_scale=0.2, combine="relu", objective={}, provenance={"solver": "bench"})


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


def time_fwd_bwd(module, x, grad, repeats: int, sync, clock) -> float:
    """Fastest forward + backward of ``repeats`` (input as a fresh leaf each time), by ``clock``.

    The minimum is the estimate least disturbed by other processes; ``time.process_time``
    (CPU seconds of this process, all threads) does not count time spent waiting for a core
    on a shared machine, so its ratios are steadier than wall-clock ones.
    """
    best = float("inf")
    for _ in range(repeats):
        xr = x.detach().requires_grad_()
        sync()
        start = clock()
        module(xr).backward(grad)
        sync()
        best = min(best, clock() - start)
    return best


def run(device: str, elements: int, rounds: int) -> None:
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    torch.manual_seed(0)
    x = torch.randn(elements, device=device) * 3.0
    grad = torch.ones_like(x)
    approx = relu_degree4()
    cheb, comp = chebyshev_degree12(), composite_relu()
    modules = {
        "nn.ReLU": nn.ReLU(),
        "PolyActivation": PolyActivation(approx),
        "PolyActivation fused=False": PolyActivation(approx, fused=False),
        "PolyActivation fused=True": PolyActivation(approx, fused=True),
        "PolyActivation trainable": PolyActivation(approx, trainable=True),
        "PolyActivation trainable eager": PolyActivation(approx, trainable=True, fused=False),
        "PolyActivation per-channel": PerChannelOnFlat(PolyActivation(approx, channel_dim=1, num_channels=64)),
        "PolyActivation per-channel eager": PerChannelOnFlat(PolyActivation(approx, channel_dim=1, num_channels=64,
                                                                            fused=False)),
        "Chebyshev d12": PolyActivation(cheb),
        "Chebyshev d12 eager": PolyActivation(cheb, fused=False),
        "composite relu": PolyActivation(comp),
        "composite relu eager": PolyActivation(comp, fused=False),
        "plain autograd Horner": NaiveHorner(approx.coefficients),
    }
    modules = {name: module.to(device) for name, module in modules.items()}
    start = time.perf_counter()
    for name, module in modules.items():  # compile the kernels before timing (first calls)
        module(x.detach().requires_grad_()).backward(grad)
    compile_s = time.perf_counter() - start
    # Interleave the measurements in rounds so machine noise hits every module alike.
    clocks = {"wall": time.perf_counter}
    if device == "cpu":
        clocks["cpu"] = time.process_time
    results = {(name, c): float("inf") for name in modules for c in clocks}
    for _ in range(rounds):
        for name, module in modules.items():
            for c, clock in clocks.items():
                results[name, c] = min(results[name, c], time_fwd_bwd(module, x, grad, 3, sync, clock))
    base_m = saved_bytes(modules["nn.ReLU"], x)
    input_bytes = x.numel() * x.element_size()
    print(f"\ndevice {device}, {elements} float32 elements ({input_bytes / 2**20:.1f} MiB), "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, best of {rounds} rounds × 3")
    head = "".join(f"{c + ' ms':>10}{'× ReLU':>8}" for c in clocks)
    print(f"{'module':<32}{head}{'saved MiB':>11}{'× input':>9}  goal (≤1.5× ReLU time, ≤ ReLU + 1 input saved)")
    for name, module in modules.items():
        m = saved_bytes(module, x)
        cols = "".join(f"{results[name, c] * 1e3:>10.2f}{results[name, c] / results['nn.ReLU', c]:>8.2f}" for c in clocks)
        goal = ""
        if name in ("PolyActivation", "PolyActivation fused=True"):
            times = "; ".join(f"{c}: {'met' if results[name, c] / results['nn.ReLU', c] <= 1.5 else 'MISSED'}"
                              for c in clocks)
            goal = f"time ({times}); memory: {'met' if m <= base_m + input_bytes else 'MISSED'}"
        print(f"{name:<32}{cols}{m / 2**20:>11.1f}{m / input_bytes:>9.2f}  {goal}")
    from polyfit.torch import fused

    print(f"(first calls of all modules, compilation included: {compile_s:.1f} s, {len(fused._KERNELS.wrappers)} compiled "
          f"variants{'; compiling FAILED on ' + ', '.join(sorted(fused._KERNELS.failed)) if fused._KERNELS.failed else ''}; "
          "bench_torch_compile.py measures one module's first call in a fresh process)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--elements", type=int, default=4 * 2**20, help="a multiple of 16384 (per-channel view)")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds of 3 runs per module and clock")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch intra-op threads (0: torch's default); 1 gives steadier ratios on a shared machine")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.pop("POLYFIT_TORCH_FUSED", None)  # measure the default engine, whatever the shell says
    run("cpu", args.elements, args.rounds)
    if torch.cuda.is_available():
        run("cuda", args.elements, args.rounds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
