"""find_sites and replace_activations."""
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from polyfit.approximation import Stage
from polyfit.errors import InputError
from polyfit.reports import assemble
from polyfit.torch import Blended, CallSiteDispatch, PolyActivation, find_sites, replace_activations


def relu_d4():
    return assemble("relu", (-5.0, 5.0), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                    objective={"norm": "l2"}, provenance={"solver": "test"})


class BasicBlock(nn.Module):
    """torchvision's pattern: one in-place ReLU module called twice."""

    def __init__(self, c=4):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.conv2(out)
        return self.relu(out + x)


class Net(nn.Module):
    def __init__(self, functional=False):
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.block = BasicBlock()
        self.act = nn.GELU()
        self.head = nn.Linear(4 * 6 * 6, 3)
        self.functional = functional

    def forward(self, x):
        x = self.block(self.stem(x))
        if self.functional:
            x = F.relu(x)
        return self.head(self.act(x).flatten(1))


def example():
    return torch.randn(2, 1, 6, 6)


def poly_factory(site):
    return PolyActivation(relu_d4())


# -- find_sites --------------------------------------------------------------------------------------------

def test_find_sites_lists_sites_in_execution_order_with_shapes_and_calls():
    sites = find_sites(Net(), example())
    assert [s.name for s in sites] == ["block.relu", "act"]
    relu = sites[0]
    assert relu.call_count == 2 and relu.input_shape == (2, 4, 6, 6) and relu.type == "ReLU"
    assert relu.layers_since_previous == 3  # stem, conv1, bn1
    assert relu.call_layers_since_previous == [3, 1]  # conv2 between the two calls
    assert sites[1].layers_since_previous == 0


def test_find_sites_flags_functional_calls_with_their_location():
    sites = find_sites(Net(functional=True), example())
    functional = sites.functional
    assert len(functional) == 1
    assert functional[0].type == "F.relu" and not functional[0].reachable and functional[0].module is None
    assert functional[0].name.startswith("<root>:F.relu")
    assert "test_torch_surgery.py" in functional[0].location
    assert [s.name for s in sites.modules] == ["block.relu", "act"]


def test_find_sites_removes_its_hooks_and_restores_the_mode_even_on_error():
    class Broken(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.ReLU()

        def forward(self, x):
            self.act(x)
            raise RuntimeError("boom")

    model = Broken().train()
    with pytest.raises(RuntimeError, match="boom"):
        find_sites(model, torch.randn(2))
    assert model.training
    assert all(not m._forward_pre_hooks and not m._forward_hooks for m in model.modules())


def test_find_sites_does_not_descend_into_a_site():
    model = nn.Sequential(nn.Linear(2, 2), Blended(nn.ReLU(), nn.Identity(), 0.5))
    assert [s.name for s in find_sites(model, torch.randn(3, 2))] == ["1"]


# -- replace_activations ----------------------------------------------------------------------------------

def test_replace_builds_one_module_per_site_on_a_deep_copy():
    model = Net()
    new, report = replace_activations(model, poly_factory, find_sites(model, example()))
    assert isinstance(model.block.relu, nn.ReLU), "the input model is untouched"
    assert isinstance(new.block.relu, PolyActivation) and isinstance(new.act, PolyActivation)
    assert [r.name for r in report] == ["block.relu", "act"]
    assert report[0].original == "ReLU" and new.block.relu.site_name == "block.relu"
    assert set(report.as_dict()) == {"block.relu", "act"}


def test_replace_inplace_modifies_the_model():
    model = Net()
    new, _ = replace_activations(model, poly_factory, inplace=True)
    assert new is model and isinstance(model.act, PolyActivation)


def test_replace_per_call_gives_each_call_its_own_module():
    model = Net()
    x = example()
    factory_calls = []

    def factory(site):
        factory_calls.append(site.name)
        return nn.Identity() if site.call_index == 1 else nn.ReLU()

    new, report = replace_activations(model, factory, example_inputs=x, per_call=True)
    assert isinstance(new.block.relu, CallSiteDispatch)
    assert factory_calls == ["block.relu#0", "block.relu#1", "act"]
    new.eval()
    block = new.block
    inp = new.stem(x)
    expected = block.conv2(torch.relu(block.bn1(block.conv1(inp)))) + inp  # second call is identity now
    assert torch.allclose(block(inp), expected, atol=1e-6)
    assert torch.allclose(block(inp), expected, atol=1e-6), "routing cycles per forward"
    block.relu._next = 1  # as after a forward interrupted between the two calls
    assert torch.allclose(new(x), new.head(new.act(expected).flatten(1)), atol=1e-6), "the root hook resets routing"
    assert [r.name for r in report][:2] == ["block.relu.calls.0", "block.relu.calls.1"]


def test_replace_refuses_functional_calls_without_fx():
    model = Net(functional=True)
    with pytest.raises(InputError, match=r"functional activation call.*F\.relu.*fx=True"):
        replace_activations(model, poly_factory, example_inputs=example())


def test_replace_with_fx_rewrites_functional_calls_into_modules():
    model = Net(functional=True).eval()
    x = example()
    new, report = replace_activations(model, lambda site: nn.ReLU() if site.module is None else site.module,
                                      example_inputs=x, fx=True)
    assert any(r.name == "polyfit_fx_0" for r in report)
    assert isinstance(new.polyfit_fx_0, nn.ReLU)
    assert "F.relu" not in new.code and "torch.relu" not in new.code
    assert torch.allclose(new(x), model(x))
    assert find_sites(new, x).functional == []


def test_factory_returning_a_non_module_names_the_site():
    with pytest.raises(InputError, match=r"factory returned int for site 'block\.relu' \(ReLU\)"):
        replace_activations(Net(), lambda site: 3)


def test_factory_mapping_by_type():
    new, report = replace_activations(Net(), {nn.ReLU: poly_factory, nn.GELU: lambda s: nn.Identity()})
    assert isinstance(new.block.relu, PolyActivation) and isinstance(new.act, nn.Identity)
    with pytest.raises(InputError, match="no factory for type GELU"):
        replace_activations(Net(), {nn.ReLU: poly_factory})


def test_only_the_given_sites_are_replaced():
    model = Net()
    sites = [s for s in find_sites(model, example()) if s.name == "act"]
    new, report = replace_activations(model, poly_factory, sites)
    assert isinstance(new.block.relu, nn.ReLU) and isinstance(new.act, PolyActivation) and len(report) == 1


def test_a_module_shared_under_two_names_gets_one_replacement_everywhere():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 2), relu, nn.Linear(2, 2), relu)
    new, report = replace_activations(model, poly_factory)
    assert new[1] is new[3] and isinstance(new[1], PolyActivation) and len(report) == 1


def test_kinds_leave_other_activation_modules_alone_without_reporting_their_inner_calls():
    model = nn.Sequential(nn.Linear(2, 2), nn.GELU(), nn.ReLU())
    x = torch.randn(1, 2)
    sites = find_sites(model, x, kinds=(nn.ReLU,))
    assert [s.name for s in sites] == ["2"] and not sites.functional  # GELU's own F.gelu was a "functional site"
    new, report = replace_activations(model, {nn.ReLU: lambda site: nn.Identity()}, example_inputs=x, kinds=(nn.ReLU,))
    assert [r.name for r in report] == ["2"] and isinstance(new[1], nn.GELU)


def test_a_mapping_without_a_sites_type_says_how_to_replace_only_the_mapped_types():
    model = nn.Sequential(nn.Linear(2, 2), nn.GELU(), nn.ReLU())
    with pytest.raises(InputError, match=r"pass kinds=\(nn.ReLU,\)"):
        replace_activations(model, {nn.ReLU: lambda site: nn.Identity()}, example_inputs=torch.randn(1, 2))
