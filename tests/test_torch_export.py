"""finalize, ONNX export with an op check, JSON bundle."""
import json

import pytest
import torch
from torch import nn

from polyfit.approximation import Stage
from polyfit.errors import ArtifactError, ComputationError, InputError
from polyfit.reports import assemble
from polyfit.torch import (ApproxMinMaxNorm, Blended, PolyActivation, TrainableQuadratic, export_onnx, finalize,
                           fold_batchnorm, load_bundle, onnx_op_types, replace_activations, save_bundle,
                           swap_max_pooling)
from polyfit.torch.export import ALLOWED_OPS


def relu_d4():
    return assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                    objective={"norm": "l2"}, provenance={"solver": "test"})


def trained_style_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2 * 3 * 3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 3))
    for bn in (model[1], model[6]):
        bn.running_mean.uniform_(-1, 1)
        bn.running_var.uniform_(0.5, 2.0)
        bn.weight.data.uniform_(0.5, 1.5)
    model, _ = replace_activations(model, lambda s: Blended(s.module, PolyActivation(relu_d4(), clip=True), 1.0))
    model, _ = swap_max_pooling(model, "avg")
    return model


def test_finalize_unwraps_blended_drops_clipping_and_evals():
    model = trained_style_model().train()
    final = finalize(model)
    assert isinstance(final[2], PolyActivation) and final[2].clip_range is None
    assert not final.training
    assert isinstance(model[2], Blended) and model[2].polynomial.clip_range == (-5.0, 5.0), "input untouched"
    x = torch.randn(3, 1, 8, 8) * 3
    model.eval()
    assert torch.allclose(final(x), model(x), atol=1e-6)


def test_finalize_warns_when_a_blend_is_unfinished():
    model = nn.Sequential(Blended(nn.ReLU(), PolyActivation(relu_d4()), 0.5))
    with pytest.warns(UserWarning, match="λ = 0.5"):
        final = finalize(model)
    assert isinstance(final[0], PolyActivation)


@pytest.mark.parametrize("with_dry_run", [False, True])
def test_batchnorm_folding_preserves_outputs(with_dry_run):
    model = trained_style_model()
    x = torch.randn(5, 1, 8, 8)
    plain = finalize(model)
    folded = finalize(model, fold_bn=True, example_inputs=x if with_dry_run else None)
    assert isinstance(folded[1], nn.Identity) and isinstance(folded[6], nn.Identity)
    assert torch.allclose(folded(x), plain(x), atol=1e-5)


class ConvThenArithmeticThenBN(nn.Module):
    """conv → y·2 + 1 → bn: the BN's input is not the conv's output (no fold allowed)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 1)
        self.bn = nn.BatchNorm2d(2)

    def forward(self, x):
        y = self.conv(x)
        y = y * 2  # the conv's output is freed here ...
        y = y + 1  # ... and CPython may give its id to this tensor, the BN's input
        return self.bn(y)


def test_batchnorm_folding_by_dry_run_does_not_pair_through_a_reused_tensor_id():
    for _ in range(5):
        model = ConvThenArithmeticThenBN().eval()
        assert fold_batchnorm(model, example_inputs=torch.randn(1, 1, 3, 3)) == []
        assert isinstance(model.bn, nn.BatchNorm2d)


def test_fold_batchnorm_needs_eval_mode():
    with pytest.raises(InputError, match="eval mode"):
        fold_batchnorm(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)).train())


def test_onnx_export_contains_only_polynomial_ops(tmp_path):
    final = finalize(trained_style_model(), fold_bn=True)
    path = tmp_path / "model.onnx"
    ops = export_onnx(final, torch.randn(2, 1, 8, 8), path)
    assert path.exists() and set(ops) <= ALLOWED_OPS
    assert {"Conv", "Mul", "Add", "Gemm", "AveragePool"} <= set(ops)
    assert onnx_op_types(path.read_bytes()) == ops


def test_onnx_export_rejects_non_polynomial_ops_and_writes_nothing(tmp_path):
    model = nn.Sequential(nn.Linear(3, 3), nn.ReLU())
    path = tmp_path / "relu.onnx"
    with pytest.raises(ComputationError, match="non-polynomial ops Relu"):
        export_onnx(model, torch.randn(1, 3), path)
    assert not path.exists()


def test_onnx_op_types_rejects_non_onnx_bytes():
    with pytest.raises(InputError, match="not an ONNX model"):
        onnx_op_types(b"\x0f\xff")


def test_bundle_holds_each_sites_artifact_and_reloads(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), ApproxMinMaxNorm(4), PolyActivation(relu_d4(), trainable=True),
                          nn.Linear(4, 4), TrainableQuadratic(a=0.125), nn.Linear(4, 2))
    model(torch.randn(8, 3))
    with torch.no_grad():
        model[2].coefficients[0] += 0.5
    path = save_bundle(finalize(model), tmp_path / "bundle.json", example_inputs=torch.randn(2, 3),
                       quadratic_domain=(-3, 3), onnx_file="model.onnx")
    raw = json.loads(open(path).read())
    assert [s["name"] for s in raw["sites"]] == ["1", "2", "4"]
    assert raw["sites"][1]["artifacts"][0]["stages"][0]["coefficients"][0] == pytest.approx(322 / 1024 + 0.5)
    assert len(raw["sites"][0]["affine"]["scale"]) == 4 and raw["onnx"] == "model.onnx"
    loaded = load_bundle(path)
    quad = loaded["sites"][2]["approximations"][0]
    assert quad.domain == (-3.0, 3.0) and quad.coefficients == (0.0, 1.0, 0.125)


def test_load_bundle_rejects_other_files(tmp_path):
    other = tmp_path / "x.json"
    other.write_text('{"schema": "something"}')
    with pytest.raises(ArtifactError, match="not a polyfit torch bundle"):
        load_bundle(other)


@pytest.mark.parametrize("opset", [17.0, "17", True, 3, 99])
def test_an_opset_the_exporter_cannot_write_is_refused_in_one_line(tmp_path, opset):
    from polyfit.torch import export_onnx

    with pytest.raises(InputError, match=f"opset_version {opset!r} is not allowed; allowed: integers 7 to"):
        export_onnx(nn.Sequential(nn.Linear(2, 2)), torch.randn(1, 2), tmp_path / "m.onnx", opset_version=opset)
    assert not (tmp_path / "m.onnx").exists()


class ConvBNResidual(nn.Module):
    """y = conv(x); relu(bn(y)) + y: the conv's output feeds the BN and the residual."""

    def __init__(self):
        super().__init__()
        self.conv, self.bn, self.act = nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2), nn.ReLU()
        with torch.no_grad():
            self.bn.running_mean.fill_(1.0)
            self.bn.running_var.fill_(4.0)
            self.bn.weight.fill_(2.0)

    def forward(self, x):
        y = self.conv(x)
        return self.act(self.bn(y)) + y


def test_a_batchnorm_is_not_folded_into_a_layer_whose_output_is_also_read_elsewhere():
    model, x = ConvBNResidual().eval(), torch.randn(2, 2, 4, 4)
    final = finalize(model, fold_bn=True, example_inputs=x)   # folded, the residual read BN(y): off by 1.0
    assert isinstance(final.bn, nn.BatchNorm2d) and torch.allclose(final(x), model(x), atol=1e-6)


def test_a_conv_bn_pair_read_only_by_the_batchnorm_is_still_folded():
    model = nn.Sequential(nn.Conv2d(2, 2, 1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(32, 4),
                          nn.BatchNorm1d(4)).eval()
    x = torch.randn(2, 2, 4, 4)
    final = finalize(model, fold_bn=True, example_inputs=x)
    assert isinstance(final[1], nn.Identity) and isinstance(final[5], nn.Identity)
    assert torch.allclose(final(x), model(x), atol=1e-5)


@pytest.mark.parametrize("domain, message", [
    ((1.0, -1.0), "must be <"), ((0.0, 0.0), "must be <"), ("x", "must be a number"), (None, "must be a number"),
    ({"other": (-1.0, 1.0)}, "no domain for TrainableQuadratic site '1'"),
])
def test_a_quadratic_domain_that_is_no_interval_is_refused(domain, message):
    model = nn.Sequential(nn.Linear(2, 2), TrainableQuadratic())
    with pytest.raises(InputError, match=message):  # (1, -1) wrote an artifact with domain [1, -1]
        save_bundle_dict(model, domain)


def save_bundle_dict(model, domain):
    from polyfit.torch.export import bundle

    return bundle(model, quadratic_domain=domain)
