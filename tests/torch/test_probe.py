"""NeuronProbe: collecting a unit's gradients during a training loop without
disturbing it, then interpreting them."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from torch_helpers import FAST, State, bce, elu_mlp, train  # noqa: E402

from neuroninterp.experiments import EXPERIMENTS, equivalent  # noqa: E402
from neuroninterp_torch import NeuronProbe  # noqa: E402


def test_probe_during_training_finds_experiment_1(exp1_data, warm_search):
    X, y = exp1_data
    net = elu_mlp(2, 1)
    model = nn.Sequential(net, nn.Sigmoid())  # trained through the logit, probed behind a sigmoid
    checked = []

    with NeuronProbe(model, max_rows=2000, seed=0) as probe:
        def on_step(epoch, step, xb):
            if epoch >= 45 and step % 3 == 0:
                # after optimizer.step(): grads present, train mode, RNG mid-stream
                before = State(model)
                rng = torch.get_rng_state()
                probe.collect(xb)
                before.assert_unchanged()
                assert torch.equal(torch.get_rng_state(), rng)
                checked.append(len(xb))

        train(net, X, y, lambda o, t: bce(o, t), epochs=60, on_step=on_step)
        assert probe.attached and len(probe) == min(2000, sum(checked))
        assert probe.reservoir.n_seen == sum(checked)
        result = probe.interpret(time_budget=15, **FAST)
    assert not probe.attached
    assert all(not m._forward_hooks for m in model.modules())

    exp = EXPERIMENTS[1]
    gs = result.gradient_set
    assert gs.is_logit and len(gs) > 100
    ok, frac, _ = equivalent(result.best.expr, exp.expr, exp.names, gs.X, cosine=0.999,
                             fraction=0.95)
    assert ok, (str(result.best), frac)
    assert any("Collected during training" in n for n in result.notes)


def test_probe_between_backward_and_step_keeps_gradients(exp1_net, exp1_data):
    """Collecting after loss.backward() leaves the parameter gradients for the optimizer."""
    X, y = exp1_data
    model = copy.deepcopy(exp1_net).train()
    model.insert(2, nn.Dropout(0.2))
    xb = torch.tensor(X[:64], dtype=torch.float32)
    bce(model(xb), torch.tensor(y[:64])).backward()
    grads = [p.grad.clone() for p in model.parameters()]
    probe = NeuronProbe(model, delta=None)
    state = State(model)
    probe.collect(xb)
    state.assert_unchanged()
    assert model.training and model[2].training
    for p, g in zip(model.parameters(), grads):
        assert torch.equal(p.grad, g)
    # the collected values are the eval-mode logits (no dropout)
    with torch.no_grad():
        logits = model.eval()(xb)[:, 0].double().numpy()
    np.testing.assert_allclose(probe.gradient_set().values, logits, rtol=1e-5, atol=1e-6)
    probe.remove()


def test_probe_memory_is_bounded(exp1_net, exp1_data):
    X = exp1_data[0]
    with NeuronProbe(exp1_net, max_rows=250, seed=1) as probe:
        for i in range(0, 1000, 100):
            probe.collect(X[i:i + 100])
    assert len(probe) == 250 and probe.reservoir.n_seen == 1000
    probe.reset()
    assert len(probe) == 0
    with pytest.raises(RuntimeError, match="removed"):
        probe.collect(X[:10])
    with pytest.raises(ValueError, match="collected nothing"):
        probe.gradient_set()


def test_probe_hooks_are_removed_on_errors(exp1_net, exp1_data):
    model = copy.deepcopy(exp1_net)
    state = State(model)
    with pytest.raises(ValueError, match=r"unit=3 is out of range"):
        with NeuronProbe(model, unit=3) as probe:
            probe.collect(exp1_data[0][:10])
    state.assert_unchanged()
    with pytest.raises(ValueError, match="valid layer names"):
        NeuronProbe(model, layer="nope")
    state.assert_unchanged()


def test_probe_rejects_unknown_search_options(exp1_net, exp1_data):
    with NeuronProbe(exp1_net) as probe:
        probe.collect(exp1_data[0][:100])
        with pytest.raises(TypeError, match="unknown search option.*time_limit"):
            probe.interpret(time_limit=5)
