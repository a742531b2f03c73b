"""The gradient set: sample points, the unit's normalized input gradients there,
and (optionally) the unit's values.

It is the only thing the search needs and the only thing adapters produce.
Also here: the unsaturated band filter, seeded subsampling, a bounded
reservoir for collecting batches during training, and the ``.npz`` file format.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

FORMAT = "neuroninterp.GradientSet"
FORMAT_VERSION = 1


class GradientSet:
    """Points ``X`` (n, d), the unit's input gradients there, and its values.

    Raw gradients go in; they are stored normalized to unit length. Rows with a
    non-finite entry are dropped and counted in ``n_dropped``; zero gradients
    are kept but carry no direction (``has_direction`` is False there) and do
    not count in the loss.

    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> gs = GradientSet(X, 2 * X, values=[0.3, -0.2])
    >>> gs.gradients[0].tolist(), gs.feature_names
    ([1.0, 0.0], ['x1', 'x2'])
    """

    X: np.ndarray
    gradients: np.ndarray
    norms: np.ndarray
    has_direction: np.ndarray
    values: np.ndarray | None
    feature_names: list[str]
    is_logit: bool
    description: str
    n_dropped: int

    def __init__(
        self,
        X: np.ndarray | Sequence,
        gradients: np.ndarray | Sequence,
        values: np.ndarray | Sequence | None = None,
        feature_names: Sequence[str] | None = None,
        *,
        is_logit: bool | None = None,
        description: str = "",
    ) -> None:
        X = _as_float_matrix(X, "X")
        G = _as_float_matrix(gradients, "gradients")
        if G.shape != X.shape:
            raise ValueError(
                f"gradients must have the shape of X {X.shape}, got {G.shape}: one gradient "
                "row (d input derivatives) per point"
            )
        V = None
        if values is not None:
            try:
                V = np.asarray(values, dtype=np.float64)
            except (TypeError, ValueError) as err:
                raise TypeError(
                    f"values must be numeric (one logit per point), got {type(values).__name__}: "
                    f"{err}"
                ) from None
            if V.ndim == 2 and V.shape[1] == 1:
                V = V[:, 0]
            if V.shape != (X.shape[0],):
                raise ValueError(
                    f"values must hold one number per point, shape ({X.shape[0]},), got {V.shape}"
                )
        d = X.shape[1]
        if feature_names is None:
            names = [f"x{i + 1}" for i in range(d)]
        else:
            if isinstance(feature_names, str):
                raise TypeError(
                    f"feature_names must be a list of names, got the string {feature_names!r}"
                )
            names = [str(n) for n in feature_names]
            if len(names) != d:
                raise ValueError(
                    f"feature_names has {len(names)} names but X has {d} columns"
                )
            if len(set(names)) != d or any(not n.isidentifier() for n in names):
                raise ValueError(
                    f"feature_names must be distinct Python identifiers, got {names}"
                )
        finite = np.isfinite(X).all(axis=1) & np.isfinite(G).all(axis=1)
        if V is not None:
            finite &= np.isfinite(V)
        self.n_dropped = int((~finite).sum())
        X, G = np.asarray(X[finite]), G[finite]
        V = None if V is None else V[finite]
        norms = np.linalg.norm(G, axis=1)
        self.has_direction = norms > 0
        safe = np.where(self.has_direction, norms, 1.0)
        self.X = X
        self.gradients = G / safe[:, None]
        self.norms = norms
        self.values = V
        self.feature_names = names
        self.is_logit = (V is not None) if is_logit is None else bool(is_logit)
        self.description = description

    # -- basic facts ---------------------------------------------------------
    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_directed(self) -> int:
        """Number of points whose gradient carries a direction."""
        return int(self.has_direction.sum())

    def __repr__(self) -> str:
        extra = f", {self.n_dropped} non-finite rows dropped" if self.n_dropped else ""
        return (
            f"GradientSet({len(self)} points, {self.n_features} features "
            f"{self.feature_names}, {self.n_directed} with a direction{extra})"
        )

    def _subset(self, rows: np.ndarray) -> GradientSet:
        out = object.__new__(GradientSet)
        out.X = self.X[rows]
        out.gradients = self.gradients[rows]
        out.norms = self.norms[rows]
        out.has_direction = self.has_direction[rows]
        out.values = None if self.values is None else self.values[rows]
        out.feature_names = list(self.feature_names)
        out.is_logit = self.is_logit
        out.description = self.description
        out.n_dropped = self.n_dropped
        return out

    # -- filters ---------------------------------------------------------------
    def band(self, delta: float = 1e-4) -> GradientSet:
        """Keep the points where the classifier is not saturated,
        ``delta <= sigmoid(value) <= 1 - delta``.

        >>> gs = GradientSet([[0.0], [1.0]], [[1.0], [1.0]], values=[0.0, 20.0])
        >>> len(gs.band(1e-4))
        1
        """
        if not 0 < delta < 0.5:
            raise ValueError(f"delta must be in (0, 0.5), got {delta!r}")
        if self.values is None:
            raise ValueError(
                "band() needs the unit's values (logits); this GradientSet was made without "
                "values=. Pass values, or skip the band filter."
            )
        limit = np.log((1 - delta) / delta)  # |logit| <= limit  <=>  delta <= sigmoid <= 1-delta
        keep = np.abs(self.values) <= limit
        if not keep.any():
            raise ValueError(
                f"no point is in the band delta={delta:g} (|logit| <= {limit:.3g}): the network is "
                f"saturated on all {len(self)} points (logits range "
                f"{self.values.min():.3g} .. {self.values.max():.3g}). Add points near the "
                "decision boundary (e.g. perturbed or bounding-box samples), train with "
                "regularization or for fewer epochs, or use a larger delta."
            )
        return self._subset(np.flatnonzero(keep))

    def subsample(self, n: int, seed: int | None = 0) -> GradientSet:
        """A uniform random subset of ``n`` points (all of them if ``n >= len``)."""
        if int(n) < 1:
            raise ValueError(f"subsample needs n >= 1, got {n!r}")
        if n >= len(self):
            return self._subset(np.arange(len(self)))
        rows = np.sort(np.random.default_rng(seed).choice(len(self), size=int(n), replace=False))
        return self._subset(rows)

    def check_usable(self, minimum: int = 2) -> None:
        """Raise a clear error when too few points carry a direction to search on."""
        if len(self) == 0:
            raise ValueError(
                "the gradient set is empty: no points were given or all rows were non-finite "
                f"({self.n_dropped} dropped). Pass data with finite values."
            )
        if self.n_directed < minimum:
            raise ValueError(
                f"only {self.n_directed} of {len(self)} points have a non-zero gradient: the unit "
                "is flat (dead or saturated) on these inputs, so it has no direction to explain. "
                "Check that the unit is active on the data, or use smooth activations (ELU)."
            )

    # -- files -------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write an ``.npz`` file: arrays ``X``, ``gradients`` (unit rows), ``norms``,
        ``values`` (may be empty with ``has_values`` False), ``feature_names``, and
        ``format``/``format_version`` for checking on load."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        np.savez_compressed(
            path,
            format=np.array(FORMAT),
            format_version=np.array(FORMAT_VERSION),
            X=self.X,
            gradients=self.gradients,
            norms=self.norms,
            values=self.values if self.values is not None else np.zeros(0),
            has_values=np.array(self.values is not None),
            is_logit=np.array(self.is_logit),
            feature_names=np.array(self.feature_names),
            description=np.array(self.description),
            n_dropped=np.array(self.n_dropped),
        )
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> GradientSet:
        path = Path(path)
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as err:
            raise ValueError(f"{path} is not a GradientSet file (.npz): {err}") from None
        with data:
            if "format" not in data or str(data["format"]) != FORMAT:
                raise ValueError(f"{path} is not a neuroninterp GradientSet file")
            version = int(data["format_version"])
            if version > FORMAT_VERSION:
                raise ValueError(
                    f"{path} has GradientSet format version {version}, newer than this "
                    f"neuroninterp understands ({FORMAT_VERSION}); upgrade neuroninterp"
                )
            gs = cls(
                data["X"],
                data["gradients"] * data["norms"][:, None],
                data["values"] if bool(data["has_values"]) else None,
                [str(n) for n in data["feature_names"]],
                is_logit=bool(data["is_logit"]),
                description=str(data["description"]),
            )
            gs.n_dropped = int(data["n_dropped"])
        return gs


class GradientReservoir:
    """A bounded, uniform sample of all rows ever added (reservoir sampling).

    Memory stays at ``max_rows`` rows however many batches are added during
    training; every row seen so far has the same chance to be kept.

    >>> r = GradientReservoir(max_rows=100, seed=0)
    >>> for _ in range(50):
    ...     r.add(np.random.rand(10, 2), np.random.rand(10, 2), np.random.rand(10))
    >>> len(r), r.n_seen
    (100, 500)
    """

    def __init__(self, max_rows: int = 10_000, seed: int | None = 0) -> None:
        if int(max_rows) < 1:
            raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
        self.max_rows = int(max_rows)
        self.n_seen = 0
        self._rng = np.random.default_rng(seed)
        self._X: np.ndarray | None = None
        self._G: np.ndarray | None = None
        self._V: np.ndarray | None = None
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, X: np.ndarray, gradients: np.ndarray, values: np.ndarray | None = None) -> None:
        X = _as_float_matrix(X, "X")
        G = _as_float_matrix(gradients, "gradients")
        if G.shape != X.shape:
            raise ValueError(f"gradients shape {G.shape} differs from X shape {X.shape}")
        V = None if values is None else np.asarray(values, dtype=np.float64).reshape(-1)
        if V is not None and V.shape[0] != X.shape[0]:
            raise ValueError(f"values has {V.shape[0]} entries for {X.shape[0]} points")
        if self._X is None:
            d = X.shape[1]
            self._X = np.empty((self.max_rows, d))
            self._G = np.empty((self.max_rows, d))
            self._V = None if V is None else np.empty(self.max_rows)
        elif X.shape[1] != self._X.shape[1]:
            raise ValueError(f"X has {X.shape[1]} columns, earlier batches had {self._X.shape[1]}")
        if (V is None) != (self._V is None):
            raise ValueError("give values with every batch or with none")
        store_X, store_G, store_V = self._X, self._G, self._V
        assert store_G is not None
        for row in range(X.shape[0]):
            slot = self._size if self._size < self.max_rows else -1
            if slot < 0:
                j = int(self._rng.integers(0, self.n_seen + 1))
                slot = j if j < self.max_rows else -1
            else:
                self._size += 1
            self.n_seen += 1
            if slot >= 0:
                store_X[slot] = X[row]
                store_G[slot] = G[row]
                if V is not None and store_V is not None:
                    store_V[slot] = V[row]

    def to_gradient_set(self, feature_names: Sequence[str] | None = None, **kwargs) -> GradientSet:
        if self._size == 0 or self._X is None or self._G is None:
            raise ValueError("the reservoir is empty: add batches before interpreting")
        n = self._size
        V = None if self._V is None else self._V[:n]
        return GradientSet(self._X[:n], self._G[:n], V, feature_names, **kwargs)


def _as_float_matrix(a: np.ndarray | Sequence, name: str) -> np.ndarray:
    try:
        arr = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(a).__name__}: {err}") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (points x features), got shape {arr.shape}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no columns (shape {arr.shape})")
    return arr
