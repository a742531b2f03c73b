"""Bad input to the PyTorch adapter: each case fails (or warns) with a clear
message, and the model is left exactly as it was - weights, train/eval flags,
requires_grad, .grad, hooks."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from torch_helpers import FAST, State, bce, messy_state, train  # noqa: E402

from neuroninterp_torch import interpret_module, module_gradient_set  # noqa: E402


@pytest.fixture
def model(exp1_net):
    """The trained experiment-1 net behind a Sigmoid, in a messy train-mode state."""
    return messy_state(nn.Sequential(copy.deepcopy(exp1_net), nn.Sigmoid()))


@pytest.fixture
def X(exp1_data):
    return exp1_data[0][:50]


CASES = {
    "unknown layer": (dict(layer="0.7"), ValueError,
                      r"layer='0.7' is not a module.*valid layer names.*'0', '0.0'"),
    "unit out of range": (dict(unit=1), ValueError,
                          r"unit=1 is out of range.*1 entries per sample.*0\.\.0"),
    "hidden unit out of range": (dict(layer="0.1", unit=(64,)), ValueError,
                                 r"unit=\(64,\) is out of range.*0\.\.63"),
    "unknown search option": (dict(time_limit=3), TypeError,
                              r"unknown search option\(s\) \['time_limit'\].*time_budget"),
    "bad search option value": (dict(time_budget=-1), ValueError, r"time_budget must be"),
    "bad capture": (dict(capture="pre"), ValueError, r"capture must be 'output' or 'input'"),
    "input of the model": (dict(capture="input"), ValueError, r"capture='input' needs a layer"),
    "bad delta": (dict(delta=0.7), ValueError, r"delta must be a number in \(0, 0.5\)"),
    "bad batch size": (dict(batch_size=0), ValueError, r"batch_size must be an integer >= 1"),
    "bad mask": (dict(mask=np.ones(7, bool)), ValueError, r"mask must be a boolean array.*\(50,\)"),
    "empty mask": (dict(mask=np.zeros(50, bool)), ValueError, r"mask selects no row"),
    "feature names": (dict(feature_names=["a", "b", "c"]), ValueError,
                      r"feature_names has 3 names but X has 2 columns"),
    "unit of a wrong type": (dict(unit="x1"), TypeError, r"unit must be an int"),
    "callable unit that fails": (dict(unit=lambda out: out[:, 5]), IndexError, r"out of bounds"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_argument_fails_clearly_and_changes_nothing(model, X, case):
    kwargs, error, pattern = CASES[case]
    state = State(model)
    with pytest.raises(error, match=pattern):
        interpret_module(model, X, **{**FAST, "time_budget": 5, **kwargs})
    state.assert_unchanged()


@pytest.mark.parametrize("bad_X, pattern", [
    (np.zeros((0, 2)), r"X is empty"),
    (np.zeros(10), r"X must be 2-D.*reshape"),
    (np.full((5, 2), np.nan), r"every row of X \(5\) has a NaN"),
    (np.zeros((50, 3)), r"X has shape \(50, 3\).*first layer '0.0' \(Linear\) expects "
                        r"in_features=2"),
    ("abc", r"X must be a numeric array"),
])
def test_bad_X_fails_clearly_and_changes_nothing(model, bad_X, pattern):
    state = State(model)
    with pytest.raises((ValueError, TypeError), match=pattern):
        interpret_module(model, bad_X, time_budget=5, **FAST)
    state.assert_unchanged()


def test_wrong_width_in_a_custom_module_names_the_shape(exp1_net):
    class Wrapped(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def forward(self, x):
            return self.body(x)

    model = messy_state(Wrapped(copy.deepcopy(exp1_net)))
    state = State(model)
    with pytest.raises(ValueError, match=r"the model failed on X of shape \(20, 5\).*columns"):
        interpret_module(model, np.zeros((20, 5)), time_budget=5, **FAST)
    state.assert_unchanged()


def test_layer_off_the_forward_path(exp1_net, X):
    class PartlyUsed(nn.Module):
        def __init__(self, body):
            super().__init__()
            self.body, self.unused = body, nn.Linear(2, 1)

        def forward(self, x):
            return self.body(x)

    model = messy_state(PartlyUsed(copy.deepcopy(exp1_net)))
    state = State(model)
    with pytest.raises(ValueError, match=r"layer 'unused' was not called"):
        module_gradient_set(model, X, layer="unused")
    state.assert_unchanged()


def test_saturated_network_has_no_band(X):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.ELU(), nn.Linear(8, 1), nn.Sigmoid())
    with torch.no_grad():
        model[2].bias.fill_(50.0)  # logits around 50: sigmoid is 1 - 2e-22 everywhere
    state = State(model)
    with pytest.raises(ValueError, match=r"no point is in the band.*saturated on all 50 points"):
        interpret_module(model, X, time_budget=5, **FAST)
    state.assert_unchanged()


def test_relu_network_warns(exp1_data, warm_search):
    X, y = exp1_data
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 1))
    train(net, X[:1000], y[:1000], bce, epochs=5)
    state = State(net)
    with pytest.warns(UserWarning, match=r"piecewise constant.*nn\.ELU"):
        result = interpret_module(net, X[:300], time_budget=None, max_evals=300, **FAST)
    state.assert_unchanged()
    assert any("piecewise-linear" in n for n in result.notes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a smooth network gives no such warning
        module_gradient_set(nn.Sequential(nn.Linear(2, 4), nn.ELU(), nn.Linear(4, 1)), X[:10])


def test_nan_rows_are_dropped_with_a_warning(model, X):
    bad = X.copy()
    bad[[3, 7], 0] = np.nan
    bad[11, 1] = np.inf
    state = State(model)
    with pytest.warns(UserWarning, match=r"dropped 3 of 50 rows of X"):
        gs = module_gradient_set(model, bad, delta=None)
    state.assert_unchanged()
    assert len(gs) == 47 and np.isfinite(gs.X).all()
    np.testing.assert_array_equal(gs.X, np.delete(X, [3, 7, 11], axis=0))
