"""Tests of neuroninterp_keras.InterpretCallback on the backend named by KERAS_BACKEND.

Not collected by default (the file name does not start with ``test_``):
``tests/keras/test_backends.py`` runs this module once per backend, each in its
own process, because Keras picks its backend at import. To run one backend by
hand: ``KERAS_BACKEND=jax python -m pytest tests/keras/keras_suite.py -q``.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from keras import layers  # noqa: E402

from neuroninterp.experiments import EXPERIMENTS, equivalent  # noqa: E402
from neuroninterp_keras import InterpretCallback  # noqa: E402

BACKEND = keras.backend.backend()
REPO = Path(__file__).resolve().parents[2]
FAST = dict(time_budget=4, n_jobs=1, progress=False, seed=0)  # linear units stop early
EXP1 = EXPERIMENTS[1]

# One thread per framework: the test machine has few cores and is shared.
if BACKEND == "torch":
    import torch

    torch.set_num_threads(1)
elif BACKEND == "tensorflow":
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)


# -- helpers -------------------------------------------------------------------------
def exp1_data(n: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    X = EXP1.sample(n, seed=seed)
    return X.astype("float32"), EXP1.labels(X, seed=seed + 1).astype("float32")


def elu_classifier(width: int = 16, name: str = "clf") -> keras.Model:
    return keras.Sequential(
        [keras.Input((2,)), layers.Dense(width, activation="elu", name="hidden1"),
         layers.Dense(width, activation="elu", name="hidden2"),
         layers.Dense(1, activation="sigmoid", name="out")], name=name)


def compiled(model: keras.Model, lr: float = 0.01) -> keras.Model:
    # run_eagerly: these fits take a few steps; tracing/compiling them would cost more
    model.compile(keras.optimizers.Adam(lr), "binary_crossentropy", run_eagerly=True)
    return model


def weights(model: keras.Model) -> list[np.ndarray]:
    return [np.array(w) for w in model.get_weights()]


def same_weights(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


def unit_direction(kernel: np.ndarray, k: int) -> np.ndarray:
    w = np.asarray(kernel)[:, k]
    return w / np.linalg.norm(w)


class EpochCounter(keras.callbacks.Callback):
    def __init__(self) -> None:
        super().__init__()
        self.epochs = 0

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epochs += 1


# -- the method on a trained network -------------------------------------------------------
@pytest.mark.slow
def test_experiment_1_network_is_read_as_the_truth():
    keras.utils.set_random_seed(0)
    X, y = exp1_data(4000)
    model = keras.Sequential([keras.Input((2,)), layers.Dense(32, activation="elu"),
                              layers.Dense(32, activation="elu"),
                              layers.Dense(1, activation="sigmoid")])
    epochs, batch = 40, 128
    schedule = keras.optimizers.schedules.CosineDecay(0.01, epochs * (len(X) // batch + 1),
                                                      alpha=0.01)
    model.compile(keras.optimizers.Adam(schedule), "binary_crossentropy")
    cb = InterpretCallback((X, y), max_evals=30000, time_budget=120, n_jobs=1, progress=False, seed=3,
                           verbose=False)
    history = model.fit(X, y, epochs=epochs, batch_size=batch, verbose=0, callbacks=[cb])
    assert len(history.history["loss"]) == epochs
    assert cb.error is None, cb.error
    assert list(cb.results) == [epochs - 1] and cb.results[epochs - 1] is cb.result
    gs = cb.result.gradient_set
    assert gs.is_logit and 200 < len(gs) < len(X)  # the band filter dropped saturated points
    assert "sigmoid" in cb.result.description and "bypassed" in cb.result.description
    ok, passing, ops = equivalent(cb.result.best.expr, EXP1.expr, EXP1.names, gs.X,
                                  cosine=0.999, fraction=0.95)
    assert ok, (str(cb.result.best), passing, ops)


# -- the logit: bypassing the final activation -------------------------------------------
def _logit(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64).reshape(-1)
    return np.log(p) - np.log1p(-p)


def test_final_dense_sigmoid_is_bypassed_to_the_logit():
    keras.utils.set_random_seed(1)
    X, y = exp1_data(400)
    model = compiled(elu_classifier())
    cb = InterpretCallback(X, **FAST, verbose=False, max_evals=2000)
    model.fit(X, y, epochs=2, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    gs = cb.result.gradient_set
    p = model.predict(gs.X, verbose=0)
    mid = (np.abs(_logit(p)) < 5)
    assert mid.sum() > 50
    np.testing.assert_allclose(gs.values[mid], _logit(p)[mid], atol=2e-3)
    assert model.get_layer("out").activation is keras.activations.sigmoid  # untouched


def test_sigmoid_inside_a_wrapped_model_is_bypassed():
    """A functional model whose output layer is a whole Sequential classifier: the search for
    the final activation goes into the nested model."""
    keras.utils.set_random_seed(1)
    X, y = exp1_data(300)
    clf = elu_classifier(8, name="clf")
    inp = keras.Input((2,))
    model = compiled(keras.Model(inp, clf(inp), name="wrapper"))
    cb = InterpretCallback(X, **FAST, verbose=False, max_evals=1000)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    assert "'clf/out'" in cb.result.description and cb.result.gradient_set.is_logit
    p = model.predict(cb.result.gradient_set.X, verbose=0)
    mid = np.abs(_logit(p)) < 5
    np.testing.assert_allclose(cb.result.gradient_set.values[mid], _logit(p)[mid], atol=2e-3)


def test_linear_output_trained_on_logits_gets_the_band():
    keras.utils.set_random_seed(2)
    X, y = exp1_data(300)
    model = keras.Sequential([keras.Input((2,)), layers.Dense(8, activation="elu"),
                              layers.Dense(1, name="logit")])
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.BinaryCrossentropy(from_logits=True), run_eagerly=True)
    cb = InterpretCallback(X, **FAST, verbose=False, max_evals=1000)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    gs = cb.result.gradient_set
    assert gs.is_logit and "logits" in cb.result.description
    np.testing.assert_allclose(gs.values, model.predict(gs.X, verbose=0).reshape(-1),
                               rtol=1e-5, atol=1e-5)


def test_separate_activation_layer_is_bypassed():
    keras.utils.set_random_seed(2)
    X, y = exp1_data(400)
    inp = keras.Input((2,))
    h = layers.Dense(8, activation="elu", name="h")(inp)
    z = layers.Dense(1, name="z")(h)
    out = layers.Activation("sigmoid", name="squash")(z)
    model = compiled(keras.Model(inp, out, name="fn_model"))
    cb = InterpretCallback(X, **FAST, verbose=False, max_evals=2000)
    model.fit(X, y, epochs=2, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    gs = cb.result.gradient_set
    logits = keras.ops.convert_to_numpy(keras.Model(inp, z)(gs.X.astype("float32")))
    np.testing.assert_allclose(gs.values, logits.reshape(-1), rtol=1e-5, atol=1e-5)
    assert "squash" in cb.result.description


def test_softmax_head_interprets_one_class_logit_with_a_probability_band():
    keras.utils.set_random_seed(3)
    X, _ = exp1_data(400)
    y = np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5]).astype("int32")  # three classes
    model = keras.Sequential([keras.Input((2,)), layers.Dense(8, activation="elu"),
                              layers.Dense(3, activation="softmax", name="probs")])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy",
                  run_eagerly=True)
    cb = InterpretCallback(X, unit=2, delta=0.01, **FAST, verbose=False, max_evals=2000)
    model.fit(X, y, epochs=3, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    gs = cb.result.gradient_set
    p2 = model.predict(gs.X, verbose=0)[:, 2]
    assert ((p2 >= 0.01 - 1e-4) & (p2 <= 0.99 + 1e-4)).all()
    assert "softmax" in cb.result.description and "unit 2" in cb.result.description
    assert any("class 2" in note for note in cb.result.notes)


# -- hidden layers, nested models, subclassed models ------------------------------------
def test_hidden_layer_unit_is_interpreted_and_named():
    keras.utils.set_random_seed(4)
    X, y = exp1_data(500)
    model = compiled(elu_classifier())
    cb = InterpretCallback(X, layer="hidden1", unit=3, **FAST, verbose=False)
    model.fit(X, y, epochs=2, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    result = cb.result
    assert result.front and result.best is not None
    assert result.best.mean_cosine > 0.999  # ELU(w.x + b) has the direction of w everywhere
    assert "hidden1" in result.description and "unit 3" in result.description
    kernel = model.get_layer("hidden1").get_weights()[0]
    np.testing.assert_allclose(result.gradient_set.gradients,
                               np.broadcast_to(unit_direction(kernel, 3), (len(X), 2)),
                               atol=1e-4)
    assert not result.gradient_set.is_logit  # no band filter on a hidden unit
    assert len(result.gradient_set) == len(X)


def test_capture_input_of_a_layer():
    keras.utils.set_random_seed(5)
    X, y = exp1_data(300)
    model = compiled(elu_classifier())
    cb = InterpretCallback(X, layer="hidden2", capture="input", unit=(5,), **FAST,
                           verbose=False)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    kernel = model.get_layer("hidden1").get_weights()[0]  # hidden2's input is hidden1's output
    np.testing.assert_allclose(cb.result.gradient_set.gradients[0], unit_direction(kernel, 5),
                               atol=1e-4)
    assert "input of layer 'hidden2'" in cb.result.description


def _nested_model() -> tuple[keras.Model, keras.Model]:
    inner = keras.Sequential([keras.Input((2,)), layers.Dense(6, activation="elu", name="d1"),
                              layers.Dense(4, activation="elu", name="d2")], name="inner")
    inp = keras.Input((2,), name="x")
    h = inner(inp)
    out = layers.Dense(1, activation="sigmoid", name="head")(h)
    return compiled(keras.Model(inp, out, name="outer")), inner


@pytest.mark.parametrize("layer", ["inner/d1", "d1"])
def test_layer_inside_a_nested_model_by_path_or_unique_name(layer):
    keras.utils.set_random_seed(6)
    X, y = exp1_data(300)
    model, inner = _nested_model()
    cb = InterpretCallback(X, layer=layer, unit=2, **FAST, verbose=False)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    assert "inner/d1" in cb.result.description
    kernel = inner.get_layer("d1").get_weights()[0]
    np.testing.assert_allclose(cb.result.gradient_set.gradients[:5],
                               np.broadcast_to(unit_direction(kernel, 2), (5, 2)), atol=1e-4)
    assert cb.result.best.mean_cosine > 0.999


def test_layer_after_a_nested_model():
    """The second nested layer sees the first one's output: a curved unit, checked against
    finite differences of the nested layer computed by hand."""
    keras.utils.set_random_seed(7)
    X, y = exp1_data(200)
    model, inner = _nested_model()
    cb = InterpretCallback(X, layer="inner/d2", unit=1, **FAST, verbose=False, max_evals=1000)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    probe = keras.Model(inner.inputs, inner.get_layer("d2").output)
    eps = 1e-2
    x0 = X[:20].astype(np.float64)
    fd = np.stack([
        (keras.ops.convert_to_numpy(probe((x0 + eps * e).astype("float32")))[:, 1]
         - keras.ops.convert_to_numpy(probe((x0 - eps * e).astype("float32")))[:, 1]) / (2 * eps)
        for e in np.eye(2)], axis=1)
    fd /= np.linalg.norm(fd, axis=1, keepdims=True)
    cos = np.sum(fd * cb.result.gradient_set.gradients[:20], axis=1)
    assert (cos > 0.999).all(), cos


class TwoLayerNet(keras.Model):
    """A subclassed model: no layer graph, so layers are reached through unit_fn."""

    def __init__(self) -> None:
        super().__init__()
        self.hidden = layers.Dense(8, activation="elu")
        self.logit = layers.Dense(1)

    def call(self, x, training=False):
        return keras.ops.sigmoid(self.logit(self.hidden(x)))


def test_subclassed_model_with_unit_fn():
    keras.utils.set_random_seed(8)
    X, y = exp1_data(300)
    model = compiled(TwoLayerNet())

    def first_hidden_unit(m, x):
        return m.hidden(x)[:, 4]

    cb = InterpretCallback(X, unit_fn=first_hidden_unit, **FAST, verbose=False)
    model.fit(X, y, epochs=1, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    kernel = model.hidden.get_weights()[0]
    np.testing.assert_allclose(cb.result.gradient_set.gradients[:5],
                               np.broadcast_to(unit_direction(kernel, 4), (5, 2)), atol=1e-4)
    assert "first_hidden_unit" in cb.result.description
    assert cb.result.best.mean_cosine > 0.999


def test_subclassed_model_rejects_a_layer_name_before_training():
    X, y = exp1_data(100)
    model = compiled(TwoLayerNet())
    cb = InterpretCallback(X, layer="hidden", **FAST)
    with pytest.raises(ValueError, match="unit_fn"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[cb])


# -- schedule and report files ---------------------------------------------------------------
def test_every_n_epochs_and_report_files(tmp_path):
    keras.utils.set_random_seed(9)
    X, y = exp1_data(300)
    model = compiled(elu_classifier())
    cb = InterpretCallback(X, layer="hidden1", unit=0, every_n_epochs=2, report_dir=tmp_path,
                           **FAST, verbose=False)
    model.fit(X, y, epochs=5, batch_size=64, verbose=0, callbacks=[cb])
    assert cb.error is None, cb.error
    assert sorted(cb.results) == [1, 3, 4]  # after epochs 2 and 4, and at the end (index 4)
    assert cb.result is cb.results[4]
    assert (tmp_path / "epoch_1" / "report.json").exists()
    assert (tmp_path / "epoch_3" / "report.json").exists()
    assert (tmp_path / "report.json").exists()
    # the kernel moved between epochs, and each result saw the weights of its own epoch
    d1 = cb.results[1].gradient_set.gradients[0]
    d4 = cb.results[4].gradient_set.gradients[0]
    assert not np.allclose(d1, d4, atol=1e-6)
    np.testing.assert_allclose(d4, unit_direction(model.get_layer("hidden1").get_weights()[0], 0),
                               atol=1e-4)


# -- failures after training started --------------------------------------------------------
def test_failure_after_training_keeps_history_and_weights(caplog):
    keras.utils.set_random_seed(10)
    X, y = exp1_data(500)
    model = compiled(elu_classifier(), lr=0.03)
    far = EXP1.sample(200, seed=5) * 200.0  # the truth is huge there: the logit saturates
    cb = InterpretCallback(far, **FAST, verbose=False)
    snapshot: list = []
    before_ours = keras.callbacks.LambdaCallback(
        on_train_end=lambda logs: snapshot.append(weights(model)))
    with caplog.at_level(logging.WARNING, logger="neuroninterp_keras"):
        history = model.fit(X, y, epochs=3, batch_size=64, verbose=0,
                            callbacks=[before_ours, cb])
    assert isinstance(history, keras.callbacks.History)
    assert len(history.history["loss"]) == 3
    assert all(np.isfinite(history.history["loss"]))
    assert same_weights(weights(model), snapshot[0])
    assert cb.result is None and cb.results == {}
    assert isinstance(cb.error, ValueError) and "band" in str(cb.error)
    logged = [r for r in caplog.records if r.name == "neuroninterp_keras"]
    assert len(logged) == 1 and "training is not affected" in logged[0].getMessage()
    assert model.predict(X[:5], verbose=0).shape == (5, 1)  # the model still works


# -- configuration errors raise before the first epoch ----------------------------------------
@pytest.mark.parametrize(
    "kwargs, data_width, message",
    [
        (dict(layer="hiden1"), 2, r"no layer 'hiden1'.*\['hidden1', 'hidden2', 'out'\]"),
        (dict(layer="hidden1", unit=16), 2, r"unit=16 is out of range.*0\.\.15"),
        (dict(layer="hidden1", unit=(0, 1)), 2, r"unit=\(0, 1\) has 2 indices"),
        (dict(), 3, r"data has 3 features.*width 2"),
        (dict(layer="hidden1", unit=lambda t: t), 2, r"one scalar per sample"),
    ],
    ids=["unknown-layer", "unit-out-of-range", "index-tuple-too-long", "wrong-width",
         "unit-callable-shape"],
)
def test_configuration_errors_raise_before_any_epoch(kwargs, data_width, message):
    keras.utils.set_random_seed(11)
    X, y = exp1_data(100)
    model = compiled(elu_classifier())
    model(X[:2])  # build, so that the weights can be compared
    w0 = weights(model)
    counter = EpochCounter()
    data = np.hstack([X, X[:, :1]]) if data_width == 3 else X
    cb = InterpretCallback(data, **kwargs, **FAST)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y, epochs=2, verbose=0, callbacks=[cb, counter])
    assert counter.epochs == 0
    assert same_weights(weights(model), w0)


def test_wrong_width_on_a_subclassed_model_fails_in_the_dry_run():
    X, y = exp1_data(100)
    model = compiled(TwoLayerNet())
    model(X[:2])  # built: the dry run can check the data
    counter = EpochCounter()
    cb = InterpretCallback(np.ones((10, 5)), **FAST)
    with pytest.raises(ValueError, match=r"data of shape \(10, 5\)"):
        model.fit(X, y, epochs=1, verbose=0, callbacks=[cb, counter])
    assert counter.epochs == 0


def test_an_unbuilt_model_is_not_built_by_the_callback(caplog):
    """Wrong-width data must not decide the model's input width. Torch and jax build the
    model before on_train_begin (the error is raised there); tensorflow builds it in the
    first step, so the mistake can only be found after training (logged, kept in error)."""
    X, y = exp1_data(100)
    model = compiled(TwoLayerNet())
    cb = InterpretCallback(np.ones((10, 5)), **FAST)
    with caplog.at_level(logging.WARNING, logger="neuroninterp_keras"):
        try:
            history = model.fit(X, y, epochs=2, verbose=0, callbacks=[cb])
        except ValueError as err:
            assert "data of shape (10, 5)" in str(err)
            assert BACKEND != "tensorflow"
        else:
            assert len(history.history["loss"]) == 2
            assert cb.error is not None and cb.result is None
    assert tuple(model.hidden.kernel.shape) == (2, 8)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(time_budgt=5), TypeError, r"unknown search option.*time_budgt.*time_budget"),
        (dict(time_budget=-1), ValueError, r"time_budget must be"),
        (dict(capture="middle"), ValueError, r"capture must be 'output' or 'input'"),
        (dict(delta=0.7), ValueError, r"delta must be"),
        (dict(every_n_epochs=0), ValueError, r"every_n_epochs"),
        (dict(unit="first"), TypeError, r"unit must be"),
        (dict(layer="a", unit_fn=lambda m, x: x[:, 0]), ValueError, r"either layer"),
        (dict(feature_names=["a"]), ValueError, r"feature_names has 1 names"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs, error, message):
    X, _ = exp1_data(10)
    with pytest.raises(error, match=message):
        InterpretCallback(X, **kwargs)


@pytest.mark.parametrize(
    "data, message",
    [(np.zeros(5), r"2-D.*reshape"), (np.array([[0.0, np.nan], [1.0, 2.0]]), r"nan or inf"),
     (["a", "b"], r"numeric")],
)
def test_bad_data_fails_at_construction(data, message):
    with pytest.raises((ValueError, TypeError), match=message):
        InterpretCallback(data)


# -- the model is left as it was --------------------------------------------------------------
def _layer_state(model: keras.Model) -> list:
    out = []
    for layer in model._flatten_layers(include_self=True):
        out.append((layer.name, sorted(vars(layer)), len(getattr(layer, "_inbound_nodes", [])),
                    getattr(layer, "activation", None)))
    return out


def _torch_grads(model: keras.Model) -> list[np.ndarray]:
    if BACKEND != "torch":
        return []
    return [np.array(v.value.grad) if v.value.grad is not None else np.zeros(0)
            for v in model.trainable_variables]


@pytest.mark.parametrize("kind", ["sequential", "nested"])
def test_interpretation_does_not_change_the_model(kind):
    keras.utils.set_random_seed(12)
    X, y = exp1_data(300)
    if kind == "sequential":
        model, layer = compiled(elu_classifier()), None
    else:
        model, layer = _nested_model()[0], "inner/d2"
    model.fit(X, y, epochs=1, batch_size=64, verbose=0)
    p0 = model.predict(X, verbose=0)
    w0, state0, grads0 = weights(model), _layer_state(model), _torch_grads(model)
    cb = InterpretCallback(X, layer=layer, **FAST, verbose=False, max_evals=2000)
    cb.set_model(model)  # the Keras callback protocol, as fit drives it
    cb.on_train_begin()
    cb.on_epoch_end(0)
    cb.on_train_end()
    assert cb.error is None, cb.error
    assert cb.result is not None
    assert same_weights(weights(model), w0)
    assert _layer_state(model) == state0
    np.testing.assert_array_equal(model.predict(X, verbose=0), p0)
    assert model.get_layer("out" if kind == "sequential" else "head").activation \
        is keras.activations.sigmoid
    assert same_weights(_torch_grads(model), grads0)  # no gradient left on the weights


@pytest.mark.parametrize("verbose", [True, False])
def test_report_is_printed_only_when_verbose(capsys, verbose):
    keras.utils.set_random_seed(13)
    X, y = exp1_data(200)
    model = compiled(elu_classifier())
    cb = InterpretCallback(X, layer="hidden1", unit=1, verbose=verbose, **FAST)
    model.fit(X, y, epochs=1, verbose=0, callbacks=[cb])
    out = capsys.readouterr().out
    line = "neuroninterp_keras: interpreting unit 1 of the output of layer 'hidden1'"
    assert (line in out) is verbose
    assert (len(out) > len(line) + 100) is verbose  # the report follows the line


# -- the example script -------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NEURONINTERP_KERAS_EXAMPLE") != "1",
                    reason="the example runs under one backend only (set by test_backends.py)")
def test_example_exp3_quick_runs(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "examples" / "exp3_keras.py"), "--quick",
         "--report-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env={**os.environ, "KERAS_BACKEND": BACKEND},
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "validation accuracy" in output
    assert "T(x) =" in output or "best formula" in output
    assert (tmp_path / "report.json").exists()
