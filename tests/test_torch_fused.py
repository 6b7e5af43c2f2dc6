"""The compiled engine of PolyActivation: when it runs, reuse, fallback, and (one test) real compilation.

The suite runs eager (conftest sets POLYFIT_TORCH_FUSED=0); the tests of the decision logic
set the auto mode back and replace the compiler by the uncompiled kernel copy, so they cost
no compilation. One test compiles for real.
"""
import logging

import pytest
import torch

from polyfit.approximation import Stage
from polyfit.reports import assemble
from polyfit.torch import PolyActivation, fused


def relu_d4(domain=5.0):
    return assemble("relu", (-domain, domain), [Stage.quantized_monomial([322, 512, 160, 0, -3], 10)],
                    objective={"norm": "l2"}, provenance={"solver": "test"})


def composite():
    return assemble("relu", (-2.0, 2.0), [Stage("chebyshev", [0.0, 1.2, 0.0, -0.3], (-1.0, 1.0)),
                                          Stage("monomial", [0.0, 1.5, 0.0, -0.5])],
                    input_scale=0.5, combine="relu", objective={}, provenance={"solver": "test"})


class Spy(fused._Kernels):
    """Records the variants it is asked for and runs the kernels uncompiled."""

    def __init__(self, fail=False):
        super().__init__()
        self.calls, self.fail = [], fail

    def wrapper(self, kernel, variant):
        if self.fail:
            raise RuntimeError("no C++ compiler (simulated)")
        self.calls.append((kernel.__name__, variant))
        self.wrappers.setdefault((kernel, variant), kernel)
        return kernel


@pytest.fixture
def spy(monkeypatch):
    monkeypatch.setenv("POLYFIT_TORCH_FUSED", "auto")
    kernels = Spy()
    monkeypatch.setattr(fused, "_KERNELS", kernels)
    return kernels


def big(requires_grad=True):
    return (torch.randn(fused.MIN_ELEMENTS) * 3).requires_grad_(requires_grad)


def test_default_constructor_compiles_forward_and_backward_in_training(spy):
    act = PolyActivation(relu_d4()).train()
    act(big()).sum().backward()
    assert [name for name, _ in spy.calls] == ["forward_kernel", "backward_kernel"]


def test_eval_and_no_grad_never_compile_in_auto_mode(spy):
    act = PolyActivation(relu_d4()).eval()
    with torch.no_grad():
        act(big(False))
    act(big(False))
    assert spy.calls == []


def test_tiny_tensors_never_compile_in_auto_mode(spy):
    x = torch.randn(fused.MIN_ELEMENTS - 1, requires_grad=True)
    PolyActivation(relu_d4())(x).sum().backward()
    assert spy.calls == []


def test_environment_variable_keeps_the_auto_mode_eager(spy, monkeypatch):
    monkeypatch.setenv("POLYFIT_TORCH_FUSED", "0")
    PolyActivation(relu_d4())(big()).sum().backward()
    assert spy.calls == []


def test_fused_false_never_compiles_and_fused_true_compiles_small_eval_tensors(spy):
    PolyActivation(relu_d4(), fused=False)(big()).sum().backward()
    assert spy.calls == []
    with torch.no_grad():
        PolyActivation(relu_d4(), fused=True).eval()(torch.randn(10))
    assert [name for name, _ in spy.calls] == ["forward_kernel"]


def test_sites_of_one_degree_and_dtype_share_one_compiled_variant(spy):
    first, other_domain = PolyActivation(relu_d4()), PolyActivation(relu_d4(domain=8.0), clip=True).eval()
    first(big()).sum().backward()
    other_domain(big()).sum().backward()  # other coefficients' values and domain; eval: no clipping
    assert len(spy.wrappers) == 2  # one forward and one backward variant for both sites


def test_compiler_failure_falls_back_quietly_to_the_same_values(monkeypatch, caplog, recwarn):
    monkeypatch.setenv("POLYFIT_TORCH_FUSED", "auto")
    monkeypatch.setattr(fused, "_KERNELS", Spy(fail=True))
    x = big()
    with caplog.at_level(logging.INFO, logger="polyfit.torch"):
        y = PolyActivation(relu_d4())(x)
    y.sum().backward()
    assert torch.allclose(y, PolyActivation(relu_d4(), fused=False)(x.detach()))
    assert "running eagerly" in caplog.text and not [w for w in recwarn if "polyfit" in str(w.message)]
    assert "cpu" in fused._KERNELS.failed


def test_compiler_failure_warns_when_fused_was_asked_for(monkeypatch):
    monkeypatch.setattr(fused, "_KERNELS", Spy(fail=True))
    with pytest.warns(RuntimeWarning, match="compiling the activation kernels for cpu failed"):
        PolyActivation(relu_d4(), fused=True)(torch.randn(8, requires_grad=True))


@pytest.mark.parametrize("channel_dim", [None, 1])
def test_uncompiled_kernels_match_the_eager_engine_for_composites(spy, channel_dim):
    kw = dict(trainable=True, clip=True) if channel_dim is None else dict(trainable=True, channel_dim=1, num_channels=4)
    eager, auto = PolyActivation(composite(), fused=False, **kw).train(), PolyActivation(composite(), **kw).train()
    x = (torch.randn(fused.MIN_ELEMENTS // 4, 4) * 2).requires_grad_()
    xa = x.detach().clone().requires_grad_()
    g = torch.randn_like(x)
    eager(x).backward(g)
    ya = auto(xa)
    ya.backward(g)
    assert torch.allclose(ya, eager(x.detach()), atol=1e-5)
    assert torch.allclose(xa.grad, x.grad, atol=1e-4)
    for ca, ce in zip(auto.stage_coefficients(), eager.stage_coefficients()):
        assert torch.allclose(ca.grad, ce.grad, rtol=1e-4, atol=1e-3)
    assert {name for name, _ in spy.calls} == {"forward_kernel", "backward_kernel"}


def test_compiled_composite_matches_the_eager_engine():
    """Real torch.compile (a C++ compiler on CPU): Clenshaw, Horner and combine relu in one loop each way."""
    if not fused.compiler_present("cpu"):
        pytest.skip("no C++ compiler for TorchInductor")
    eager = PolyActivation(composite(), trainable=True, fused=False).train()
    compiled = PolyActivation(composite(), trainable=True, fused=True).train()
    x = (torch.randn(64, 33) * 2).requires_grad_()
    xc = x.detach().clone().requires_grad_()
    g = torch.randn(64, 33)
    eager(x).backward(g)
    yc = compiled(xc)
    yc.backward(g)
    assert torch.allclose(yc, eager(x.detach()), atol=1e-5)
    assert torch.allclose(xc.grad, x.grad, atol=1e-4)
    for cc, ce in zip(compiled.stage_coefficients(), eager.stage_coefficients()):
        assert torch.allclose(cc.grad, ce.grad, rtol=1e-4, atol=1e-3)
