"""``interpret_module``: explain one unit of a PyTorch model as a formula.

Computes the unit's input gradients at the points ``X`` (``module_gradient_set``),
keeps the unsaturated band when the unit is a classifier logit, and hands the
gradient set to ``neuroninterp.interpret``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

import neuroninterp
from neuroninterp import GradientSet, Interpretation

from ._gradients import UnitGradients, warn_if_piecewise_linear
from ._inputs import (
    as_matrix,
    check_batch_size,
    check_delta,
    check_feature_names,
    check_mask,
    check_search_options,
    finite_rows,
)


def module_gradient_set(
    model: nn.Module,
    X: Any,
    layer: str | None = None,
    unit: Any = 0,
    capture: str = "output",
    delta: float | None = 1e-4,
    feature_names: Sequence[str] | None = None,
    batch_size: int = 1024,
    mask: Any = None,
) -> GradientSet:
    """The ``GradientSet`` that ``interpret_module`` searches on (same arguments, no search).

    Useful to save the gradients (``gs.save(path)``) or to search them later.

    >>> import torch, numpy as np
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 8), torch.nn.ELU(), torch.nn.Linear(8, 1))
    >>> gs = module_gradient_set(net, np.random.rand(100, 2))
    >>> gs.n_features, gs.is_logit
    (2, True)
    """
    gs, _ = _gradient_set(model, X, layer, unit, capture, delta, feature_names, batch_size, mask)
    return gs


def interpret_module(
    model: nn.Module,
    X: Any,
    layer: str | None = None,
    unit: Any = 0,
    capture: str = "output",
    delta: float | None = 1e-4,
    feature_names: Sequence[str] | None = None,
    batch_size: int = 1024,
    mask: Any = None,
    **search_options: Any,
) -> Interpretation:
    """Explain one scalar unit of ``model`` as the simplest formula of its inputs.

    ``layer``: a dotted name from ``model.named_modules()``; None (default) uses the model
    output, bypassing a final ``nn.Sigmoid``/``nn.Softmax``/``nn.LogSoftmax`` so the logit is
    explained. ``capture``: the layer's ``"output"`` or its ``"input"`` (the pre-activation
    of an activation module). ``unit``: an int (index into the per-sample tensor, flattened),
    an index tuple, ``class_boundary(a, b)`` (logit a minus logit b), or a callable returning
    one scalar per sample from the captured tensor. ``delta``: band filter
    ``delta <= sigmoid(value) <= 1 - delta``, applied when the unit is a classifier logit
    (no layer, or a class boundary); None switches it off - do so for regression outputs.
    ``mask``: a boolean array selecting the rows of ``X`` to use. Rows of ``X`` with NaN/inf
    are dropped with a warning. Other keywords are search options (``time_budget``,
    ``seed``, ``n_jobs``, ...).

    >>> result = interpret_module(net, X, time_budget=20)  # doctest: +SKIP
    >>> print(result.best)                                 # doctest: +SKIP
    x1**2 + 2*x2**2
    """
    check_search_options(search_options)
    gs, notes = _gradient_set(model, X, layer, unit, capture, delta, feature_names, batch_size,
                              mask)
    result = neuroninterp.interpret(gs, **search_options)
    result.notes[:0] = notes
    if result.gradient_set is None:
        result.gradient_set = gs
    return result


def _gradient_set(
    model: nn.Module, X: Any, layer: str | None, unit: Any, capture: str, delta: Any,
    feature_names: Sequence[str] | None, batch_size: Any, mask: Any,
) -> tuple[GradientSet, list[str]]:
    delta = check_delta(delta)
    batch_size = check_batch_size(batch_size)
    X = as_matrix(X)
    rows = check_mask(mask, X.shape[0])
    names = check_feature_names(feature_names, X.shape[1])
    target = UnitGradients(model, layer, unit, capture)
    notes: list[str] = []
    relu = warn_if_piecewise_linear(model, stacklevel=4)
    if relu:
        notes.append(f"The model has piecewise-linear activations ({', '.join(relu[:3])}): its "
                     "gradients are piecewise constant; a smooth activation (ELU) fits better.")
    finite = finite_rows(X, stacklevel=4)
    if not finite.all():
        notes.append(f"Dropped {int((~finite).sum())} of {len(X)} rows of X with NaN/inf values.")
    keep = finite if rows is None else finite & rows
    if not keep.any():
        raise ValueError("no row of X is left after dropping non-finite rows and applying mask")
    X = X[keep] if not keep.all() else X
    G, V = target.compute(X, batch_size)
    description = target.describe()
    gs = GradientSet(X, G, V, names, is_logit=target.is_logit, description=description)
    if target.bypass_note():
        notes.append(str(target.bypass_note()))
    if target.is_logit and delta is not None:
        n_before = len(gs)
        gs = gs.band(delta)
        limit = float(np.log((1 - delta) / delta))
        notes.append(f"{len(gs)} of {n_before} points are in the unsaturated band "
                     f"delta={delta:g} (|logit| <= {limit:.3g}).")
    return gs, notes
