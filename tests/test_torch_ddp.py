"""PolyActivation, TrainableQuadratic and the PILLAR penalty under DistributedDataParallel.

Two CPU processes with the gloo backend each take half of a batch; after backward the
gradients DDP averaged must equal the single-process gradients of the mean loss.
"""
import os
import time
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from polyfit.approximation import Stage
from polyfit.reports import assemble


def build_model():
    from polyfit.torch import PolyActivation, TrainableQuadratic

    torch.manual_seed(0)
    approx = assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                      objective={"norm": "l2"}, provenance={"solver": "test"})
    return nn.Sequential(nn.Linear(3, 4), PolyActivation(approx, trainable=True, channel_dim=1, num_channels=4),
                         nn.Linear(4, 4), TrainableQuadratic(bias=True), nn.Linear(4, 1))


def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(8, 3, generator=g) * 3, torch.randn(8, 1, generator=g)


def loss_of(model, x, y):
    from polyfit.torch.recipes import ActivationPenalty

    sites = {"1": model[1] if not hasattr(model, "module") else model.module[1]}
    with ActivationPenalty(sites, bound=2.0, exponent=4, coefficient=0.1) as penalty:
        out = model(x)
        return nn.functional.mse_loss(out, y) + penalty.penalty()


def worker(rank, world, init_file, out_dir):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world,
                            timeout=timedelta(seconds=60))
    try:
        torch.set_num_threads(1)
        model = nn.parallel.DistributedDataParallel(build_model())
        x, y = batch()
        half = len(x) // world
        loss = loss_of(model, x[rank * half:(rank + 1) * half], y[rank * half:(rank + 1) * half])
        loss.backward()
        grads = {n: p.grad.detach().clone() for n, p in model.module.named_parameters()}
        torch.save(grads, os.path.join(out_dir, f"grads{rank}.pt"))
    finally:
        dist.destroy_process_group()


def test_ddp_averages_gradients_of_polynomial_modules_and_penalty(tmp_path):
    world = 2
    # spawn, not fork: forking a process that already runs torch's thread pools can deadlock.
    context = mp.start_processes(worker, args=(world, str(tmp_path / "init"), str(tmp_path)), nprocs=world,
                                 join=False, start_method="spawn")
    deadline = time.monotonic() + 180
    while not context.join(timeout=5):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("DDP workers did not finish within 180 s")
    ranks = [torch.load(tmp_path / f"grads{r}.pt") for r in range(world)]
    model = build_model()
    x, y = batch()
    half = len(x) // world
    reference = sum(loss_of(model, x[r * half:(r + 1) * half], y[r * half:(r + 1) * half]) for r in range(world)) / world
    reference.backward()
    for name, p in model.named_parameters():
        for grads in ranks:
            assert torch.allclose(grads[name], p.grad, atol=1e-6, rtol=1e-5), name
    assert ranks[0]["1.coefficients_0"].abs().sum() > 0 and ranks[0]["3.a"].abs() > 0
