"""A Lightning callback that interprets a unit at the end of ``Trainer.fit``
(and optionally every N epochs).

Lightning is imported here only, never by ``neuroninterp_torch`` itself.
Configuration errors raise at once (construction, or ``on_fit_start`` for the
layer name, before any training); anything that fails while interpreting is
warned about once and kept in ``callback.error`` - it never breaks training.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuroninterp import Interpretation

from ._gradients import CAPTURES, find_layer
from ._inputs import check_batch_size, check_delta, check_search_options
from ._interpret_module import interpret_module
from ._units import resolve_unit

try:
    import lightning.pytorch as pl
except ImportError as err:  # pragma: no cover - exercised only without lightning
    raise ImportError(
        f"neuroninterp_torch.lightning needs Lightning, which could not be imported ({err}). "
        "Install it with: pip install 'neuroninterp[lightning]'"
    ) from err

log = logging.getLogger(__name__)


class InterpretCallback(pl.Callback):
    """Interpret one unit of the LightningModule after training (and every N epochs).

    ``data``: the points - an array or tensor (n, d), or an iterable of batches such as
    a ``DataLoader`` (a batch is a tensor or a tuple whose first item is the input).
    ``layer``, ``unit``, ``capture``, ``delta``, ``feature_names``, ``batch_size`` as in
    ``interpret_module`` (layer names are relative to the LightningModule, e.g. ``"net.2"``).
    ``every_n_epochs``: also interpret after every N-th training epoch; ``at_train_end``:
    interpret when training ends; ``report_dir``: save the final report there (periodic
    ones in ``epoch_NNN`` subfolders); ``verbose``: print each report. Other keywords are
    search options, checked here.

    After ``fit``: ``callback.result`` (the last Interpretation), ``callback.results``
    (epoch -> Interpretation), ``callback.error`` (the first exception, or None) and
    ``callback.errors`` (epoch -> exception).

    >>> cb = InterpretCallback(X_val, time_budget=30)                     # doctest: +SKIP
    >>> pl.Trainer(max_epochs=20, callbacks=[cb]).fit(module, loader)     # doctest: +SKIP
    >>> print(cb.result.best)                                             # doctest: +SKIP
    """

    def __init__(
        self,
        data: Any,
        layer: str | None = None,
        unit: Any = 0,
        capture: str = "output",
        every_n_epochs: int | None = None,
        at_train_end: bool = True,
        report_dir: str | Path | None = None,
        delta: float | None = 1e-4,
        feature_names: Sequence[str] | None = None,
        batch_size: int = 1024,
        verbose: bool = True,
        **search_options: Any,
    ) -> None:
        super().__init__()
        if data is None:
            raise ValueError("data must be the points to interpret at (array, tensor or loader)")
        if every_n_epochs is not None and (
            isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, int)
            or every_n_epochs < 1
        ):
            raise ValueError(
                f"every_n_epochs must be an integer >= 1 or None, got {every_n_epochs!r}"
            )
        if capture not in CAPTURES:
            raise ValueError(f"capture must be 'output' or 'input', got {capture!r}")
        check_search_options(search_options)
        resolve_unit(unit)
        self.data = data
        self.layer, self.unit, self.capture = layer, unit, capture
        self.every_n_epochs, self.at_train_end = every_n_epochs, bool(at_train_end)
        self.report_dir = None if report_dir is None else Path(report_dir)
        self.delta = check_delta(delta)
        self.feature_names = feature_names
        self.batch_size = check_batch_size(batch_size)
        self.verbose = bool(verbose)
        self.search_options = dict(search_options)
        self.result: Interpretation | None = None
        self.results: dict[int, Interpretation] = {}
        self.error: BaseException | None = None
        self.errors: dict[int, BaseException] = {}

    # -- Lightning hooks ---------------------------------------------------------
    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.layer is not None:
            find_layer(pl_module, self.layer)  # a wrong name fails now, before training

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        n = self.every_n_epochs
        if n is not None and (trainer.current_epoch + 1) % n == 0:
            self._run(trainer, pl_module, trainer.current_epoch, final=False)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not self.at_train_end:
            return
        epoch = max(trainer.current_epoch - 1, 0)  # the last completed epoch
        if epoch in self.results:  # the periodic run already covered it
            self.result = self.results[epoch]
            self._save(self.result, final=True, epoch=epoch)
            return
        self._run(trainer, pl_module, epoch, final=True)

    # -- work ------------------------------------------------------------------------
    def _run(self, trainer: pl.Trainer, pl_module: pl.LightningModule, epoch: int,
             final: bool) -> None:
        if not trainer.is_global_zero:
            return
        try:
            result = interpret_module(
                pl_module, _points(self.data), layer=self.layer, unit=self.unit,
                capture=self.capture, delta=self.delta, feature_names=self.feature_names,
                batch_size=self.batch_size, **self.search_options,
            )
            result.notes.append(f"Interpreted by InterpretCallback after epoch {epoch}.")
            self.results[epoch] = result
            self.result = result
            if self.verbose:
                result.report()
            self._save(result, final=final, epoch=epoch)
        except Exception as err:  # never break training
            self.errors[epoch] = err
            if self.error is None:
                self.error = err
                log.debug("InterpretCallback failed", exc_info=err)
                warnings.warn(
                    f"InterpretCallback could not interpret the model after epoch {epoch}: "
                    f"{type(err).__name__}: {str(err).rstrip('.')}. Training goes on; the "
                    "exception is in "
                    "callback.error (further failures only in callback.errors).",
                    RuntimeWarning, stacklevel=2,
                )

    def _save(self, result: Interpretation, final: bool, epoch: int) -> None:
        if self.report_dir is None:
            return
        where = self.report_dir if final else self.report_dir / f"epoch_{epoch:03d}"
        result.save_report(where)


def _points(data: Any) -> Any:
    """The points of ``data``: an array/tensor as is, or the inputs of a loader's batches."""
    if isinstance(data, (np.ndarray, torch.Tensor, list)):
        return data
    if isinstance(data, Iterable):
        parts = []
        for batch in data:
            x = batch[0] if isinstance(batch, (tuple, list)) else batch
            if isinstance(x, dict):
                raise TypeError("dict batches are not supported: pass the input tensor instead")
            parts.append(x.detach().cpu() if isinstance(x, torch.Tensor) else torch.as_tensor(x))
        if not parts:
            raise ValueError("data (an iterable of batches) yielded no batch")
        return torch.cat(parts)
    raise TypeError(f"data must be an array, a tensor or an iterable of batches, got "
                    f"{type(data).__name__}")
