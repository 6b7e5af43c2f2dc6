"""PILLAR pieces: penalty, warm-up, clipping, out-of-range/NaN monitor; smooth transition; KD loss."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import polyfit as pf
from polyfit.errors import ComputationError, InputError
from polyfit.torch import Blended, PolyActivation, TrainableQuadratic
from polyfit.torch.recipes import (ActivationPenalty, ClipInTraining, OutOfRangeMonitor, SmoothTransition,
                                   check_clip_covered, distillation_loss, pillar_warmup, range_penalty,
                                   transition_lambda)


@pytest.fixture(scope="module")
def relu4():
    return pf.fit("relu", degree=4, domain=5)


def two_layer(act_a, act_b):
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), act_a, nn.Linear(4, 2), act_b)


# -- penalty -----------------------------------------------------------------------------------
def test_range_penalty_is_the_mean_of_x_over_b_to_the_n():
    x = torch.tensor([1.0, -2.0, 4.0])
    assert float(range_penalty(x, bound=2.0, exponent=4)) == pytest.approx((0.5 ** 4 + 1 + 16) / 3)


def test_range_penalty_is_normalised_per_element():
    x = torch.tensor([3.0, -1.0])
    assert float(range_penalty(x.repeat(50), 2.0, 6)) == pytest.approx(float(range_penalty(x, 2.0, 6)))


def test_range_penalty_is_below_one_per_element_inside_the_range():
    assert float(range_penalty(torch.linspace(-3.99, 3.99, 101), 4.0, 10)) < 1.0


@pytest.mark.parametrize("bound,exponent", [(0.0, 10), (-1.0, 10), (4.0, 7), (4.0, 0), (float("nan"), 10)])
def test_range_penalty_rejects_bad_bound_or_odd_exponent(bound, exponent):
    with pytest.raises(InputError):
        range_penalty(torch.ones(3), bound, exponent)


def test_warmup_follows_pillar_schedule():
    c = 2.0
    assert [pillar_warmup(e, c, 10) for e in range(6)] == [
        (c / 100, 4), (c / 50, 6), (c / 10, 8), (c / 5, 10), (c, 10), (c, 10)]
    assert pillar_warmup(9, c, 8) == (c, 8)


def test_penalty_averages_layers_with_per_element_means(relu4):
    a, b = PolyActivation(relu4), PolyActivation(relu4)
    model = two_layer(a, b)
    x = torch.randn(5, 3) * 4
    with ActivationPenalty({"a": a, "b": b}, bound=2.0, exponent=4, coefficient=3.0) as pen:
        h = model[0](x)
        out = model(x)
        per = pen.per_site()
        expected_a = float(((h.detach() / 2.0) ** 4).mean())
        expected_b = float(((model[2](a(h)).detach() / 2.0) ** 4).mean())
        assert float(per["a"].detach()) == pytest.approx(expected_a, rel=1e-5)
        assert float(per["b"].detach()) == pytest.approx(expected_b, rel=1e-5)
        assert float(pen.penalty().detach()) == pytest.approx(3.0 * (expected_a + expected_b) / 2, rel=1e-5)
        assert out.shape == (5, 2)


def test_penalty_sees_inputs_before_training_clip_and_pushes_them_in(relu4):
    act = PolyActivation(relu4, clip=True)
    lin = nn.Linear(1, 1)
    with torch.no_grad():
        lin.weight.fill_(10.0)
        lin.bias.zero_()
    model = nn.Sequential(lin, act).train()
    with ActivationPenalty({"act": act}, bound=4.0, exponent=10, coefficient=1.0) as pen:
        model(torch.ones(8, 1))
        value = pen.penalty()
        assert float(value.detach()) == pytest.approx((10.0 / 4.0) ** 10, rel=1e-5)  # unclipped 10, not 5
        value.backward()
    assert lin.weight.grad is not None and float(lin.weight.grad) > 0


def test_penalty_records_nothing_without_grad_and_hooks_go_on_close(relu4):
    act = PolyActivation(relu4)
    pen = ActivationPenalty({"act": act}, bound=4.0)
    with torch.no_grad():
        act(torch.ones(3) * 100)
    assert pen.per_site() == {}
    pen.close()
    assert not act._forward_pre_hooks
    act(torch.ones(3, requires_grad=True))
    assert pen.per_site() == {}


def test_penalty_set_validates_and_changes_terms():
    relu = nn.ReLU()
    with ActivationPenalty({"r": relu}, bound=1.0, exponent=2, coefficient=1.0) as pen:
        pen.set(coefficient=0.5, exponent=4)
        relu(torch.full((2,), 2.0, requires_grad=True))
        assert float(pen.penalty().detach()) == pytest.approx(0.5 * 16)
        with pytest.raises(InputError):
            pen.set(exponent=3)
        with pytest.raises(InputError):
            pen.set(coefficient=-1.0)


def test_penalty_rejects_non_module_site():
    with pytest.raises(InputError, match="site 'x'"):
        ActivationPenalty({"x": 3}, bound=1.0)


# -- clipping --------------------------------------------------------------------------------------
def test_clip_in_training_only():
    clip = ClipInTraining(-1.0, 1.0)
    x = torch.tensor([-3.0, 0.5, 3.0])
    assert clip.train()(x).tolist() == [-1.0, 0.5, 1.0]
    assert clip.eval()(x).tolist() == [-3.0, 0.5, 3.0]


def test_clip_range_outside_the_domain_names_the_site(relu4):
    assert check_clip_covered(relu4, 4.0, "conv1.act") == (-4.0, 4.0)
    with pytest.raises(InputError, match="site conv1.act.*not inside"):
        check_clip_covered(relu4, 6.0, "conv1.act")


# -- monitor -----------------------------------------------------------------------------------------
def test_monitor_counts_out_of_range_inputs_per_site():
    a, b = nn.ReLU(), nn.ReLU()
    with OutOfRangeMonitor({"a": a, "b": b}, {"a": 1.0, "b": (-5.0, 5.0)}) as mon:
        a(torch.tensor([0.0, 2.0, -3.0, 0.5]))
        b(torch.tensor([0.0, 2.0, -3.0, 0.5]))
        s = mon.summary()
    assert (s["a"]["out_of_range"], s["a"]["elements"], s["a"]["rate"]) == (2, 4, 0.5)
    assert s["b"]["out_of_range"] == 0 and s["a"]["max_abs"] == 3.0
    assert mon.totals()["rate"] == pytest.approx(2 / 8)


def test_monitor_names_the_first_layer_with_nan(relu4):
    a, b = PolyActivation(relu4), PolyActivation(relu4)
    model = two_layer(a, b)
    with torch.no_grad():
        model[2].weight[0, 0] = float("nan")
    with OutOfRangeMonitor({"first": a, "second": b}, 5.0) as mon:
        model(torch.randn(4, 3))
        assert mon.first_nan_site() == "second"
        assert mon.totals()["nan"] > 0
        with pytest.raises(ComputationError, match="site second: NaN in activation input"):
            mon.check()
    assert not a._forward_pre_hooks and not b._forward_hooks


def test_monitor_check_raises_on_infinite_outputs_as_on_nan():
    square = nn.Sequential(nn.Identity())
    square[0].register_forward_hook(lambda m, a, out: out * out)
    with OutOfRangeMonitor({"sq": square[0]}, 1.0) as mon:
        square(torch.tensor([1e30, 2.0]))
        with pytest.raises(ComputationError, match="site sq: infinite value in activation output"):
            mon.check()


def test_monitor_counts_overflowing_outputs():
    square = nn.Sequential(nn.Identity())
    square[0].register_forward_hook(lambda m, a, out: out * out)
    with OutOfRangeMonitor({"sq": square[0]}, 1.0) as mon:
        square(torch.tensor([1e30, 2.0]))
        assert mon.summary()["sq"]["inf_outputs"] == 1 and mon.totals()["inf"] == 1


def test_monitor_reset_and_bad_range():
    r = nn.ReLU()
    with OutOfRangeMonitor({"r": r}, 1.0) as mon:
        r(torch.full((3,), 9.0))
        mon.reset()
        assert mon.summary()["r"]["elements"] == 0
    with pytest.raises(InputError, match="site r"):
        OutOfRangeMonitor({"r": r}, (2.0, 1.0))


# -- smooth transition -------------------------------------------------------------------------------
def test_transition_lambda_is_clamped_linear_ramp():
    assert [transition_lambda(e, 3, 10) for e in (0, 3, 4, 8, 13, 30)] == [0.0, 0.0, 0.1, 0.5, 1.0, 1.0]
    assert transition_lambda(2, 2, 0) == 1.0 and transition_lambda(1, 2, 0) == 0.0
    with pytest.raises(InputError):
        transition_lambda(0, 0, -1)


def test_smooth_transition_all_at_once_sets_blended_lambdas():
    sites = {f"s{k}": Blended(nn.ReLU(), TrainableQuadratic()) for k in range(3)}
    schedule = SmoothTransition(sites, start=1, duration=4)
    assert schedule.step(3) == {"s0": 0.5, "s1": 0.5, "s2": 0.5}
    assert all(m.lambda_ == 0.5 for m in sites.values())
    assert schedule.end == 5


def test_smooth_transition_layer_by_layer_ramps_sites_in_turn():
    sites = {f"s{k}": Blended(nn.ReLU(), TrainableQuadratic()) for k in range(3)}
    schedule = SmoothTransition(sites, start=0, duration=2, mode="layer")
    assert schedule.lambdas(1) == {"s0": 0.5, "s1": 0.0, "s2": 0.0}
    assert schedule.lambdas(3) == {"s0": 1.0, "s1": 0.5, "s2": 0.0}
    assert schedule.end == 6 and schedule.lambdas(6) == {"s0": 1.0, "s1": 1.0, "s2": 1.0}


def test_smooth_transition_rejects_sites_without_set_lambda_and_bad_mode():
    with pytest.raises(InputError, match="site relu"):
        SmoothTransition({"relu": nn.ReLU()}, 0, 1)
    with pytest.raises(InputError, match="mode"):
        SmoothTransition({"b": Blended(nn.ReLU(), nn.Identity())}, 0, 1, mode="random")


# -- distillation ---------------------------------------------------------------------------------------
def manual_kd(zs, zt, y, tau, alpha):
    soft = -(F.softmax(zt / tau, -1) * F.log_softmax(zs / tau, -1)).sum(-1).mean()
    return alpha * tau ** 2 * soft, F.cross_entropy(zs, y)


def test_distillation_mix_matches_the_paper_formula():
    torch.manual_seed(0)
    zs, zt, y = torch.randn(6, 10), torch.randn(6, 10), torch.randint(0, 10, (6,))
    soft, hard = manual_kd(zs, zt, y, 10.0, 0.1)
    assert float(distillation_loss(zs, zt, y)) == pytest.approx(float(soft + 0.9 * hard), rel=1e-6)
    assert float(distillation_loss(zs, zt, y, form="add")) == pytest.approx(float(soft + hard), rel=1e-6)


def test_distillation_does_not_backpropagate_into_the_teacher():
    zs = torch.randn(4, 5, requires_grad=True)
    zt = torch.randn(4, 5, requires_grad=True)
    distillation_loss(zs, zt, torch.zeros(4, dtype=torch.long)).backward()
    assert zs.grad is not None and zt.grad is None


@pytest.mark.parametrize("kwargs", [{"temperature": 0.0}, {"alpha": 1.5}, {"form": "blend"}])
def test_distillation_rejects_bad_parameters(kwargs):
    z = torch.zeros(2, 3)
    with pytest.raises(InputError):
        distillation_loss(z, z, torch.zeros(2, dtype=torch.long), **kwargs)


def test_distillation_rejects_mismatched_logits():
    with pytest.raises(InputError, match="differ in shape"):
        distillation_loss(torch.zeros(2, 3), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long))


def test_penalty_takes_per_site_bounds():
    a, b = nn.ReLU(), nn.ReLU()
    with ActivationPenalty({"a": a, "b": b}, bound={"a": 1.0, "b": 2.0}, exponent=2) as pen:
        a(torch.full((3,), 2.0, requires_grad=True))
        b(torch.full((3,), 2.0, requires_grad=True))
        terms = pen.per_site()
        assert (float(terms["a"].detach()), float(terms["b"].detach())) == (4.0, 1.0)
    with pytest.raises(InputError, match="site b: no penalty bound"):
        ActivationPenalty({"a": a, "b": b}, bound={"a": 1.0})
    with pytest.raises(InputError, match="site a"):
        ActivationPenalty({"a": a}, bound={"a": -1.0})


def test_recipes_take_sites_from_a_surgery_report(relu4):
    from polyfit.torch import replace_activations

    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.ReLU())
    model, report = replace_activations(model, lambda site: PolyActivation(relu4, name=site.name))
    with ActivationPenalty(report, bound=4.0) as pen, OutOfRangeMonitor(report, relu4.domain) as mon:
        model(torch.randn(4, 2, requires_grad=True))
        assert sorted(pen.per_site()) == ["1", "3"]
        assert sorted(mon.summary()) == ["1", "3"]


def test_named_sites_lists_matching_modules_in_definition_order():
    from polyfit.torch.recipes import named_sites

    model = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Sequential(nn.Tanh(), nn.ReLU()))
    assert list(named_sites(model, nn.ReLU)) == ["1", "2.1"]
    assert list(named_sites(model, (nn.ReLU, nn.Tanh))) == ["1", "2.0", "2.1"]
    assert list(named_sites(model, lambda m: isinstance(m, nn.Tanh))) == ["2.0"]


@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), True])
def test_soft_cross_entropy_refuses_a_temperature_that_is_not_positive(temperature):
    from polyfit.torch.recipes import soft_cross_entropy

    with pytest.raises(InputError, match="temperature must be a finite number > 0"):  # tau = 0 returned NaN
        soft_cross_entropy(torch.randn(2, 3), torch.randn(2, 3), temperature)


def test_out_of_range_monitor_names_the_sites_a_range_mapping_misses():
    model = nn.Sequential(nn.ReLU(), nn.ReLU())
    with pytest.raises(InputError, match="no range for site.*1; ranges cover 0"):  # was KeyError '1'
        OutOfRangeMonitor({"0": model[0], "1": model[1]}, {"0": 1.0})


@pytest.mark.parametrize("epoch", [float("nan"), "3", None])
def test_transition_lambda_refuses_an_epoch_that_is_no_finite_number(epoch):
    with pytest.raises(InputError, match="epoch must be a finite number"):  # NaN gave lambda 0
        transition_lambda(epoch, 0, 10)
