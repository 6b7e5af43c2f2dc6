"""Issue 13: polyfit.torch on model-zoo patterns, mirrored in small local models.

torchvision does not import beside the CPU torch here, so each model below copies the
pattern of a zoo model: densenet's functional ``F.relu``, googlenet's aux-logit branches and
``F.dropout(training=self.training)``, inception_v3's functional ``F.max_pool2d``,
transformer encoder layers (``activation="gelu"`` and ``nn.GELU()``), squeezenet's ceil-mode
pools, vgg's adaptive pool after a 1×1 feature map.
"""
import sys
from collections import namedtuple

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import polyfit as pf
from polyfit.approximation import Stage
from polyfit.errors import ComputationError, InputError
from polyfit.reports import assemble
from polyfit.torch import (PolyActivation, SignMaxPool2d, export_onnx, finalize, find_sites, profile_sites,
                           replace_activations, swap_max_pooling)
from polyfit.torch.export import ALLOWED_OPS


def relu_d4():
    return assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                    objective={"norm": "l2"}, provenance={"solver": "test"})


class Counting(nn.Module):
    """A stand-in activation (2x + 1, unlike any activation) that counts its calls."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return 2 * x + 1


# -- 1. file:line of functional calls in a package whose name starts with "torch" -------------------

def test_user_frame_reports_a_sibling_package_of_torch(tmp_path, monkeypatch):
    fake_torch = tmp_path / "torch"
    fake_torch.mkdir()
    (fake_torch / "__init__.py").write_text("")
    zoo = tmp_path / "torchfoo"
    zoo.mkdir()
    (zoo / "__init__.py").write_text("")
    (zoo / "zoo.py").write_text("from polyfit.torch.surgery import _user_frame\n\n\ndef where():\n    return _user_frame()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "torchfoo", raising=False)
    monkeypatch.delitem(sys.modules, "torchfoo.zoo", raising=False)
    from torchfoo import zoo as module

    monkeypatch.setattr(torch, "__file__", str(fake_torch / "__init__.py"))  # torchfoo is torch's sibling now
    assert module.where() == "zoo.py:5"


class DenseLayer(nn.Module):
    """densenet's _DenseLayer: functional ReLUs after BatchNorm, concatenated features."""

    def __init__(self, c=4):
        super().__init__()
        self.norm1, self.conv1 = nn.BatchNorm2d(c), nn.Conv2d(c, c, 1)
        self.norm2, self.conv2 = nn.BatchNorm2d(c), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        out = self.conv1(F.relu(self.norm1(x)))
        return torch.cat([x, self.conv2(F.relu(self.norm2(out)))], 1)


def test_find_sites_locates_densenet_functional_calls_in_the_model_source():
    sites = find_sites(nn.Sequential(DenseLayer()), torch.randn(2, 4, 5, 5))
    assert [s.name for s in sites] == ["0:F.relu#0", "0:F.relu#1"]
    assert all(s.location.startswith("test_torch_zoo.py:") for s in sites)


# -- 2 and 3. transformer encoder layers --------------------------------------------------------------

def encoder(activation):
    torch.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, activation=activation, batch_first=True)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


class MiniViT(nn.Module):
    """vit_b_16's shape: a token embedding, then a transformer encoder (a torch.nn module, an fx leaf)."""

    def __init__(self, activation):
        super().__init__()
        self.embed = nn.Linear(8, 8)
        self.encoder = encoder(activation)

    def forward(self, x):
        return self.encoder(self.embed(x))


def test_gelu_given_by_name_is_an_attribute_site_that_surgery_replaces():
    model = encoder("gelu")
    x = torch.randn(3, 5, 8)
    sites = find_sites(model, x)
    assert [(s.name, s.type, s.reachable) for s in sites] == [("layers.0.activation", "F.gelu", True),
                                                              ("layers.1.activation", "F.gelu", True)]
    new, report = replace_activations(model, lambda site: Counting(), sites)
    assert [r.name for r in report] == ["layers.0.activation", "layers.1.activation"]
    new.train()
    new(x)
    assert [new.layers[i].activation.calls for i in (0, 1)] == [1, 1]
    assert model.layers[0].activation is F.gelu, "the input model is untouched"


def test_fx_replaces_attribute_sites_instead_of_returning_an_unchanged_graph():
    model = MiniViT("gelu").eval()
    x = torch.randn(3, 5, 8)
    new, report = replace_activations(model, lambda site: Counting(), example_inputs=x, fx=True)
    assert len(report) == 2
    assert not torch.allclose(new(x), model(x))


def test_fx_refuses_functional_calls_inside_torch_nn_modules_it_cannot_enter():
    model = MiniViT(lambda t: F.gelu(t)).eval()  # a callable that is no activation itself
    x = torch.randn(3, 5, 8)
    with pytest.raises(InputError, match=r"fx=True could not reach 2 functional activation call\(s\).*layers\.0:F\.gelu"):
        replace_activations(model, lambda site: Counting(), example_inputs=x, fx=True)


def test_replaced_transformer_activation_is_used_by_the_eval_fast_path():
    model = encoder(nn.GELU())
    x = torch.randn(3, 5, 8)
    new, _ = replace_activations(model, lambda site: PolyActivation(pf.fit("gelu", degree=4, domain=6)))
    new.eval()
    with torch.no_grad():
        fast = new(x)  # torch's fused encoder kernel would compute native GELU here
    with torch.enable_grad():
        slow = new(x.requires_grad_())
    assert torch.allclose(fast, slow, atol=1e-5)
    assert new.layers[0].activation_relu_or_gelu == 0


# -- 4. training-only branches (googlenet) --------------------------------------------------------------

GoogLeNetOutputs = namedtuple("GoogLeNetOutputs", ["logits", "aux_logits1"])


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv, self.bn = nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)), inplace=True)


class InceptionAux(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.conv, self.fc1, self.fc2 = BasicConv2d(c, c), nn.Linear(c, 8), nn.Linear(8, classes)

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.conv(x), 1).flatten(1)
        x = F.relu(self.fc1(x), inplace=True)
        return self.fc2(F.dropout(x, 0.7, training=self.training))


class MiniGoogLeNet(nn.Module):
    def __init__(self, classes=3):
        super().__init__()
        self.conv1, self.conv2 = BasicConv2d(1, 4), BasicConv2d(4, 4)
        self.aux1 = InceptionAux(4, classes)
        self.fc = nn.Linear(4, classes)

    def forward(self, x):
        x = self.conv1(x)
        aux1 = self.aux1(x) if self.training else None
        x = F.adaptive_avg_pool2d(self.conv2(x), 1).flatten(1)
        x = self.fc(x)
        return GoogLeNetOutputs(x, aux1) if self.training else x


def test_fx_on_a_model_in_training_mode_keeps_both_modes():
    torch.manual_seed(0)
    model = MiniGoogLeNet().train()
    x = torch.randn(2, 1, 6, 6)
    new, report = replace_activations(model, lambda site: Counting(), example_inputs=x, fx=True)
    assert len(report) == 4  # conv1, conv2, and the aux branch's two (training only)
    assert {r.name for r in report if r.site.location == "training mode only"} and len(new.state_dict()) > 0
    new.eval()
    out = new(x)
    assert isinstance(out, torch.Tensor), "eval returns logits, not the training tuple"
    new.train()
    out = new(x)
    assert isinstance(out, tuple) and out.aux_logits1.shape == (2, 3)
    assert all(r.module.calls >= 1 for r in report), "every site, the aux ones included, goes through its module"


def test_fx_eval_graph_has_no_dropout_after_tracing_in_training_mode():
    torch.manual_seed(0)
    model = MiniGoogLeNet().train()
    x = torch.randn(2, 1, 6, 6)
    new, _ = replace_activations(model, lambda site: nn.ReLU(), example_inputs=x, fx=True)
    new.eval()
    model.eval()
    assert torch.allclose(new(x), model(x), atol=1e-6)
    assert torch.equal(new(x), new(x))


# -- 5 and 10. SignMaxPool2d: exportable, and guarded outside its domain ------------------------------------

def sign_f1g2():
    return pf.composite(preset="f1g2")


def test_sign_max_pooling_exports_to_polynomial_ops(tmp_path):
    model = nn.Sequential(nn.Conv2d(1, 2, 3), SignMaxPool2d(2, sign_f1g2(), scale=64.0), nn.Flatten(), nn.Linear(8, 2))
    x = torch.randn(1, 1, 6, 6)
    ops = export_onnx(finalize(model), x, tmp_path / "m.onnx")
    assert set(ops) <= ALLOWED_OPS and "Div" not in ops and "Mul" in ops


def test_sign_max_pooling_still_matches_the_window_tournament():
    pool = SignMaxPool2d((2, 3), nn.ReLU(), stride=(1, 2), kind="relu", scale=4.0)
    x = torch.randn(2, 3, 7, 9)
    assert torch.allclose(pool(x), F.max_pool2d(x, (2, 3), (1, 2)), atol=1e-6)


def test_sign_max_pooling_refuses_differences_outside_the_comparator_domain():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8) * 3
    with pytest.raises(ComputationError, match=r"outside the comparator's domain \[-1, 1\].*use scale >= "):
        SignMaxPool2d(2, sign_f1g2(), scale=4.0)(x)


def test_scale_from_a_profile_keeps_the_error_within_the_stated_bound():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.MaxPool2d(2))
    data = [torch.randn(4, 1, 10, 10) * 3 for _ in range(3)]
    profile = profile_sites(model, data, sites={"1": model[1]})
    from polyfit.torch.pooling import pool_scale

    new, swapped = swap_max_pooling(model, "sign", sign_f1g2(), scale=profile)
    pool = new[1]
    assert pool.scale == pytest.approx(pool_scale(profile["1"], sign_f1g2()))
    with torch.no_grad():
        err = max(float((new(x) - model(x)).abs().max()) for x in data)
    assert err <= pool.error_bound()


def test_clipping_keeps_a_sign_pool_bounded():
    x = torch.randn(2, 3, 8, 8) * 3
    pool = SignMaxPool2d(2, sign_f1g2(), scale=4.0, on_out_of_range="clip")
    assert float((pool(x) - F.max_pool2d(x, 2)).abs().max()) < 3.0


# -- 6. functional max pooling (inception_v3) --------------------------------------------------------------

class InceptionB(nn.Module):
    def __init__(self, c=2):
        super().__init__()
        self.branch = nn.Conv2d(c, c, 3, stride=2)

    def _forward(self, x):
        return [self.branch(x), F.max_pool2d(x, kernel_size=3, stride=2)]

    def forward(self, x):
        return torch.cat(self._forward(x), 1)


class MiniInception(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.pool = nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(3, stride=2)
        self.mixed = InceptionB()

    def forward(self, x):
        return self.mixed(self.pool(self.stem(x)))


def test_swap_max_pooling_refuses_functional_pools_it_cannot_reach():
    with pytest.raises(InputError, match=r"mixed \(InceptionB\._forward\) calls max_pool2d functionally"):
        swap_max_pooling(MiniInception(), "avg")
    with pytest.raises(InputError, match=r"1 functional max pooling call.*mixed:F\.max_pool2d#0 at test_torch_zoo\.py"):
        swap_max_pooling(MiniInception(), "avg", example_inputs=torch.randn(1, 1, 15, 15))


def test_swap_max_pooling_rewrites_functional_pools_with_fx():
    model = MiniInception().eval()
    x = torch.randn(1, 1, 15, 15)
    new, swapped = swap_max_pooling(model, "avg", example_inputs=x, fx=True)
    assert [name for name, _ in swapped] == ["pool", "polyfit_pool_0"]
    assert "max_pool2d" not in new.code
    stem = F.avg_pool2d(model.stem(x), 3, 2)
    expected = torch.cat([model.mixed.branch(stem), F.avg_pool2d(stem, 3, 2)], 1)
    assert torch.allclose(new(x), expected, atol=1e-6)


# -- 7. ceil-mode average pools divide by k² ---------------------------------------------------------------

def test_average_pool_for_a_ceil_mode_max_pool_divides_every_window_by_k_squared():
    model = nn.Sequential(nn.MaxPool2d(3, stride=2, ceil_mode=True))  # squeezenet / googlenet
    new, _ = swap_max_pooling(model, "avg")
    x = torch.rand(1, 1, 6, 6) + 1.0
    y = new(x)
    assert y.shape == model(x).shape == (1, 1, 3, 3)
    # the last window covers rows/columns 4..6 of which only 4..5 exist: their sum / 9
    assert float(y[0, 0, 2, 2]) == pytest.approx(float(x[0, 0, 4:, 4:].sum()) / 9, rel=1e-6)
    assert float(y[0, 0, 0, 0]) == pytest.approx(float(x[0, 0, :3, :3].sum()) / 9, rel=1e-6)


def test_ceil_mode_average_pool_exports(tmp_path):
    new, _ = swap_max_pooling(nn.Sequential(nn.Conv2d(1, 1, 1), nn.MaxPool2d(3, stride=2, ceil_mode=True)), "avg")
    ops = export_onnx(finalize(new), torch.randn(1, 1, 6, 6), tmp_path / "m.onnx")
    assert set(ops) <= ALLOWED_OPS and "AveragePool" in ops


# -- 8. functional-only models: profiling, and factories by type --------------------------------------------

def test_a_functional_only_model_is_profiled_site_by_site():
    torch.manual_seed(0)
    model = MiniGoogLeNet().eval()
    data = [torch.randn(2, 1, 6, 6) for _ in range(3)]
    profile = profile_sites(model, data)
    assert list(profile) == ["conv1:F.relu#0", "conv2:F.relu#0"]
    assert profile["conv1:F.relu#0"].calls == 3 and profile["conv1:F.relu#0"].type == "F.relu"
    sites = find_sites(model, data[0])
    assert list(profile_sites(model, data, sites)) == [s.name for s in sites]


def test_a_type_mapping_serves_functional_sites_with_fx():
    model = nn.Sequential(DenseLayer()).eval()
    x = torch.randn(2, 4, 5, 5)
    new, report = replace_activations(model, {nn.ReLU: lambda site: PolyActivation(relu_d4())}, example_inputs=x,
                                      fx=True)
    assert len(report) == 2 and all(isinstance(r.module, PolyActivation) for r in report)


# -- 11. adaptive pools after a small feature map (vgg at 32×32) ---------------------------------------------

class MiniVGG(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.AvgPool2d(2))
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Linear(2 * 49, 3)

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def test_finalize_makes_a_non_dividing_adaptive_pool_exportable(tmp_path):
    torch.manual_seed(0)
    model, _ = replace_activations(MiniVGG(), lambda site: PolyActivation(relu_d4()))
    x = torch.randn(2, 1, 4, 4)  # features come out 1×1; the pool makes 7×7 of them
    final = finalize(model, example_inputs=x)
    assert torch.allclose(final(x), model.eval()(x), atol=1e-6)
    ops = export_onnx(final, x, tmp_path / "m.onnx")
    assert set(ops) <= ALLOWED_OPS and "MatMul" in ops
    with pytest.raises(InputError, match="built for 1x1 inputs, got 2x2"):
        final(torch.randn(2, 1, 8, 8))


def test_a_failed_export_says_one_line_and_keeps_stdout_and_stderr_clean(tmp_path, capfd):
    model, _ = replace_activations(MiniVGG(), lambda site: PolyActivation(relu_d4()))
    with pytest.raises(ComputationError, match="adaptive_avg_pool2d.*finalize\\(model, example_inputs"):
        export_onnx(finalize(model), torch.randn(2, 1, 4, 4), tmp_path / "m.onnx")
    captured = capfd.readouterr()
    assert "Torch IR graph" not in captured.err and "Torch IR graph" not in captured.out  # the graph dump is on fd 1
