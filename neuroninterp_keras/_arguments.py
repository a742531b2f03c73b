"""Checks of the callback's arguments that need no model: the data, feature
names, band delta, schedule and report directory.

Each check fails at once with a message naming the argument, the value and
what would be valid.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def data_matrix(data: Any) -> np.ndarray:
    """The points to interpret as a float64 ``(n, d)`` array. A tuple ``(X, y)`` or
    ``(X, y, sample_weight)`` gives its ``X``; anything else is taken as ``X``.

    >>> data_matrix(([[0.0, 1.0], [2.0, 3.0]], [0, 1])).shape
    (2, 2)
    """
    if isinstance(data, tuple):
        if not data:
            raise ValueError("data=() is empty; pass an array of inputs (n, d) or a tuple (X, y)")
        data = data[0]
    if isinstance(data, dict):
        raise TypeError(
            "data must be an array of inputs (n, d) or a tuple (X, y); dict inputs (several "
            "model inputs) are not supported"
        )
    try:
        X = np.asarray(_to_numpy(data), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"data must be a numeric array of inputs (n, d) or a tuple (X, y), got "
            f"{type(data).__name__}: {err}"
        ) from None
    if X.ndim != 2:
        hint = " (for one feature, pass X.reshape(-1, 1))" if X.ndim == 1 else ""
        raise ValueError(
            f"data must be 2-D, one row of d features per point, got shape {X.shape}{hint}"
        )
    if X.shape[0] < 2 or X.shape[1] < 1:
        raise ValueError(f"data needs at least 2 points and 1 feature, got shape {X.shape}")
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ValueError(
            f"data has {int(bad.sum())} rows with nan or inf (first: row {int(np.argmax(bad))}); "
            "pass finite inputs"
        )
    return X


def _to_numpy(data: Any) -> Any:
    """Tensors of any backend (torch, jax, tensorflow) as numpy arrays."""
    if hasattr(data, "detach") and hasattr(data, "cpu"):  # torch
        return data.detach().cpu().numpy()
    if hasattr(data, "numpy") and callable(data.numpy):  # tensorflow eager
        return data.numpy()
    return data


def feature_names(names: Sequence[str] | None, d: int) -> list[str] | None:
    """Validate ``feature_names`` for ``d`` features (None: the core's ``x1..xd``)."""
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError(f"feature_names must be a sequence of {d} names, got the string {names!r}")
    out = [str(n) for n in names]
    if len(out) != d:
        raise ValueError(f"feature_names has {len(out)} names {out} but data has {d} features")
    if len(set(out)) != d or any(not n.isidentifier() for n in out):
        raise ValueError(f"feature_names must be distinct Python identifiers, got {out}")
    return out


def band_delta(delta: Any) -> float | None:
    if delta is None:
        return None
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 < float(delta) < 0.5:
        raise ValueError(
            f"delta must be a number in (0, 0.5) (the band keeps delta <= sigmoid(logit) <= "
            f"1 - delta) or None for no band filter, got {delta!r}"
        )
    return float(delta)


def schedule(every_n_epochs: Any, at_train_end: Any) -> int | None:
    if every_n_epochs is not None and (
        isinstance(every_n_epochs, bool) or not isinstance(every_n_epochs, numbers.Integral)
        or every_n_epochs < 1
    ):
        raise ValueError(f"every_n_epochs must be an int >= 1 or None, got {every_n_epochs!r}")
    if not isinstance(at_train_end, bool):
        raise TypeError(f"at_train_end must be True or False, got {at_train_end!r}")
    if every_n_epochs is None and not at_train_end:
        raise ValueError(
            "every_n_epochs=None with at_train_end=False would never interpret; set "
            "every_n_epochs=N or at_train_end=True"
        )
    return None if every_n_epochs is None else int(every_n_epochs)


def capture_kind(capture: Any) -> str:
    if capture not in ("output", "input"):
        raise ValueError(f"capture must be 'output' or 'input' (of the layer), got {capture!r}")
    return str(capture)


def report_directory(report_dir: Any) -> Path | None:
    if report_dir is None:
        return None
    if not isinstance(report_dir, (str, os.PathLike)):
        raise TypeError(f"report_dir must be a path (str or os.PathLike) or None, got {report_dir!r}")
    return Path(report_dir)
