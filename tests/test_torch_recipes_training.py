"""SmartPAF (static scale, CT, PA, AT), Sisyphus QuaIL, and the site plumbing they share."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import polyfit as pf
from polyfit.errors import InputError
from polyfit.torch import PolyActivation, TrainableQuadratic
from polyfit.torch.recipes import (AlternateTraining, coefficient_parameters, execution_order, frozen,
                                   gradual_unfreeze, imitate, parameters_between, progressive_replacement,
                                   representation, scaled_approximation, segments, static_scale, tune_gradient,
                                   tune_lstsq)


class Net(nn.Module):
    """Layers defined out of execution order, to check that order comes from the dry run."""

    def __init__(self):
        super().__init__()
        self.head = nn.Linear(6, 3)
        self.fc2 = nn.Linear(6, 6)
        self.fc1 = nn.Linear(4, 6)
        self.act1 = nn.ReLU()
        self.act2 = nn.ReLU()

    def forward(self, x):
        return self.head(self.act2(self.fc2(self.act1(self.fc1(x)))))


@pytest.fixture
def net():
    torch.manual_seed(0)
    return Net()


EXAMPLE = torch.zeros(2, 4)


# -- plumbing ----------------------------------------------------------------------------------------
def test_execution_order_follows_the_forward_not_the_definition(net):
    assert execution_order(net, EXAMPLE) == ["fc1", "act1", "fc2", "act2", "head"]


def test_parameters_between_sites(net):
    order = execution_order(net, EXAMPLE)
    before = parameters_between(net, order, None, "act2")
    assert {id(p) for p in before} == {id(p) for p in [*net.fc1.parameters(), *net.fc2.parameters()]}
    after = parameters_between(net, order, "act2", None)
    assert {id(p) for p in after} == {id(p) for p in net.head.parameters()}
    with pytest.raises(InputError, match="site 'nope'"):
        parameters_between(net, order, None, "nope")


def test_frozen_restores_flags(net):
    with frozen(net, list(net.head.parameters())):
        assert not net.fc1.weight.requires_grad and net.head.weight.requires_grad
    assert all(p.requires_grad for p in net.parameters())


# -- static scale ---------------------------------------------------------------------------------------
def test_static_scale_is_margin_times_quantile_of_abs():
    x = np.array([-8.0, 1.0, 2.0, 3.0])
    assert static_scale(x) == 8.0
    assert static_scale(x, margin=1.5) == 12.0
    assert static_scale(x, quantile=0.5) == pytest.approx(2.5)
    with pytest.raises(InputError, match="site conv2"):
        static_scale([0.0, 0.0], site="conv2")
    with pytest.raises(InputError, match="NaN"):
        static_scale([1.0, float("nan")], site="conv2")


def test_scaled_composite_approximates_relu_on_the_scaled_range():
    base = pf.composite(preset="f2g2", function="relu")
    scaled = scaled_approximation(base, 10.0)
    x = np.linspace(-10, 10, 101)
    assert scaled.domain == (-10.0, 10.0) and scaled.input_scale == pytest.approx(0.1)
    np.testing.assert_allclose(scaled(x), 10.0 * base(x / 10.0), atol=1e-12)
    assert scaled.metrics["max_abs_error"] == pytest.approx(10 * base.metrics["max_abs_error"], rel=1e-3)


def test_static_scale_refuses_plain_fits():
    with pytest.raises(InputError, match="sign-based"):
        scaled_approximation(pf.fit("relu", degree=4, domain=1), 3.0)


# -- coefficient tuning -------------------------------------------------------------------------------------
def test_tune_lstsq_fits_the_profiled_distribution_better_than_a_uniform_fit():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.5, 5000), [-6.0, 6.0]])  # mass near 0, rare extremes
    tuned = tune_lstsq(x, 4, site="act1")
    uniform = pf.fit("relu", degree=4, domain=(x.min(), x.max()))
    relu = np.maximum(x, 0)
    assert np.mean((tuned(x) - relu) ** 2) < 0.5 * np.mean((uniform(x) - relu) ** 2)
    assert tuned.domain == (-6.0, 6.0)


def test_tune_lstsq_rejects_samples_outside_the_domain_naming_the_site():
    with pytest.raises(InputError, match="site act3"):
        tune_lstsq([-3.0, 0.0, 3.0], 2, domain=2.0, site="act3")


@pytest.mark.parametrize("domain", [-3.0, (2.0, 1.0), (0.0, float("inf"))])
def test_tune_lstsq_rejects_a_bad_domain_naming_the_site_and_what_is_allowed(domain):
    with pytest.raises(InputError, match=r"site act3: (range|domain) .*(> 0|< hi|finite)"):
        tune_lstsq([-0.5, 0.0, 0.5], 2, domain=domain, site="act3")


def test_tune_gradient_reduces_the_mse_of_a_composite():
    base = scaled_approximation(pf.composite(preset="f1g2", function="relu"), 4.0)
    act = PolyActivation(base, trainable=True)
    x = torch.randn(4000)  # concentrated well inside [-4, 4]
    with torch.no_grad():
        before = float(torch.mean((act(x) - torch.relu(x)) ** 2))
    after = tune_gradient(act, x, steps=60, lr=1e-2)
    assert after < 0.7 * before


def test_tune_gradient_needs_trainable_coefficients():
    with pytest.raises(InputError, match="site act2.*trainable"):
        tune_gradient(PolyActivation(pf.fit("relu", degree=2, domain=1)), torch.zeros(4), site="act2")


# -- progressive approximation ---------------------------------------------------------------------------
def test_progressive_replacement_goes_in_order_and_trains_only_layers_before_the_site(net):
    relu = pf.fit("relu", degree=4, domain=5)
    seen = []
    before = copy.deepcopy(net.state_dict())

    def fine_tune(model, name, params):
        replaced = {n for n, m in model.named_modules() if isinstance(m, PolyActivation)}
        trainable = {n for n, p in model.named_parameters() if p.requires_grad}
        seen.append((name, replaced, trainable))
        opt = torch.optim.SGD(params, lr=0.1)
        F.mse_loss(model(torch.randn(8, 4)), torch.zeros(8, 3)).backward()
        opt.step()
        return "ok"

    log = progressive_replacement(net, lambda site: PolyActivation(relu, trainable=True), fine_tune, EXAMPLE)
    assert [entry["site"] for entry in log] == ["act1", "act2"]
    assert seen[0] == ("act1", {"act1"}, {"fc1.weight", "fc1.bias"})
    assert seen[1] == ("act2", {"act1", "act2"}, {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"})
    assert torch.equal(net.head.weight, before["head.weight"])
    assert all(p.requires_grad for p in net.parameters())


def test_progressive_replacement_rejects_unknown_sites(net):
    with pytest.raises(InputError, match="site 'act9'"):
        progressive_replacement(net, lambda s: nn.ReLU(), lambda *a: None, EXAMPLE, sites=["act9"])


# -- alternate training ------------------------------------------------------------------------------------
def test_alternate_training_trains_coefficients_and_weights_in_separate_phases(net):
    net.act1 = TrainableQuadratic()
    net.act2 = PolyActivation(pf.fit("relu", degree=2, domain=3), trainable=True)
    at = AlternateTraining(net, coefficient_lr=1e-2, weight_lr=1e-2)
    assert len(coefficient_parameters(net)) == 3
    assert at.optimizers["coefficients"].param_groups[0]["lr"] == 1e-2
    x, y = torch.randn(16, 4), torch.randn(16, 3)
    snapshots = []

    def train_epoch(model, optimizer, phase):
        state = {k: v.clone() for k, v in model.state_dict().items()}
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        changed = {k for k, v in model.state_dict().items() if not torch.equal(v, state[k])}
        snapshots.append((phase, changed))
        return len(changed)

    log = at.run(train_epoch, rounds=2, coefficient_epochs=1, weight_epochs=1)
    assert [e["phase"] for e in log] == ["coefficients", "weights"] * 2
    coefs = {"act1.a", "act1.b", "act2.coefficients_0"}
    for phase, changed in snapshots:
        assert changed == coefs if phase == "coefficients" else changed.isdisjoint(coefs) and changed


def test_alternate_training_needs_trainable_coefficients(net):
    with pytest.raises(InputError, match="trainable"):
        AlternateTraining(net, 1e-3, 1e-3)


# -- QuaIL ---------------------------------------------------------------------------------------------------
def test_segments_split_the_network_at_the_sites(net):
    parts = segments(net, ["act1", "act2"], EXAMPLE)
    assert [p["site"] for p in parts] == ["act1", "act2", None]
    assert [p["modules"] for p in parts] == [["fc1", "act1"], ["fc2", "act2"], ["head"]]
    with pytest.raises(InputError, match="execution order"):
        segments(net, ["act2", "act1"], EXAMPLE)


def test_representation_stops_at_the_site(net):
    calls = []
    net.head.register_forward_pre_hook(lambda m, a: calls.append(1))
    x = torch.randn(3, 4)
    torch.testing.assert_close(representation(net, "act1", x), torch.relu(net.fc1(x)))
    assert not calls and not net.act1._forward_hooks


def test_quail_imitation_then_gradual_unfreezing(net):
    teacher = net.eval()
    student = copy.deepcopy(teacher)
    square = pf.fit(pf.expr("x**2"), degree=2, domain=5)
    student.act1, student.act2 = PolyActivation(square), PolyActivation(square)
    student.train()
    torch.manual_seed(1)
    data = [torch.randn(32, 4) for _ in range(4)]
    first = F.mse_loss(representation(student, "act1", data[0]), representation(teacher, "act1", data[0])).item()
    log = imitate(student, teacher, ["act1", "act2"], lambda: data, EXAMPLE, epochs=15, lr=1e-2)
    assert [e["site"] for e in log] == ["act1", "act2", "output"]
    assert log[0]["mse"] < first
    assert student.training and all(p.requires_grad for p in student.parameters())

    trained = []

    def train_epoch(model, optimizer):
        trained.append(sum(p.numel() for g in optimizer.param_groups for p in g["params"]))
        return 0.0

    stages = gradual_unfreeze(student, ["act1", "act2"], EXAMPLE, train_epoch)
    assert [s["stage"] for s in stages] == [1, 2, 3]
    assert trained == [21, 21 + 42, 21 + 42 + 30]  # head, + fc2, + fc1 (weights + biases)


def test_static_scale_and_ct_take_a_site_profile():
    from polyfit.torch import profile_sites

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    profile = profile_sites(model, [torch.randn(50, 2) * 3 for _ in range(3)], sites={"r": model[1]}, sample_size=40)
    site = profile["r"]
    assert static_scale(site) == pytest.approx(max(-site.minimum, site.maximum))  # all inputs, not the sample
    assert static_scale(site, quantile=0.5) == pytest.approx(float(site.sample.abs().median()), rel=0.1)
    tuned = tune_lstsq(site, 3, domain=(site.minimum, site.maximum))
    assert tuned.domain == pytest.approx((site.minimum, site.maximum))


def test_alternate_training_stops_on_nan_coefficients_naming_the_site(net):
    net.act1 = PolyActivation(pf.fit("relu", degree=2, domain=3), trainable=True, name="act1")
    with torch.no_grad():
        net.act1.coefficients_0[1] = float("nan")
    at = AlternateTraining(net, 1e-3, 1e-3)

    def train_epoch(model, optimizer, phase):
        model.train()
        model(torch.randn(2, 4))

    with pytest.raises(InputError, match="site 'act1'.*non-finite"):
        at.run(train_epoch)


def test_tune_gradient_refuses_per_channel_activations_naming_the_site():
    act = PolyActivation(pf.fit("relu", degree=2, domain=1), trainable=True, channel_dim=1, num_channels=4)
    with pytest.raises(InputError, match="site conv1.act.*per channel"):
        tune_gradient(act, torch.zeros(8), site="conv1.act")
