"""Unit selectors: which scalar of the captured tensor is the unit, and the
errors for units that do not exist."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from neuroninterp_torch import class_boundary  # noqa: E402
from neuroninterp_torch._units import resolve_unit  # noqa: E402

T = torch.arange(24.0).reshape(4, 6)  # 4 samples, 6 units


def test_int_unit_picks_a_column():
    assert torch.equal(resolve_unit(2).select(T), T[:, 2])
    assert torch.equal(resolve_unit(-1).select(T), T[:, 5])


def test_int_unit_indexes_the_flattened_sample():
    t = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(resolve_unit(5).select(t), t[:, 1, 1])


def test_one_dimensional_output_is_unit_zero():
    t = torch.tensor([1.0, 2.0, 3.0])
    assert torch.equal(resolve_unit(0).select(t), t)


def test_tuple_unit_indexes_each_dimension():
    t = torch.arange(24.0).reshape(2, 3, 4)
    assert torch.equal(resolve_unit((2, 3)).select(t), t[:, 2, 3])


def test_class_boundary_is_a_logit_difference():
    sel = class_boundary(4, 1)
    assert torch.equal(sel.select(T), T[:, 4] - T[:, 1])
    assert sel.is_class_boundary
    assert "logit[4] - logit[1]" in sel.describe()


def test_callable_unit_and_its_shape_check():
    assert torch.equal(resolve_unit(lambda out: out[:, 3] * 2).select(T), T[:, 3] * 2)
    assert torch.equal(resolve_unit(lambda out: out[:, :1]).select(T), T[:, 0])
    with pytest.raises(ValueError, match=r"one scalar per sample.*\(4, 2\)"):
        resolve_unit(lambda out: out[:, :2]).select(T)
    with pytest.raises(TypeError, match="must return a tensor"):
        resolve_unit(lambda out: 3.0).select(T)


@pytest.mark.parametrize("unit, pattern", [
    (6, r"unit=6 is out of range.*6 entries.*0\.\.5"),
    (-7, r"unit=-7 is out of range"),
    ((0, 9), r"has 2 indices but .* needs 1"),
    (class_boundary(2, 8), r"class_boundary\(2, 8\) is out of range.*0\.\.5"),
])
def test_out_of_range_units_say_what_is_valid(unit, pattern):
    with pytest.raises(ValueError, match=pattern):
        resolve_unit(unit).select(T)


@pytest.mark.parametrize("unit", [True, "3", 1.5, (), None])
def test_unit_of_a_wrong_type_is_rejected(unit):
    with pytest.raises(TypeError, match="unit must be"):
        resolve_unit(unit)


def test_class_boundary_needs_two_classes():
    with pytest.raises(ValueError, match="two different classes"):
        class_boundary(1, 1)
    with pytest.raises(TypeError, match="must be an int"):
        class_boundary(1, "0")


def test_non_tensor_capture_needs_a_callable():
    with pytest.raises(TypeError, match="callable unit"):
        resolve_unit(0).select((T, T))
    assert torch.equal(resolve_unit(lambda c: c[1][:, 0]).select((T, T)), T[:, 0])
