"""InterpretCallback on a real lightning.pytorch Trainer: a result after fit,
periodic results, and failures that never break training."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pl = pytest.importorskip("lightning.pytorch")
nn = torch.nn

from torch_helpers import FAST, elu_mlp  # noqa: E402

from neuroninterp_torch.lightning import InterpretCallback  # noqa: E402


class Classifier(pl.LightningModule):
    def __init__(self):
        super().__init__()
        self.net = elu_mlp(2, 1, width=32)

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, _):
        x, y = batch
        return nn.functional.binary_cross_entropy_with_logits(self(x)[:, 0], y)

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=3e-3)


def loader(X, y):
    data = torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32),
                                          torch.tensor(y, dtype=torch.float32))
    return torch.utils.data.DataLoader(data, batch_size=100, shuffle=True)


def trainer(callback, epochs):
    return pl.Trainer(max_epochs=epochs, callbacks=[callback], enable_progress_bar=False,
                      logger=False, enable_checkpointing=False, enable_model_summary=False,
                      accelerator="cpu", devices=1)


def test_callback_interprets_after_fit(exp1_data, tmp_path, warm_search, capsys):
    X, y = exp1_data
    X, y = X[:2000], y[:2000]
    cb = InterpretCallback(loader(X[:1000], y[:1000]), every_n_epochs=2, report_dir=tmp_path,
                           time_budget=4, **FAST)
    pl.seed_everything(0)
    module = Classifier()
    trainer(cb, epochs=3).fit(module, loader(X, y))
    assert cb.error is None, cb.error
    assert sorted(cb.results) == [1, 2]  # after epoch 1 (every 2nd) and at the end (epoch 2)
    assert cb.result is cb.results[2] and cb.result.front
    assert cb.result.gradient_set.n_features == 2
    assert (tmp_path / "report.json").exists() and (tmp_path / "epoch_001" / "report.json").exists()
    assert capsys.readouterr().out.count("Pareto") == 2  # each report was printed
    assert module.training  # the module's mode is as Lightning left it


def test_failure_inside_the_callback_does_not_break_fit(exp1_data):
    X, y = exp1_data
    X, y = X[:1000], y[:1000]
    cb = InterpretCallback(X[:, :1], time_budget=4, **FAST)  # wrong width: fails at interpretation
    pl.seed_everything(0)
    module = Classifier()
    before = [p.detach().clone() for p in module.parameters()]
    with pytest.warns(RuntimeWarning, match=r"could not interpret.*X of shape \(1000, 1\)"):
        fitted = trainer(cb, epochs=2)
        fitted.fit(module, loader(X, y))
    assert fitted.state.finished and fitted.current_epoch == 2
    assert isinstance(cb.error, ValueError) and cb.result is None and cb.results == {}
    assert any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))  # it trained
    with torch.no_grad():
        out = module(torch.tensor(X[:5], dtype=torch.float32))
    assert out.shape == (5, 1) and torch.isfinite(out).all()


def test_configuration_errors_raise_before_training(exp1_data):
    X, y = exp1_data
    with pytest.raises(TypeError, match="unknown search option"):
        InterpretCallback(X, time_limit=3)
    with pytest.raises(ValueError, match="every_n_epochs must be"):
        InterpretCallback(X, every_n_epochs=0)
    with pytest.raises(TypeError, match="unit must be"):
        InterpretCallback(X, unit="logit")
    cb = InterpretCallback(X, layer="net.9", **FAST)
    module = Classifier()
    before = [p.detach().clone() for p in module.parameters()]
    with pytest.raises(ValueError, match=r"layer='net.9' is not a module.*'net.0'"):
        trainer(cb, epochs=1).fit(module, loader(X[:200], y[:200]))
    assert all(torch.equal(a, b) for a, b in zip(before, module.parameters()))  # no step taken
