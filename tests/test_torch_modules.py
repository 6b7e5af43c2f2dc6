"""polyfit.torch modules: PolyActivation, TrainableQuadratic, Blended, ApproxMinMaxNorm, pooling."""
import numpy as np
import pytest
import torch
from torch import nn

from polyfit.approximation import Stage
from polyfit.errors import InputError
from polyfit.reports import assemble
from polyfit.torch import (ApproxMinMaxNorm, Blended, LinearRamp, PolyActivation, SignMaxPool2d, TrainableQuadratic,
                           swap_max_pooling)
from polyfit.torch.activations import PolyFunction


def relu_d4():
    """The headline artifact's stage: integers × 2^-10 on [-5, 5]."""
    return assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                    objective={"norm": "l2"}, provenance={"solver": "test"})


def sign_composite():
    """A chebyshev stage then a monomial stage, input_scale and combine relu (ReLU from sign)."""
    return assemble("relu", (-2.0, 2.0), [Stage("chebyshev", [0.0, 1.2, 0.0, -0.3], (-1.0, 1.0)),
                                          Stage("monomial", [0.0, 1.5, 0.0, -0.5])],
                    input_scale=0.5, combine="relu", objective={}, provenance={"solver": "test"})


# -- PolyActivation: values ---------------------------------------------------------------------------

@pytest.mark.parametrize("make", [relu_d4, sign_composite])
def test_poly_activation_matches_numpy_evaluation(make):
    approx = make()
    x = torch.linspace(*approx.domain, 101, dtype=torch.float64)
    y = PolyActivation(approx)(x)
    assert np.allclose(y.numpy(), approx(x.numpy()), atol=1e-12)


def test_poly_activation_large_cpu_tensor_uses_same_values():
    """The cache-blocked CPU kernel agrees with the out-of-place reference."""
    approx = relu_d4()
    x = torch.randn(300_000, dtype=torch.float64) * 4
    assert np.allclose(PolyActivation(approx)(x).numpy(), approx(x.numpy()), atol=1e-12)


def test_poly_activation_per_channel_coefficients_apply_per_channel():
    act = PolyActivation(relu_d4(), trainable=True, channel_dim=1, num_channels=3)
    with torch.no_grad():
        act.coefficients[1] = torch.tensor([1.0, 2.0, 0.0, 0.0, 0.0])
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    y = act(x)
    assert torch.allclose(y[:, 1], 1.0 + 2.0 * x[:, 1])
    assert np.allclose(y[:, 0].detach().numpy(), relu_d4()(x[:, 0].numpy()))


# -- PolyActivation: gradients and memory -----------------------------------------------------------------

@pytest.mark.parametrize("channel_dim,clip", [(None, False), (None, True), (1, True)])
def test_poly_function_gradients_pass_gradcheck_for_one_monomial_stage(channel_dim, clip):
    act = PolyActivation(relu_d4(), trainable=True, clip=clip, channel_dim=channel_dim,
                         num_channels=4 if channel_dim is not None else None)
    spec = act.spec(training_clip=True)
    spec.channel_dim = channel_dim
    x = (torch.randn(3, 4, 5, dtype=torch.float64) * 4).requires_grad_()
    c = act.coefficients.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda x, c: PolyFunction.apply(x, spec, c), (x, c))


def test_poly_function_gradients_pass_gradcheck_for_composites_with_combine():
    act = PolyActivation(sign_composite(), trainable=True)
    spec = act.spec()
    x = torch.randn(2, 7, dtype=torch.float64).requires_grad_()
    c0, c1 = (c.detach().clone().requires_grad_() for c in act.stage_coefficients())
    assert torch.autograd.gradcheck(lambda x, a, b: PolyFunction.apply(x, spec, a, b), (x, c0, c1))


def test_blocked_backward_matches_reference_gradients():
    act = PolyActivation(relu_d4(), trainable=True, clip=True).train()
    x = (torch.randn(300_000, dtype=torch.float64) * 4).requires_grad_()
    act(x).backward(torch.ones_like(x))
    # reference: plain autograd on the clamped input
    xr = x.detach().clone().requires_grad_()
    c = act.coefficients.detach().clone().requires_grad_()
    t = xr.clamp(-5, 5)
    ref = sum(c[k] * t ** k for k in range(5))
    ref.backward(torch.ones_like(ref))
    assert torch.allclose(x.grad, xr.grad, atol=1e-9)
    assert torch.allclose(act.coefficients.grad, c.grad, rtol=1e-9)


def test_blocked_per_channel_kernels_match_reference_values_and_gradients():
    act = PolyActivation(relu_d4(), trainable=True, clip=True, channel_dim=1, num_channels=8).train()
    with torch.no_grad():
        act.coefficients.add_(torch.randn(8, 5, dtype=torch.float64) * 0.01)
    x = (torch.randn(40, 8, 32, 32, dtype=torch.float64) * 4).requires_grad_()  # 327680 elements: blocked
    y = act(x)
    g = torch.randn_like(y)
    y.backward(g)
    xr = x.detach().clone().requires_grad_()
    c = act.coefficients.detach().clone().requires_grad_()
    t = xr.clamp(-5, 5)
    ref = sum(c[:, k].view(1, 8, 1, 1) * t ** k for k in range(5))
    ref.backward(g)
    assert torch.allclose(y, ref, atol=1e-12)
    assert torch.allclose(x.grad, xr.grad, atol=1e-9)
    assert torch.allclose(act.coefficients.grad, c.grad, rtol=1e-9)


def test_poly_activation_saves_only_its_input_for_backward():
    saved = []
    act = PolyActivation(relu_d4(), trainable=True)
    x = torch.randn(10_000, requires_grad=True)
    with torch.autograd.graph.saved_tensors_hooks(lambda t: saved.append(t) or t, lambda t: t):
        act(x)
    big = [t for t in saved if t.numel() > 100]
    assert len(big) == 1 and big[0].data_ptr() == x.data_ptr()


def test_clipping_applies_in_training_only():
    act = PolyActivation(relu_d4(), clip=True)
    x = torch.tensor([10.0])
    act.train()
    assert torch.allclose(act(x), act(torch.tensor([5.0])))
    act.eval()
    assert not torch.allclose(act(x), act(torch.tensor([5.0])))


def test_clip_range_outside_the_domain_is_rejected_naming_the_site():
    with pytest.raises(InputError, match="site 'features.1'.*does not cover the clip range"):
        PolyActivation(relu_d4(), clip=(-6.0, 6.0), name="features.1")


def test_autocast_computes_in_float32():
    act = PolyActivation(relu_d4())
    x = torch.randn(8, dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = act(x)
    assert y.dtype == torch.float32


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_half_precision_inputs_are_computed_in_float32_and_returned_in_their_dtype(dtype):
    import polyfit as pf

    approx = pf.fit("gelu", 20, 6, basis="monomial")  # high powers: 8 or 11 bits lose the sum
    x = torch.linspace(-6, 6, 601).to(dtype).requires_grad_()
    y = PolyActivation(approx, trainable=True)(x)
    exact = torch.as_tensor(np.asarray(approx(x.detach().double().numpy())))
    assert y.dtype == dtype and (y.double() - exact).abs().max() < 0.01  # bfloat16 direct: 18.7
    y.sum().backward()
    assert x.grad.dtype == dtype and torch.isfinite(x.grad).all()


def test_float64_inputs_keep_float64():
    assert PolyActivation(relu_d4())(torch.randn(4, dtype=torch.float64)).dtype == torch.float64


# -- PolyActivation: round trip and bad input ---------------------------------------------------------------

def test_to_approximation_round_trips_untrained_modules():
    approx = relu_d4()
    act = PolyActivation(approx, trainable=True)
    back = act.to_approximation()
    assert back.stages == approx.stages and back.stages[0].quantized is not None


def test_to_approximation_reports_trained_coefficients():
    act = PolyActivation(relu_d4(), trainable=True)
    with torch.no_grad():
        act.coefficients[0] += 0.25
    back = act.to_approximation()
    assert back.stages[0].coefficients[0] == pytest.approx(322 / 1024 + 0.25)
    assert back.stages[0].quantized is None
    assert back.provenance["solver"] == "torch-trained"
    assert back.metrics["max_abs_error"] > relu_d4().metrics["max_abs_error"]


def test_per_channel_to_approximations_gives_one_per_channel():
    act = PolyActivation(relu_d4(), trainable=True, channel_dim=1, num_channels=3)
    assert len(act.to_approximations()) == 3
    with pytest.raises(InputError, match="per-channel"):
        act.to_approximation()


def test_nan_coefficients_raise_naming_the_site():
    act = PolyActivation(relu_d4(), trainable=True, name="layer2.relu").train()
    with torch.no_grad():
        act.coefficients[2] = float("nan")
    with pytest.raises(InputError, match="site 'layer2.relu'.*non-finite"):
        act(torch.randn(3))


def test_channel_count_mismatch_raises_naming_the_site():
    act = PolyActivation(relu_d4(), channel_dim=1, num_channels=3, name="conv.act")
    with pytest.raises(InputError, match="site 'conv.act'.*4 channels"):
        act(torch.randn(2, 4, 5))


def test_non_approximation_input_is_rejected():
    with pytest.raises(InputError, match="needs a polyfit Approximation"):
        PolyActivation([0.0, 1.0])


def test_buffers_move_with_the_module_and_coefficients_are_state():
    act = PolyActivation(relu_d4())
    assert "coefficients_0" in act.state_dict()
    assert not list(act.parameters())
    assert len(list(PolyActivation(relu_d4(), trainable=True).parameters())) == 1


# -- TrainableQuadratic ---------------------------------------------------------------------------------------

def test_trainable_quadratic_starts_as_identity_and_learns_a():
    q = TrainableQuadratic(bias=True)
    x = torch.randn(16)
    y = q(x)
    assert torch.equal(y.detach(), x)
    y.sum().backward()
    assert q.a.grad == pytest.approx(float((x * x).sum()), rel=1e-5)  # non-zero at a = 0
    assert q.c.grad == pytest.approx(16.0)


def test_trainable_quadratic_per_channel_and_artifact():
    q = TrainableQuadratic(channel_dim=1, num_channels=2)
    assert q(torch.randn(3, 2, 4)).shape == (3, 2, 4)
    q1 = TrainableQuadratic(a=0.25, b=0.5)
    approx = q1.to_approximation(domain=(-2, 2))
    assert approx.coefficients == (0.0, 0.5, 0.25)


# -- Blended --------------------------------------------------------------------------------------------------

def test_blended_mixes_by_lambda_and_keeps_lambda_in_state():
    x = torch.randn(10)
    b = Blended(nn.ReLU(), nn.Identity(), lam=0.25)
    assert torch.allclose(b(x), 0.75 * torch.relu(x) + 0.25 * x)
    state = b.state_dict()
    fresh = Blended(nn.ReLU(), nn.Identity())
    fresh.load_state_dict(state)
    assert fresh.lambda_ == 0.25


def test_blended_ends_ignore_the_other_branch_even_if_it_is_nan():
    nan = Blended(nn.ReLU(), PolyActivation(relu_d4()), lam=0.0)
    with torch.no_grad():
        nan.polynomial.coefficients_0.fill_(float("inf"))
    assert torch.isfinite(nan(torch.randn(5))).all()


def test_blended_copes_with_an_inplace_original():
    x = torch.randn(10)
    b = Blended(nn.ReLU(inplace=True), nn.Identity(), lam=0.5)
    before = x.clone()
    y = b(x)
    assert torch.equal(x, before)
    assert torch.allclose(y, 0.5 * torch.relu(before) + 0.5 * before)


def test_blended_follows_a_schedule_and_rejects_bad_lambda():
    b = Blended(nn.ReLU(), nn.Identity())
    ramp = LinearRamp(start=2, duration=4)
    assert [b.step(ramp, e) for e in (0, 2, 4, 6, 9)] == [0.0, 0.0, 0.5, 1.0, 1.0]
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        b.set_lambda(1.5)
    with pytest.raises(InputError, match="Module"):
        Blended(nn.ReLU(), lambda x: x)


# -- ApproxMinMaxNorm ------------------------------------------------------------------------------------------

def test_minmax_norm_bounds_training_outputs_to_minus_one_one():
    norm = ApproxMinMaxNorm(3)
    y = norm(torch.randn(4, 3, 5, 5) * 7 + 2)
    assert torch.allclose(y.amin(dim=(0, 2, 3)), -torch.ones(3)) and torch.allclose(y.amax(dim=(0, 2, 3)), torch.ones(3), atol=1e-4)


def test_minmax_norm_running_statistics_by_mode():
    a = torch.zeros(2, 2)
    a[:, 0] = torch.tensor([0.0, 1.0])
    a[:, 1] = torch.tensor([-1.0, 3.0])
    b = a * 2
    momentum = ApproxMinMaxNorm(2, mode="momentum")
    extremes = ApproxMinMaxNorm(2, mode="extremes")
    for norm in (momentum, extremes):
        norm(a)
        norm(b)
    assert torch.allclose(momentum.running_max, 0.9 * torch.tensor([1.0, 3.0]) + 0.1 * torch.tensor([2.0, 6.0]))
    assert torch.allclose(extremes.running_min, torch.tensor([0.0, -2.0]))
    assert torch.allclose(extremes.running_max, torch.tensor([2.0, 6.0]))


def test_minmax_norm_eval_is_the_affine_map_and_batch_mode_uses_batch_stats():
    norm = ApproxMinMaxNorm(3)
    norm(torch.randn(8, 3))
    norm.eval()
    x = torch.randn(5, 3) * 9
    scale, shift = norm.affine()
    assert torch.allclose(norm(x), x * scale + shift, atol=1e-6)
    batch = ApproxMinMaxNorm(3, mode="batch").eval()
    assert torch.allclose(batch(x).amax(dim=0), torch.ones(3), atol=1e-4)


def test_minmax_norm_rejects_bad_mode_and_channels():
    with pytest.raises(InputError, match="allowed: momentum, extremes, batch"):
        ApproxMinMaxNorm(3, mode="ema")
    with pytest.raises(InputError, match="3 channels"):
        ApproxMinMaxNorm(3)(torch.randn(2, 4))


# -- pooling ----------------------------------------------------------------------------------------------------

def test_sign_max_pool_tournament_is_exact_with_an_exact_comparator():
    pool = SignMaxPool2d(3, nn.ReLU(), stride=2, kind="relu", scale=4.0)
    x = torch.randn(2, 3, 9, 9)
    assert torch.allclose(pool(x), nn.functional.max_pool2d(x, 3, 2), atol=1e-6)


def test_sign_max_pool_from_a_sign_composite_is_close_to_max():
    # f(z) = 1.5z − 0.5z³ composed 8 times pushes z in [−1, 1] towards sign(z).
    sign = assemble("sign", (-1.0, 1.0), [Stage("monomial", [0.0, 1.5, 0.0, -0.5])] * 8, objective={},
                    provenance={}, exclude=(-0.05, 0.05))
    pool = SignMaxPool2d(2, sign, scale=8.0)
    x = torch.rand(1, 2, 8, 8) * 4
    err = (pool(x) - nn.functional.max_pool2d(x, 2)).abs()
    assert err.mean() < 0.05


@pytest.mark.parametrize("mode", ["avg", "sign"])
def test_a_max_pool_returning_indices_is_not_swapped(mode):
    model = nn.Sequential(nn.MaxPool2d(2, return_indices=True))  # a swap returned one tensor: y, idx = x[0], x[1]
    with pytest.raises(InputError, match="return_indices=True"):
        swap_max_pooling(model, mode, approximation=sign_composite(), scale=2.0)


@pytest.mark.parametrize("scale", ["x", None, {"0": "x"}])
def test_a_pool_scale_that_is_no_number_is_refused_in_one_line(scale):
    with pytest.raises(InputError, match="must be a number B > 0"):
        swap_max_pooling(nn.Sequential(nn.MaxPool2d(2)), "sign", approximation=sign_composite(), scale=scale)


def test_swap_max_pooling_to_average_or_sign():
    model = nn.Sequential(nn.Conv2d(1, 1, 3), nn.MaxPool2d(2))
    avg, swapped = swap_max_pooling(model, "avg")
    assert isinstance(avg[1], nn.AvgPool2d) and isinstance(model[1], nn.MaxPool2d) and swapped[0][0] == "1"
    with pytest.raises(InputError, match="needs an approximation"):
        swap_max_pooling(model, "sign")
    with pytest.raises(InputError, match="padding"):
        swap_max_pooling(nn.Sequential(nn.MaxPool2d(3, padding=1)), "sign", approximation=relu_d4())


def test_package_exports_the_public_api_and_the_recipes_lazily():
    import polyfit.torch as pft

    for name in ("PolyActivation", "TrainableQuadratic", "Blended", "ApproxMinMaxNorm", "find_sites",
                 "replace_activations", "profile_sites", "finalize", "export_onnx", "save_bundle",
                 "swap_max_pooling", "SignMaxPool2d", "Site"):
        assert getattr(pft, name) is not None
    from polyfit.torch.recipes import ActivationPenalty

    assert pft.ActivationPenalty is ActivationPenalty
    with pytest.raises(AttributeError):
        pft.no_such_name


def test_whole_model_pickles_with_torch_save(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), PolyActivation(relu_d4(), trainable=True))
    torch.save(model, tmp_path / "m.pt")
    loaded = torch.load(tmp_path / "m.pt", weights_only=False)
    x = torch.randn(3, 2)
    assert torch.equal(loaded(x), model(x))
    assert loaded[1].to_approximation().stages == relu_d4().stages


def test_fused_kernels_match_the_eager_kernels():
    """fused=True (torch.compile, one pass each way) computes the same values and gradients."""
    eager = PolyActivation(relu_d4(), trainable=True, clip=True).train()
    fused = PolyActivation(relu_d4(), trainable=True, clip=True, fused=True).train()
    x = (torch.randn(64, 33) * 4).requires_grad_()
    xf = x.detach().clone().requires_grad_()
    g = torch.randn(64, 33)
    y, yf = eager(x), fused(xf)
    y.backward(g)
    yf.backward(g)
    assert torch.allclose(yf, y, atol=1e-5)
    assert torch.allclose(xf.grad, x.grad, atol=1e-4)
    assert torch.allclose(fused.coefficients.grad, eager.coefficients.grad, rtol=1e-4)


def test_a_sign_comparator_must_approximate_an_odd_positive_function():
    import polyfit as pf

    with pytest.raises(InputError, match="target 'gelu' is not"):  # was taken as kind 'sign', error bound 4.2
        SignMaxPool2d(2, pf.fit("gelu", 3, 2), scale=2.0)
    assert SignMaxPool2d(2, pf.fit("tanh", 3, 2), scale=2.0).kind == "sign"
    assert SignMaxPool2d(2, pf.fit("relu", 3, 2), scale=2.0, kind="relu").kind == "relu"


def test_blended_lambda_that_is_no_number_is_an_input_error():
    with pytest.raises(InputError, match="must be a number in"):  # was ValueError from float()
        Blended(nn.ReLU(), PolyActivation(relu_d4())).set_lambda("x")


@pytest.mark.parametrize("count", [0, -2, 2.5, True])
def test_a_per_channel_quadratic_needs_a_positive_channel_count(count):
    with pytest.raises(InputError, match="num_channels must be a positive integer"):  # 0 built an empty layer
        TrainableQuadratic(channel_dim=1, num_channels=count)
