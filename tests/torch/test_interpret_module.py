"""interpret_module on small networks trained in the test: a classifier logit
behind a Sigmoid (experiment 1), a hidden bottleneck neuron, the boundary
between two classes of a softmax head; plus the gradient plumbing itself."""

from __future__ import annotations

import copy
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import sympy  # noqa: E402
from torch_helpers import FAST, State, elu_mlp, messy_state, train, unit_truth_cosine  # noqa: E402

from neuroninterp.experiments import EXPERIMENTS, equivalent  # noqa: E402
from neuroninterp_torch import (  # noqa: E402
    class_boundary,
    interpret_module,
    module_gradient_set,
)


def with_nested_sigmoid(net):
    """net's layers, the last Linear and a Sigmoid in a nested Sequential."""
    layers = list(net.children())
    return nn.Sequential(*layers[:-1], nn.Sequential(layers[-1], nn.Sigmoid())).eval()


def test_experiment_1_through_a_sigmoid(exp1_net, exp1_data, warm_search):
    X, _ = exp1_data
    model = with_nested_sigmoid(copy.deepcopy(exp1_net))
    state = State(model)
    result = interpret_module(model, X, time_budget=15, **FAST)
    state.assert_unchanged()
    exp = EXPERIMENTS[1]
    gs = result.gradient_set
    assert gs is not None and gs.is_logit and 0 < len(gs) <= len(X)
    assert result.best is not None
    ok, frac, _ = equivalent(result.best.expr, exp.expr, exp.names, gs.X, cosine=0.999,
                             fraction=0.95)
    assert ok, (str(result.best), frac)
    # the sigmoid was bypassed: the values are the logits, and the result says so
    logits = exp1_net(torch.tensor(gs.X, dtype=torch.float32))[:, 0].detach().numpy()
    np.testing.assert_allclose(gs.values, logits, rtol=1e-5, atol=1e-5)
    assert np.abs(gs.values).max() <= np.log((1 - 1e-4) / 1e-4)
    assert "Sigmoid" in result.description and "'4.1'" in result.description
    assert any("bypassed" in n for n in result.notes)
    assert any("points are in the unsaturated band" in n for n in result.notes)


def test_hidden_bottleneck_neuron(warm_search):
    """y = sin(x1 x2 + x3) through a one-unit bottleneck: the bottleneck encodes z."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-0.7, 0.7, (3000, 3))
    y = np.sin(X[:, 0] * X[:, 1] + X[:, 2])[:, None]
    torch.manual_seed(0)
    net = nn.Sequential(OrderedDict([
        ("enc1", nn.Linear(3, 64)), ("act1", nn.ELU()),
        ("enc2", nn.Linear(64, 64)), ("act2", nn.ELU()),
        ("bottleneck", nn.Linear(64, 1)),
        ("dec1", nn.Linear(1, 32)), ("act3", nn.ELU()), ("dec2", nn.Linear(32, 1)),
    ]))
    train(net, X, y, lambda o, t: ((o - t.float()) ** 2).mean(), epochs=200, decay_every=50)
    result = interpret_module(net, X, layer="bottleneck", time_budget=15, **FAST)
    gs = result.gradient_set
    assert not gs.is_logit and len(gs) == len(X)  # hidden unit: no band filter
    assert "bottleneck" in result.description
    x1, x2, x3 = sympy.symbols(gs.feature_names, real=True)
    # orient the truth along the unit (the bottleneck may decrease with z)
    truth_grad = np.stack([X[:, 1], X[:, 0], np.ones(len(X))], axis=1)
    sign = 1 if unit_truth_cosine(gs.gradients, truth_grad).mean() > 0 else -1
    ok, frac, _ = equivalent(result.best.expr, sign * (x1 * x2 + x3), gs.feature_names, gs.X,
                             cosine=0.999, fraction=0.95)
    assert ok, (str(result.best), frac)


@pytest.fixture(scope="module")
def three_classes():
    """Classes 0/1/2 by thresholds 0.3 and 0.8 of x1^2 + x2^2: every logit difference is a
    function of x1^2 + x2^2, so the boundary between classes 2 and 0 is that formula."""
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (3000, 2))
    r2 = (X[:, 0] ** 2 + X[:, 1] ** 2) * rng.normal(1, 0.01, len(X))
    y = np.digitize(r2, [0.3, 0.8])
    net = train(elu_mlp(2, 3), X, y, nn.functional.cross_entropy, epochs=60)
    return nn.Sequential(net, nn.Softmax(dim=1)).eval(), X


def test_softmax_class_boundary(three_classes, warm_search):
    model, X = three_classes
    result = interpret_module(model, X, unit=class_boundary(2, 0), time_budget=15, **FAST)
    gs = result.gradient_set
    assert gs.is_logit and "logit[2] - logit[0]" in result.description
    assert "Softmax" in result.description
    x1, x2 = sympy.symbols(gs.feature_names, real=True)
    ok, frac, _ = equivalent(result.best.expr, x1**2 + x2**2, gs.feature_names, gs.X,
                             cosine=0.999, fraction=0.95)
    assert ok, (str(result.best), frac)


def test_class_boundary_equals_the_callable_form(three_classes):
    model, X = three_classes
    a = module_gradient_set(model, X[:300], unit=class_boundary(1, 0))
    b = module_gradient_set(model, X[:300], unit=lambda logits: logits[:, 1] - logits[:, 0])
    np.testing.assert_array_equal(a.gradients, b.gradients)
    np.testing.assert_array_equal(a.values, b.values)
    with pytest.raises(ValueError, match=r"class_boundary\(3, 0\) is out of range.*0\.\.2"):
        module_gradient_set(model, X[:10], unit=class_boundary(3, 0))


def test_gradients_are_per_sample_input_gradients(exp1_net, exp1_data):
    """Batched gradients of the batch sum equal each sample's own gradient."""
    X = exp1_data[0][:50]
    gs = module_gradient_set(exp1_net, X, delta=None, batch_size=7)
    for i in (0, 13, 49):
        x = torch.tensor(X[i:i + 1], dtype=torch.float32, requires_grad=True)
        (g,) = torch.autograd.grad(exp1_net(x)[0, 0], x)
        g = g[0].numpy().astype(np.float64)
        np.testing.assert_allclose(gs.gradients[i], g / np.linalg.norm(g), atol=1e-6)
        np.testing.assert_allclose(gs.norms[i], np.linalg.norm(g), rtol=1e-5)


@pytest.mark.parametrize("context", ["no_grad", "inference_mode"])
def test_works_inside_no_grad_and_inference_mode(exp1_net, exp1_data, context):
    X = exp1_data[0][:200]
    model = messy_state(copy.deepcopy(exp1_net))
    reference = module_gradient_set(model, X)
    state = State(model)
    with getattr(torch, context)():
        gs = module_gradient_set(model, X)
    state.assert_unchanged()
    np.testing.assert_array_equal(gs.gradients, reference.gradients)
    np.testing.assert_array_equal(gs.values, reference.values)


def test_capture_input_is_the_pre_activation(exp1_net, exp1_data):
    X = exp1_data[0][:100]
    pre = module_gradient_set(exp1_net, X, layer="1", capture="input", unit=5)
    lin = module_gradient_set(exp1_net, X, layer="0", unit=5)
    np.testing.assert_allclose(pre.gradients, lin.gradients, atol=1e-12)
    post = module_gradient_set(exp1_net, X, layer="1", unit=5)
    np.testing.assert_allclose(post.values, np.where(lin.values > 0, lin.values,
                                                     np.expm1(lin.values)), atol=1e-6)


def test_bypass_of_a_squash_inside_a_custom_module(exp1_net, exp1_data):
    """Not a Sequential: the output is a view of an nn.Sigmoid's output; still bypassed."""

    class Classifier(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body, self.squash = body, nn.Sigmoid()

        def forward(self, x):
            return self.squash(self.body(x)).view(-1)

    X = exp1_data[0][:100]
    model = Classifier(exp1_net)
    gs = module_gradient_set(model, X, delta=None)
    ref = module_gradient_set(exp1_net, X, delta=None)
    np.testing.assert_array_equal(gs.values, ref.values)
    assert "squash" in gs.description


def test_mask_selects_rows(exp1_net, exp1_data):
    X = exp1_data[0][:200]
    mask = X[:, 0] > 0
    gs = module_gradient_set(exp1_net, X, delta=None, mask=mask, feature_names=["a", "b"])
    np.testing.assert_array_equal(gs.X, X[mask])
    assert gs.feature_names == ["a", "b"]


def test_same_seed_same_front(exp1_net, exp1_data):
    X = exp1_data[0][:600]
    runs = [interpret_module(exp1_net, X, seed=3, time_budget=None, max_evals=3000, **FAST)
            for _ in range(2)]
    fronts = [[(str(c), c.complexity) for c in r.front] for r in runs]
    assert fronts[0] and fronts[0] == fronts[1]
    assert str(runs[0].best) == str(runs[1].best)


def test_tensor_input_and_float64_model(exp1_net, exp1_data):
    X = exp1_data[0][:100]
    model = copy.deepcopy(exp1_net).double()
    gs = module_gradient_set(model, torch.tensor(X, requires_grad=True), delta=None)
    ref = module_gradient_set(exp1_net, X, delta=None)
    np.testing.assert_allclose(gs.gradients, ref.gradients, atol=1e-5)
    np.testing.assert_array_equal(gs.X, X)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_model_on_gpu_gives_the_cpu_gradients(exp1_net, exp1_data):
    X = exp1_data[0][:200]
    model = copy.deepcopy(exp1_net).cuda()
    gs = module_gradient_set(model, torch.tensor(X).cuda(), delta=None)
    ref = module_gradient_set(exp1_net, X, delta=None)
    np.testing.assert_allclose(gs.gradients, ref.gradients, atol=1e-4)
    assert next(model.parameters()).is_cuda
