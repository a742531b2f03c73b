"""``InterpretCallback``: explain one unit of a Keras model during ``model.fit``.

At the end of training (and every N epochs if asked) the callback computes
the unit's input gradients on the given points, keeps the unsaturated band
when the unit is a classifier logit, runs ``neuroninterp.interpret`` and keeps
the ``Interpretation``. Mistakes in its configuration raise in
``on_train_begin``, before any epoch runs; a failure once training has started
is logged and kept in ``callback.error`` and never stops or undoes training.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

import neuroninterp as ni

from . import _arguments as args
from ._gradients import backend_name, forward, unit_gradients
from ._target import Target, find_layer, has_graph, input_shape, resolve_target
from ._units import UnitSelector

logger = logging.getLogger("neuroninterp_keras")


@dataclass
class _Probe:
    """Everything needed to compute the unit on a batch, resolved once per ``fit``."""

    fn: Callable[[Any], Any]  # input batch -> one scalar per sample
    captured: Callable[[Any], Any]  # input batch -> captured tensor (for the softmax band)
    description: str
    band: str | None  # "binary", "softmax" or None
    class_index: int | None = None


class InterpretCallback(keras.callbacks.Callback):
    """Interpret one unit of the model being trained, as a closed-form formula.

    ``data``: the points (an array ``(n, d)``, or a tuple ``(X, y)`` whose ``X`` is used).
    ``layer``: None for the model's logit (a final sigmoid/softmax is bypassed without
    changing the model), a layer name, or an ``"outer/inner"`` path into nested models
    (a name found exactly once inside nested models also works). ``capture``: the layer's
    ``"output"`` or ``"input"``. ``unit``: an int (index into the flattened per-sample
    tensor), an index tuple, or a callable ``f(tensor) -> (batch,)``. ``unit_fn``: for
    subclassed models, ``unit_fn(model, x) -> (batch,)`` replaces ``layer`` and ``unit``.
    ``every_n_epochs``: also interpret after every N-th epoch; ``at_train_end``: interpret
    when training ends. ``delta``: band filter for classifier logits (None: off).
    ``report_dir``: write report files there (periodic results in ``epoch_<k>/``).
    ``**search_options``: passed to ``neuroninterp.interpret`` (time_budget, seed, ...).

    After ``fit``: ``result`` is the latest ``Interpretation``; ``results`` maps the 0-based
    epoch index (as in Keras' ``on_epoch_end``) to each ``Interpretation``, the end-of-training
    one under the index of the last epoch that ran (-1 if none ran); ``error`` is the last
    failure (None if none).

    >>> cb = InterpretCallback(X, time_budget=15, n_jobs=1)   # doctest: +SKIP
    >>> model.fit(X, y, epochs=20, callbacks=[cb])              # doctest: +SKIP
    >>> print(cb.result.best)                                   # doctest: +SKIP
    x1**2 + 2*x2**2
    """

    def __init__(
        self,
        data: Any,
        layer: str | None = None,
        unit: int | tuple[int, ...] | Callable[[Any], Any] = 0,
        capture: str = "output",
        every_n_epochs: int | None = None,
        at_train_end: bool = True,
        delta: float | None = 1e-4,
        report_dir: Any = None,
        feature_names: Sequence[str] | None = None,
        unit_fn: Callable[[Any, Any], Any] | None = None,
        verbose: bool = True,
        **search_options: Any,
    ) -> None:
        super().__init__()
        self.X = args.data_matrix(data)
        self.feature_names = args.feature_names(feature_names, self.X.shape[1])
        if layer is not None and (not isinstance(layer, str) or not layer):
            raise TypeError(f"layer must be None, a layer name or an 'outer/inner' path, got {layer!r}")
        self.layer = layer
        self.capture = args.capture_kind(capture)
        self.unit = unit
        self._selector = UnitSelector.from_argument(unit)
        if unit_fn is not None:
            if not callable(unit_fn):
                raise TypeError(f"unit_fn must be a callable (model, x) -> (batch,), got {unit_fn!r}")
            if layer is not None:
                raise ValueError(
                    f"pass either layer= ({layer!r}) or unit_fn=, not both: unit_fn computes the "
                    "unit from the model input by itself"
                )
            if not (isinstance(unit, int) and not isinstance(unit, bool) and unit == 0):
                raise ValueError(
                    f"unit={unit!r} selects from a layer's tensor; with unit_fn=, return the one "
                    "scalar per sample from unit_fn instead"
                )
        self.unit_fn = unit_fn
        self.every_n_epochs = args.schedule(every_n_epochs, at_train_end)
        self.at_train_end = at_train_end
        self.delta = args.band_delta(delta)
        self.report_dir = args.report_directory(report_dir)
        self.verbose = bool(verbose)
        ni.SearchOptions.from_kwargs(search_options)  # unknown or bad options fail here
        self.search_options = dict(search_options)
        self.result: ni.Interpretation | None = None
        self.results: dict[int, ni.Interpretation] = {}
        self.error: Exception | None = None
        self._probe: _Probe | None = None
        self._last_epoch = -1
        self._logged: set[str] = set()

    # -- Keras hooks -----------------------------------------------------------------
    def on_train_begin(self, logs: dict | None = None) -> None:
        """Resolve the unit and check the whole configuration on two data rows."""
        self.result, self.results, self.error = None, {}, None
        self._last_epoch = -1
        model = self.model
        if _fully_built(model):
            self._probe = self._resolve(model)
            self._dry_run(self._probe)
        else:  # e.g. tensorflow builds subclassed models in the first step: check names only
            backend_name()
            if self.unit_fn is None and self.layer is not None:
                find_layer(model, self.layer)
            self._probe = None  # resolved at the first interpretation, on the trained model

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._last_epoch = int(epoch)
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self._interpret_safely(int(epoch), final=False)

    def on_train_end(self, logs: dict | None = None) -> None:
        try:
            if self.at_train_end:
                if self._last_epoch in self.results:  # the weights were interpreted already
                    self.result = self.results[self._last_epoch]
                    try:
                        self._save(self.result, final=True)
                    except Exception as err:  # noqa: BLE001 - never disturb training
                        self._fail(err, "the end of training")
                else:
                    self._interpret_safely(self._last_epoch, final=True)
        finally:
            self._probe = None  # drop the sub-models; nothing stays attached to the model

    # -- resolving the unit -------------------------------------------------------------
    def _resolve(self, model: Any) -> _Probe:
        backend_name()  # fails clearly on an unsupported backend
        d = self.X.shape[1]
        if has_graph(model):
            shape = input_shape(model)
            if shape is not None and len(shape) != 1:
                raise ValueError(
                    f"model {model.name!r} takes inputs of per-sample shape {shape}; "
                    "neuroninterp_keras interprets models on flat feature vectors (n, d)"
                )
            if shape is not None and shape[0] is not None and int(shape[0]) != d:
                raise ValueError(
                    f"data has {d} features per point (shape {self.X.shape}) but model "
                    f"{model.name!r} expects inputs of width {int(shape[0])}; pass data with "
                    f"{int(shape[0])} columns"
                )
        if self.unit_fn is not None:
            unit_fn = self.unit_fn
            name = getattr(unit_fn, "__name__", type(unit_fn).__name__)
            fn = lambda x: unit_fn(model, x)  # noqa: E731
            return _Probe(fn, fn, f"unit_fn {name} of model {model.name!r}", None)
        target = resolve_target(model, self.layer, self.capture)
        selector = self._selector
        selector.check(target.shape, target.where)
        band, class_index = self._band_of(target, selector)
        return _Probe(lambda x: selector.select(target.fn(x)), target.fn,
                      f"{selector.describe()} of {target.where}", band, class_index)

    def _band_of(self, target: Target, selector: UnitSelector) -> tuple[str | None, int | None]:
        """Which band filter applies: sigmoid logits use the core's band; one class logit
        of a softmax head keeps the points where that class's probability is unsaturated."""
        if target.logit is None or not selector.is_index:
            return None, None
        if target.logit == "binary":
            return "binary", None
        index = selector.index
        if isinstance(index, tuple) and len(index) == 1:
            index = index[0]
        if isinstance(index, int) and target.shape is not None and len(target.shape) == 1:
            k = target.shape[0]
            return "softmax", (index % int(k) if k is not None else index)
        return None, None

    def _dry_run(self, probe: _Probe) -> None:
        """Compute the unit on two rows: any mistake shows up before training starts.
        Only run on a built model, so that the data never decides the model's shapes."""
        try:
            unit_gradients(probe.fn, self.X[:2])
        except Exception as err:  # noqa: BLE001 - any failure here is a configuration error
            raise ValueError(
                f"neuroninterp_keras could not compute {probe.description} for data of shape "
                f"{self.X.shape} (tried the first 2 rows): {type(err).__name__}: {err}"
            ) from err

    # -- interpreting -------------------------------------------------------------------
    def _interpret_safely(self, epoch: int, final: bool) -> None:
        when = "the end of training" if final else f"epoch {epoch + 1}"
        try:
            result = self._interpret(epoch, when)
            self._save(result, final)
        except Exception as err:  # noqa: BLE001 - training must go on whatever happens here
            self._fail(err, when)
            return
        self.results[epoch] = result
        self.result = result

    def _fail(self, err: Exception, when: str) -> None:
        """Keep the failure in ``error`` and log it (each distinct message once)."""
        self.error = err
        message = (f"neuroninterp_keras: interpreting at {when} failed, training is not "
                   f"affected: {type(err).__name__}: {err}")
        if message not in self._logged:
            self._logged.add(message)
            logger.warning(message)

    def _interpret(self, epoch: int, when: str) -> ni.Interpretation:
        probe = self._probe if self._probe is not None else self._resolve(self.model)
        self._probe = probe
        X = self.X
        values, grads = unit_gradients(probe.fn, X)
        description = f"{probe.description}, at {when}"
        note = None
        if probe.band == "softmax" and self.delta is not None:
            keep = self._softmax_band(probe, X)
            note = (f"{int(keep.sum())} of {len(X)} points are in the unsaturated band "
                    f"(delta={self.delta:g} on the probability of class {probe.class_index})")
            X, values, grads = X[keep], values[keep], grads[keep]
        gs = ni.GradientSet(X, grads, values, self.feature_names,
                            is_logit=probe.band is not None, description=description)
        if probe.band == "binary" and self.delta is not None:
            gs = gs.band(self.delta)
            note = (f"{len(gs)} of {len(X)} points are in the unsaturated band "
                    f"(delta={self.delta:g})")
        if self.verbose:
            print(f"neuroninterp_keras: interpreting {description} on {len(gs)} points")
        result = ni.interpret(gs, **self.search_options)
        if note:
            result.notes.append(note)
        if self.verbose:
            result.report()
        return result

    def _softmax_band(self, probe: _Probe, X: np.ndarray) -> np.ndarray:
        logits = forward(probe.captured, X).reshape(len(X), -1)
        k = probe.class_index
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z[:, k]) / np.exp(z).sum(axis=1)
        delta = float(self.delta)  # type: ignore[arg-type]
        keep = (p >= delta) & (p <= 1 - delta)
        if not keep.any():
            raise ValueError(
                f"no point is in the band delta={delta:g}: the probability of class {k} is "
                f"saturated on all {len(X)} points (range {p.min():.3g} .. {p.max():.3g}). Add "
                "points near the decision boundary, or use a larger delta, or delta=None."
            )
        return keep

    def _save(self, result: ni.Interpretation, final: bool) -> None:
        if self.report_dir is None:
            return
        directory = self.report_dir if final else self.report_dir / f"epoch_{self._last_epoch}"
        result.save_report(directory)


def _fully_built(model: Any) -> bool:
    """True when the model and all its layers have weights (calling it builds nothing)."""
    if not getattr(model, "built", False):
        return False
    flatten = getattr(model, "_flatten_layers", None)
    return flatten is None or all(layer.built for layer in flatten())
