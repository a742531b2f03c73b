"""Which scalar of a captured tensor is "the unit": an int, an index tuple, a
class boundary (difference of two logits) or any callable.

``resolve_unit`` turns the user's ``unit=`` argument into a ``UnitSelector``
whose ``select(tensor)`` returns one scalar per sample and whose errors name
the unit, the tensor's shape and the valid range.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import torch


class UnitSelector:
    """Picks one scalar per sample from the captured tensor (batch first)."""

    #: True when the selected scalar is a classifier's log-odds (a class boundary).
    is_class_boundary = False

    def select(self, captured: Any) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def _flat(captured: Any, unit_text: str) -> torch.Tensor:
    t = _tensor(captured, unit_text)
    return t.reshape(t.shape[0], -1)


def _tensor(captured: Any, unit_text: str) -> torch.Tensor:
    if not isinstance(captured, torch.Tensor):
        raise TypeError(
            f"unit={unit_text} needs the captured value to be a tensor, got "
            f"{type(captured).__name__}; pass a callable unit that picks one scalar per sample "
            "from it (e.g. unit=lambda out: out[0][:, 3])"
        )
    if captured.ndim == 0:
        raise ValueError(
            f"the captured tensor is a scalar (shape ()), it has no batch dimension; "
            f"unit={unit_text} needs a tensor of shape (batch, ...)"
        )
    return captured


def _check_index(k: int, size: int, unit_text: str, shape: tuple[int, ...], what: str) -> int:
    if not -size <= k < size:
        raise ValueError(
            f"unit={unit_text} is out of range: {what} has {size} entries per sample "
            f"(captured shape {shape}); valid indices are 0..{size - 1}"
        )
    return k


class IndexUnit(UnitSelector):
    """``unit=3`` (index into the flattened per-sample tensor) or ``unit=(c, i, j)``."""

    def __init__(self, index: int | tuple[int, ...]) -> None:
        self.index = index

    def select(self, captured: Any) -> torch.Tensor:
        text = repr(self.index)
        if isinstance(self.index, int):
            flat = _flat(captured, text)
            k = _check_index(self.index, flat.shape[1], text, tuple(captured.shape),
                             "the captured tensor")
            return flat[:, k]
        t = _tensor(captured, text)
        shape = tuple(t.shape)
        if len(self.index) != t.ndim - 1:
            raise ValueError(
                f"unit={text} has {len(self.index)} indices but the captured tensor of shape "
                f"{shape} needs {t.ndim - 1} (one per dimension after the batch)"
            )
        for axis, k in enumerate(self.index):
            _check_index(k, shape[axis + 1], text, shape, f"dimension {axis + 1}")
        key: tuple[slice | int, ...] = (slice(None), *self.index)
        return t[key]

    def describe(self) -> str:
        return f"unit {self.index!r}"


class ClassBoundary(UnitSelector):
    """The difference of two class logits, ``out[:, a] - out[:, b]``.

    It is the log-odds of class ``a`` against class ``b`` (softmax restricted
    to the two), so its zero level set is the boundary between them.
    """

    is_class_boundary = True

    def __init__(self, a: int, b: int) -> None:
        for name, v in (("a", a), ("b", b)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise TypeError(f"class_boundary: class {name} must be an int, got {v!r}")
        if int(a) == int(b):
            raise ValueError(f"class_boundary needs two different classes, got {a} and {b}")
        self.a, self.b = int(a), int(b)

    def select(self, captured: Any) -> torch.Tensor:
        text = f"class_boundary({self.a}, {self.b})"
        flat = _flat(captured, text)
        shape = tuple(captured.shape)
        for k in (self.a, self.b):
            _check_index(k, flat.shape[1], text, shape, "the class logits")
        return flat[:, self.a] - flat[:, self.b]

    def describe(self) -> str:
        return f"class boundary logit[{self.a}] - logit[{self.b}]"

    def __repr__(self) -> str:
        return f"class_boundary({self.a}, {self.b})"


class CallableUnit(UnitSelector):
    """Any ``f(captured) -> tensor (batch,)``, in the style of captum's neuron selectors."""

    def __init__(self, fn: Callable[[Any], torch.Tensor]) -> None:
        self.fn = fn

    def select(self, captured: Any) -> torch.Tensor:
        out = self.fn(captured)
        n = captured.shape[0] if isinstance(captured, torch.Tensor) else None
        if not isinstance(out, torch.Tensor):
            raise TypeError(
                f"the unit callable {self.describe()} must return a tensor with one value per "
                f"sample, got {type(out).__name__}"
            )
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.ndim != 1 or (n is not None and out.shape[0] != n):
            raise ValueError(
                f"the unit callable {self.describe()} must return shape ({n if n else 'batch'},) - "
                f"one scalar per sample - but returned shape {tuple(out.shape)}"
            )
        return out

    def describe(self) -> str:
        name = getattr(self.fn, "__name__", type(self.fn).__name__)
        return f"the unit chosen by {name}"


def class_boundary(a: int, b: int) -> ClassBoundary:
    """The unit for the boundary between classes ``a`` and ``b`` of a multi-class head:
    the difference of their logits (class ``a`` on the positive side).

    >>> from neuroninterp_torch import class_boundary
    >>> class_boundary(2, 0)
    class_boundary(2, 0)
    """
    return ClassBoundary(a, b)


def resolve_unit(unit: Any) -> UnitSelector:
    """Turn ``unit=`` into a selector, rejecting anything else with a clear message."""
    if isinstance(unit, UnitSelector):
        return unit
    if isinstance(unit, bool):
        raise TypeError(f"unit must be an int, an index tuple or a callable, got {unit!r}")
    if isinstance(unit, numbers.Integral):
        return IndexUnit(int(unit))
    if isinstance(unit, tuple) and unit and all(
        isinstance(k, numbers.Integral) and not isinstance(k, bool) for k in unit
    ):
        return IndexUnit(tuple(int(k) for k in unit))
    if callable(unit):
        return CallableUnit(unit)
    raise TypeError(
        f"unit must be an int, a tuple of ints, class_boundary(a, b) or a callable returning one "
        f"scalar per sample, got {unit!r}"
    )
