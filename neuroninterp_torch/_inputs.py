"""Checking what the user passes besides the model: X, mask, delta, batch size,
feature names and search options - each with a message naming the argument.

Rows of X with NaN or infinite entries are dropped with a warning that states
how many; an X with no usable row is an error.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from neuroninterp import GradientSet, SearchOptions


def as_matrix(X: Any, name: str = "X") -> np.ndarray:
    """``X`` (array, tensor or nested list) as a float64 array of shape (n, d)."""
    if isinstance(X, torch.Tensor):
        X = X.detach().to("cpu", torch.float64).numpy()
    try:
        arr = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must be a numeric array or tensor of shape (samples, features), got "
            f"{type(X).__name__}: {err}"
        ) from None
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be 2-D (samples x features), got shape {arr.shape}"
            + ("; reshape a single feature with X.reshape(-1, 1)" if arr.ndim == 1 else "")
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape}): give at least a few samples")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {arr.shape})")
    return arr


def finite_rows(X: np.ndarray, name: str = "X", stacklevel: int = 3) -> np.ndarray:
    """Boolean mask of the rows without NaN/inf; warns with the count of the others."""
    keep = np.isfinite(X).all(axis=1)
    dropped = int((~keep).sum())
    if dropped == len(X):
        raise ValueError(f"every row of {name} ({len(X)}) has a NaN or infinite entry")
    if dropped:
        warnings.warn(
            f"dropped {dropped} of {len(X)} rows of {name} that contain NaN or infinite values",
            UserWarning, stacklevel=stacklevel,
        )
    return keep


def check_mask(mask: Any, n: int) -> np.ndarray | None:
    if mask is None:
        return None
    m = np.asarray(mask.detach().cpu() if isinstance(mask, torch.Tensor) else mask)
    if m.dtype != bool or m.shape != (n,):
        raise ValueError(
            f"mask must be a boolean array with one entry per row of X, shape ({n},); got dtype "
            f"{m.dtype} and shape {m.shape}"
        )
    if not m.any():
        raise ValueError("mask selects no row of X: at least a few points are needed")
    return m


def check_delta(delta: Any) -> float | None:
    if delta is None:
        return None
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 0.5:
        raise ValueError(
            f"delta must be a number in (0, 0.5) (the band keeps delta <= sigmoid(logit) <= "
            f"1 - delta) or None for no band filter, got {delta!r}"
        )
    return float(delta)


def check_batch_size(batch_size: Any) -> int:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    return batch_size


def check_feature_names(feature_names: Sequence[str] | None, d: int) -> list[str] | None:
    """Validate names with the core's own rules before any gradient is computed."""
    if feature_names is None:
        return None
    if isinstance(feature_names, str):
        raise TypeError(f"feature_names must be a list of names, got the string {feature_names!r}")
    names = list(feature_names)
    GradientSet(np.zeros((1, d)), np.zeros((1, d)), feature_names=names)
    return names


def check_search_options(options: Mapping[str, Any]) -> SearchOptions:
    """Reject unknown or invalid search options before any work is done."""
    return SearchOptions.from_kwargs(dict(options))
