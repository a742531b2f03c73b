"""``NeuronProbe``: collect one unit's input gradients during a training loop.

Each ``collect(x)`` computes the unit's per-sample gradients and values for a
batch in eval mode and adds them to a bounded ``GradientReservoir``; training
is not disturbed (train mode, ``requires_grad`` and ``.grad`` are restored,
no random numbers are drawn). ``interpret()`` searches what was collected.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

import neuroninterp
from neuroninterp import GradientReservoir, GradientSet, Interpretation

from ._gradients import UnitGradients, warn_if_piecewise_linear
from ._inputs import as_matrix, check_delta, check_feature_names, check_search_options, finite_rows


class NeuronProbe:
    """Collects a unit's gradients batch by batch; interprets them at the end.

    Arguments as in ``interpret_module``; ``max_rows`` bounds the memory (a uniform
    reservoir sample of every row collected), ``seed`` seeds the reservoir.

    >>> with NeuronProbe(model, max_rows=5000) as probe:      # doctest: +SKIP
    ...     for epoch in range(epochs):
    ...         for step, (xb, yb) in enumerate(loader):
    ...             train_step(xb, yb)
    ...             if epoch >= epochs - 3 and step % 5 == 0:
    ...                 probe.collect(xb)
    ...     result = probe.interpret(time_budget=30)
    """

    def __init__(
        self,
        model: nn.Module,
        layer: str | None = None,
        unit: Any = 0,
        capture: str = "output",
        max_rows: int = 10_000,
        seed: int | None = 0,
        delta: float | None = 1e-4,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        self.delta = check_delta(delta)
        self.feature_names = None if feature_names is None else list(feature_names)
        self.reservoir = GradientReservoir(max_rows, seed)
        self.max_rows, self.seed = max_rows, seed
        self._target = UnitGradients(model, layer, unit, capture)
        self.model = model
        self.n_dropped = 0
        self._warned_relu = bool(warn_if_piecewise_linear(model, stacklevel=3))
        self._target.attach()

    @property
    def attached(self) -> bool:
        """True while the probe's hooks are on the model."""
        return self._target.attached

    def __len__(self) -> int:
        return len(self.reservoir)

    def collect(self, x: Any, batch_size: int = 4096) -> None:
        """Add the unit's gradients and values at the rows of ``x`` (a batch of inputs)."""
        if not self.attached:
            raise RuntimeError("this NeuronProbe was removed; create a new one to collect again")
        X = as_matrix(x, "x")
        if self.feature_names is not None and not len(self.reservoir):
            check_feature_names(self.feature_names, X.shape[1])
        keep = finite_rows(X, "x", stacklevel=3)
        if not keep.all():
            self.n_dropped += int((~keep).sum())
            X = X[keep]
        G, V = self._target.compute(X, batch_size)
        self.reservoir.add(X, G, V)

    def reset(self) -> None:
        """Forget everything collected so far (e.g. the early, untrained epochs)."""
        self.reservoir = GradientReservoir(self.max_rows, self.seed)

    def gradient_set(self) -> GradientSet:
        """What was collected, as a GradientSet (band filter applied for logits)."""
        if not len(self.reservoir):
            raise ValueError("the probe has collected nothing yet: call probe.collect(x) first")
        gs = self.reservoir.to_gradient_set(self.feature_names, is_logit=self._target.is_logit,
                                            description=self._target.describe())
        if self._target.is_logit and self.delta is not None:
            gs = gs.band(self.delta)
        return gs

    def interpret(self, **search_options: Any) -> Interpretation:
        """Search the collected gradients (keywords: search options) and return the result."""
        check_search_options(search_options)
        gs = self.gradient_set()
        result = neuroninterp.interpret(gs, **search_options)
        used = (f"{len(gs)} of them are in the unsaturated band delta={self.delta:g}"
                if self._target.is_logit and self.delta is not None else f"all {len(gs)} used")
        notes = [f"Collected during training: {len(self.reservoir)} rows kept of "
                 f"{self.reservoir.n_seen} seen; {used}."]
        if self._target.bypass_note():
            notes.append(str(self._target.bypass_note()))
        if self.n_dropped:
            notes.append(f"Dropped {self.n_dropped} collected rows with NaN/inf values.")
        result.notes[:0] = notes
        return result

    def remove(self) -> None:
        """Remove the probe's hooks from the model (the collected data stay)."""
        self._target.remove()

    def __enter__(self) -> NeuronProbe:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        state = "attached" if self.attached else "removed"
        return (f"NeuronProbe({self._target.describe()}, {len(self.reservoir)} rows of "
                f"{self.reservoir.n_seen} seen, {state})")


