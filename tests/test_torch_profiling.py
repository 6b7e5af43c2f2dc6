"""profile_sites: per-site input statistics with hooks that are always removed."""
import math

import pytest
import torch
from torch import nn

from polyfit.errors import InputError
from polyfit.torch import find_sites, profile_sites
from polyfit.torch.profiling import SiteProfile


def model_and_data():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU(inplace=True), nn.Linear(3, 2), nn.Tanh())
    with torch.no_grad():
        model[0].weight.copy_(torch.eye(3))
        model[0].bias.zero_()
    data = [(torch.randn(50, 3) * (i + 1), torch.zeros(50)) for i in range(4)]
    return model, data


def test_profile_records_exact_extremes_of_inputs_before_an_inplace_relu():
    model, data = model_and_data()
    profile = profile_sites(model, data)
    relu = profile["1"]
    everything = torch.cat([x for x, _ in data])  # identity first layer: the ReLU sees the data
    assert relu.minimum == pytest.approx(float(everything.min()))
    assert relu.maximum == pytest.approx(float(everything.max()))
    assert relu.mean == pytest.approx(float(everything.double().mean()), abs=1e-9)
    assert relu.elements == everything.numel() and relu.calls == 4
    assert list(profile) == ["1", "3"]


def test_histogram_covers_every_input_and_doubles_its_range():
    p = SiteProfile("s", "ReLU", bins=8)
    g = torch.Generator().manual_seed(0)
    p.observe(torch.tensor([0.1, -0.6, 0.9]), 100, g)
    assert p.histogram_range == 1.0
    p.observe(torch.tensor([3.5]), 100, g)
    assert p.histogram_range == 4.0
    assert int(p.histogram_counts.sum()) == 4
    edges = p.histogram_edges
    x = torch.tensor([0.1, -0.6, 0.9, 3.5], dtype=torch.float64)
    assert torch.equal(p.histogram_counts, torch.histogram(x, bins=edges).hist.long())


def test_quantiles_and_sample_follow_the_data():
    model, data = model_and_data()
    profile = profile_sites(model, data, sample_size=400, quantiles=(0.5,))
    relu = profile["1"]
    assert relu.sample.numel() == 400
    assert abs(relu.quantiles[0.5]) < 0.5
    assert 0 < relu.fraction_outside(-1, 1) < 1
    assert relu.bound(0.5) < relu.bound(1.0) <= max(abs(relu.minimum), abs(relu.maximum)) + 1e-6


def test_nan_inputs_are_counted_not_averaged():
    p = SiteProfile("s", "ReLU")
    p.observe(torch.tensor([1.0, float("nan"), float("inf"), -2.0]), 10, torch.Generator().manual_seed(0))
    assert (p.nan_count, p.inf_count, p.elements, p.minimum, p.maximum) == (1, 1, 2, -2.0, 1.0)


def test_hooks_are_removed_and_mode_restored_when_the_loader_fails():
    model, data = model_and_data()
    model.train()

    def loader():
        yield data[0]
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        profile_sites(model, loader())
    assert model.training
    assert all(not m._forward_pre_hooks for m in model.modules())


def test_profile_accepts_find_sites_output_and_limits_batches():
    model, data = model_and_data()
    sites = find_sites(model, data[0][0])
    profile = profile_sites(model, data, sites, max_batches=2)
    assert profile["1"].calls == 2
    assert math.isfinite(profile.to_dict()["3"]["max"])
    assert "site" in profile.table()


def test_profile_rejects_bad_options():
    model, data = model_and_data()
    with pytest.raises(InputError, match="multiple of 4"):
        profile_sites(model, data, bins=10)
    with pytest.raises(InputError, match="input_fn"):
        profile_sites(model, [object()])


def test_profiling_reads_each_input_in_a_few_passes_and_never_copies_it():
    """The cost model of issue 13 (profiling ≤ 2× a forward, bench/bench_torch_profiling.py):
    per call a handful of whole-tensor operations on the input's device, no float64 copy."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    n = 1 << 20

    class WholeTensorOps(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.ops, self.copies = [], []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if any(isinstance(t, torch.Tensor) and t.numel() >= n for t in tree_flatten((args, kwargs, out))[0]):
                self.ops.append(func.__name__)
                if func.__name__.startswith("_to_copy") and out.is_floating_point():
                    self.copies.append(out.dtype)
            return out

    p, g = SiteProfile("s", "ReLU"), torch.Generator().manual_seed(0)
    x = torch.randn(n)
    p.observe(x, 4096, g)  # the sample fills up first
    with WholeTensorOps() as watch:
        p.observe(x, 4096, g)
    passes = [op for op in watch.ops if op.split(".")[0] not in ("detach", "view", "index", "_reshape_alias")]
    assert watch.copies == []
    assert len(passes) <= 8, passes


def test_the_sample_is_uniform_over_calls_and_positions():
    p, g = SiteProfile("s", "ReLU"), torch.Generator().manual_seed(1)
    for call in range(10):  # call k holds values in [k, k + 0.5): the sample tells which call an element came from
        p.observe(call + torch.arange(20_000, dtype=torch.float64) / 40_000, 2000, g)
    p.finish((0.5,), 2000)
    per_call = torch.bincount(p.sample.floor().long(), minlength=10)
    assert p.sample.numel() == 2000 and int(per_call.min()) > 140 and int(per_call.max()) < 260  # 200 ± 4.5 sd
    position = (p.sample - p.sample.floor()) * 40_000
    per_decile = torch.histc(position, 10, 0, 20_000)
    assert float(per_decile.min()) > 140 and float(per_decile.max()) < 260
    assert torch.unique(p.sample).numel() == 2000, "no element twice"


def test_an_empty_loader_is_refused_not_profiled_as_nothing():
    with pytest.raises(InputError, match="yielded no batches"):  # was a profile with minimum inf, mean NaN
        profile_sites(nn.Sequential(nn.Linear(2, 2), nn.ReLU()), [])
