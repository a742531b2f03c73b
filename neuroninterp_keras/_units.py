"""Which scalar of the captured tensor is "the unit": an int, an index tuple or
a callable, as in captum's neuron selectors.

``UnitSelector.check(shape)`` validates an index against the captured tensor's
per-sample shape before training (errors name the unit, the shape and the
valid range); ``select(tensor)`` picks one scalar per sample with
backend-neutral ``keras.ops``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import keras


class UnitSelector:
    """Picks one scalar per sample from a captured tensor (batch first).

    >>> sel = UnitSelector.from_argument(3)
    >>> sel.describe(), sel.index
    ('unit 3', 3)
    """

    def __init__(self, index: int | tuple[int, ...] | None, fn: Callable | None = None) -> None:
        self.index = index
        self.fn = fn

    @classmethod
    def from_argument(cls, unit: Any) -> UnitSelector:
        """Turn the ``unit=`` argument into a selector, rejecting anything else."""
        if isinstance(unit, bool):
            raise TypeError(f"unit must be an int, a tuple of ints or a callable, got {unit!r}")
        if isinstance(unit, numbers.Integral):
            return cls(int(unit))
        if isinstance(unit, tuple) and unit and all(
            isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in unit
        ):
            return cls(tuple(int(k) for k in unit))
        if callable(unit):
            return cls(None, unit)
        raise TypeError(
            "unit must be an int (index into the flattened per-sample output), a tuple of ints "
            "(one index per dimension after the batch) or a callable taking the captured tensor "
            f"and returning one scalar per sample, got {unit!r}"
        )

    @property
    def is_index(self) -> bool:
        return self.fn is None

    def describe(self) -> str:
        if self.fn is not None:
            return f"unit {getattr(self.fn, '__name__', type(self.fn).__name__)}"
        return f"unit {self.index!r}"

    def check(self, shape: tuple[int | None, ...] | None, where: str) -> None:
        """Validate an index unit against the per-sample ``shape`` (no batch dim) of ``where``.
        Unknown sizes (None) are not checked; callables are checked by a dry run."""
        if self.fn is not None or shape is None:
            return
        text = repr(self.index)
        if isinstance(self.index, int):
            if any(s is None for s in shape):
                return
            size = 1
            for s in shape:
                size *= int(s)  # type: ignore[arg-type]
            _check_range(self.index, size, text, shape, where, "entries per sample (flattened)")
            return
        assert isinstance(self.index, tuple)
        if len(self.index) != len(shape):
            raise ValueError(
                f"unit={text} has {len(self.index)} indices but {where} has per-sample shape "
                f"{shape}, which needs {len(shape)} (one per dimension after the batch)"
            )
        for axis, (k, s) in enumerate(zip(self.index, shape)):
            if s is not None:
                _check_range(k, int(s), text, shape, where, f"entries along dimension {axis + 1}")

    def select(self, captured: Any) -> Any:
        """One scalar per sample from ``captured`` (shape (batch, ...))."""
        if self.fn is not None:
            return self.fn(captured)
        ops = keras.ops
        if isinstance(self.index, int):
            if len(ops.shape(captured)) == 1:
                if self.index not in (0, -1):
                    raise ValueError(
                        f"unit={self.index!r} is out of range: the captured tensor has one value "
                        "per sample (shape (batch,)); use unit=0"
                    )
                return captured
            flat = ops.reshape(captured, (ops.shape(captured)[0], -1))
            return flat[:, self.index]
        assert isinstance(self.index, tuple)
        return captured[(slice(None), *self.index)]


def _check_range(k: int, size: int, text: str, shape: tuple, where: str, what: str) -> None:
    if not -size <= k < size:
        raise ValueError(
            f"unit={text} is out of range: {where} has {size} {what} (per-sample shape "
            f"{tuple(shape)}); valid indices are 0..{size - 1}"
        )
