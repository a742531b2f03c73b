"""GradientSet and GradientReservoir: validation, normalization, the band
filter, subsampling, the bounded reservoir and the ``.npz`` file format."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from neuroninterp import GradientReservoir, GradientSet
from neuroninterp._gradient_set import FORMAT, FORMAT_VERSION


def _random_set(n: int = 50, d: int = 3, seed: int = 0, values: bool = True) -> GradientSet:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    G = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=(n, 1))
    V = rng.normal(scale=5, size=n) if values else None
    return GradientSet(X, G, V)


# -- construction and validation ---------------------------------------------------


def test_gradients_are_stored_normalized_with_their_norms():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3))
    G = rng.normal(size=(20, 3)) * 7.0
    gs = GradientSet(X, G)
    np.testing.assert_allclose(np.linalg.norm(gs.gradients, axis=1), 1.0, rtol=1e-14)
    np.testing.assert_allclose(gs.norms, np.linalg.norm(G, axis=1), rtol=1e-14)
    np.testing.assert_allclose(gs.gradients * gs.norms[:, None], G, rtol=1e-13)
    np.testing.assert_array_equal(gs.X, X)
    assert gs.has_direction.all() and gs.n_directed == 20
    assert len(gs) == 20 and gs.n_features == 3 and gs.n_dropped == 0


def test_default_feature_names_are_one_based():
    gs = GradientSet(np.zeros((2, 4)), np.ones((2, 4)))
    assert gs.feature_names == ["x1", "x2", "x3", "x4"]
    named = GradientSet(np.zeros((2, 2)), np.ones((2, 2)), feature_names=["mass", "speed"])
    assert named.feature_names == ["mass", "speed"]


def test_values_and_is_logit():
    X = np.ones((3, 2))
    assert GradientSet(X, X, values=[1, 2, 3]).is_logit is True
    assert GradientSet(X, X).is_logit is False and GradientSet(X, X).values is None
    assert GradientSet(X, X, values=[1, 2, 3], is_logit=False).is_logit is False
    column = GradientSet(X, X, values=np.array([[1.0], [2.0], [3.0]]))
    np.testing.assert_array_equal(column.values, [1.0, 2.0, 3.0])


def test_one_dimensional_input_is_one_feature():
    gs = GradientSet([0.1, 0.2, 0.3], [2.0, -1.0, 0.5])
    assert gs.X.shape == (3, 1) and gs.feature_names == ["x1"]
    np.testing.assert_array_equal(gs.gradients[:, 0], [1.0, -1.0, 1.0])


def test_zero_gradients_are_kept_without_direction():
    X = np.arange(8.0).reshape(4, 2)
    G = np.array([[1.0, 1.0], [0.0, 0.0], [0.0, -3.0], [0.0, 0.0]])
    gs = GradientSet(X, G)
    assert len(gs) == 4
    np.testing.assert_array_equal(gs.has_direction, [True, False, True, False])
    assert gs.n_directed == 2
    np.testing.assert_array_equal(gs.gradients[1], [0.0, 0.0])
    np.testing.assert_array_equal(gs.gradients[2], [0.0, -1.0])
    assert "2 with a direction" in repr(gs)


def test_non_finite_rows_are_dropped_and_counted():
    X = np.arange(12.0).reshape(6, 2)
    G = np.ones((6, 2))
    V = np.zeros(6)
    X[0, 1] = np.nan
    G[2, 0] = np.inf
    V[4] = -np.inf
    gs = GradientSet(X, G, V)
    assert len(gs) == 3 and gs.n_dropped == 3
    np.testing.assert_array_equal(gs.X[:, 0], [2.0, 6.0, 10.0])  # rows 1, 3, 5 survive
    assert "3 non-finite rows dropped" in repr(gs)
    assert "dropped" not in repr(GradientSet(np.ones((2, 2)), np.ones((2, 2))))


@pytest.mark.parametrize(
    "X, G, message",
    [
        (np.zeros((5, 2)), np.zeros((5, 3)), "gradients must have the shape of X"),
        (np.zeros((5, 2)), np.zeros((4, 2)), "gradients must have the shape of X"),
        (np.zeros((5, 2, 2)), np.zeros((5, 2, 2)), "X must be 2-D"),
        (np.zeros((5, 2)), np.zeros((5, 2, 1)), "gradients must be 2-D"),
        (np.zeros((5, 0)), np.zeros((5, 0)), "X has no columns"),
    ],
)
def test_bad_shapes_are_rejected_by_name(X, G, message):
    with pytest.raises(ValueError, match=message):
        GradientSet(X, G)


def test_non_numeric_input_is_rejected_by_name():
    with pytest.raises(TypeError, match="X must be a numeric array"):
        GradientSet([["a", "b"]], [[1.0, 2.0]])
    with pytest.raises(TypeError, match="gradients must be a numeric array"):
        GradientSet([[1.0, 2.0]], [[1.0, "up"]])
    with pytest.raises(TypeError, match="values must be numeric"):
        GradientSet([[1.0, 2.0]], [[1.0, 2.0]], values=["high"])


def test_values_of_wrong_length_are_rejected():
    with pytest.raises(ValueError, match=r"values must hold one number per point, shape \(3,\)"):
        GradientSet(np.ones((3, 2)), np.ones((3, 2)), values=[1.0, 2.0])
    with pytest.raises(ValueError, match="values must hold one number per point"):
        GradientSet(np.ones((3, 2)), np.ones((3, 2)), values=np.ones((3, 2)))


@pytest.mark.parametrize(
    "names, error, message",
    [
        (["a"], ValueError, "feature_names has 1 names but X has 2 columns"),
        (["a", "b", "c"], ValueError, "feature_names has 3 names"),
        (["a", "a"], ValueError, "distinct Python identifiers"),
        (["a", "2b"], ValueError, "distinct Python identifiers"),
        (["a", "b c"], ValueError, "distinct Python identifiers"),
        ("ab", TypeError, "feature_names must be a list of names"),
    ],
)
def test_bad_feature_names_are_rejected(names, error, message):
    with pytest.raises(error, match=message):
        GradientSet(np.ones((3, 2)), np.ones((3, 2)), feature_names=names)


def test_check_usable():
    GradientSet(np.ones((3, 2)), np.ones((3, 2))).check_usable()
    flat = GradientSet(np.ones((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="only 0 of 3 points have a non-zero gradient"):
        flat.check_usable()
    empty = GradientSet(np.full((2, 2), np.nan), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"empty.*2 dropped"):
        empty.check_usable()


# -- the band --------------------------------------------------------------------------


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-v))


@pytest.mark.parametrize("delta", [1e-4, 1e-2, 0.1, 0.3])
def test_band_keeps_exactly_the_unsaturated_points(delta):
    rng = np.random.default_rng(3)
    V = rng.normal(scale=8.0, size=2000)
    limit = np.log((1 - delta) / delta)
    V = V[np.abs(np.abs(V) - limit) > 1e-6]  # away from the edge, where rounding decides
    X = np.arange(len(V), dtype=float)[:, None]
    gs = GradientSet(X, np.ones_like(X), V)
    kept = gs.band(delta)
    s = _sigmoid(V)
    expected = (s >= delta) & (s <= 1 - delta)
    assert 0 < expected.sum() < len(V)  # the test covers both sides
    np.testing.assert_array_equal(kept.X[:, 0], X[expected, 0])
    np.testing.assert_array_equal(kept.values, V[expected])


def test_band_edges_are_inclusive():
    delta = 1e-4
    edge = np.log((1 - delta) / delta)  # logit of 1 - delta, about 9.21
    V = np.array([edge, -edge, np.nextafter(edge, np.inf), np.nextafter(-edge, -np.inf), 0.0])
    gs = GradientSet(np.arange(5.0)[:, None], np.ones((5, 1)), V)
    kept = gs.band(delta)
    np.testing.assert_array_equal(kept.values, [edge, -edge, 0.0])
    # sigmoid at the kept edges is delta and 1 - delta up to rounding
    np.testing.assert_allclose(_sigmoid(np.array([edge, -edge])), [1 - delta, delta], rtol=1e-9)


def test_band_keeps_everything_attached_to_the_rows():
    gs = _random_set(200, seed=4)
    kept = gs.band(0.05)
    rows = np.flatnonzero(np.abs(gs.values) <= np.log(0.95 / 0.05))
    np.testing.assert_array_equal(kept.X, gs.X[rows])
    np.testing.assert_array_equal(kept.gradients, gs.gradients[rows])
    np.testing.assert_array_equal(kept.norms, gs.norms[rows])
    np.testing.assert_array_equal(kept.has_direction, gs.has_direction[rows])
    assert kept.feature_names == gs.feature_names and kept.is_logit


def test_band_without_values_says_what_to_do():
    gs = _random_set(values=False)
    with pytest.raises(ValueError, match=r"band\(\) needs the unit's values.*Pass values"):
        gs.band()


def test_band_with_everything_saturated_gives_advice():
    X = np.ones((4, 2))
    gs = GradientSet(X, X, values=[15.0, -20.0, 30.0, 12.0])
    with pytest.raises(ValueError, match="saturated on all 4 points") as err:
        gs.band(1e-4)
    assert "larger delta" in str(err.value) and "-20 .. 30" in str(err.value)


@pytest.mark.parametrize("delta", [0.0, 0.5, -0.1, 1.0])
def test_band_rejects_bad_delta(delta):
    with pytest.raises(ValueError, match="delta must be in"):
        _random_set().band(delta)


# -- subsampling ------------------------------------------------------------------------


def test_subsample_is_seeded():
    gs = _random_set(500)
    a, b, c = gs.subsample(50, seed=1), gs.subsample(50, seed=1), gs.subsample(50, seed=2)
    assert len(a) == 50
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, c.X)
    # the rows are rows of the original set, without repetition
    rows = [int(np.flatnonzero((gs.X == x).all(axis=1))[0]) for x in a.X]
    assert len(set(rows)) == 50
    np.testing.assert_array_equal(a.gradients, gs.gradients[rows])
    np.testing.assert_array_equal(a.values, gs.values[rows])


def test_subsample_larger_than_the_set_keeps_all():
    gs = _random_set(30)
    np.testing.assert_array_equal(gs.subsample(100).X, gs.X)
    with pytest.raises(ValueError, match="subsample needs n >= 1"):
        gs.subsample(0)


# -- the reservoir ------------------------------------------------------------------------


def _numbered_batches(n_total: int, rng: np.random.Generator):
    """Rows numbered 0..n_total-1, in batches of random size; every column and the
    value carry the row number so that mixed-up rows would show."""
    start = 0
    while start < n_total:
        size = min(int(rng.integers(1, 60)), n_total - start)
        ids = np.arange(start, start + size, dtype=float)
        X = np.stack([ids, -ids], axis=1)
        G = np.stack([ids + 1.0, 2.0 * ids + 2.0], axis=1)  # direction the same for all rows
        yield X, G, ids
        start += size


def test_reservoir_memory_is_bounded():
    reservoir = GradientReservoir(max_rows=100, seed=0)
    rng = np.random.default_rng(0)
    for X, G, V in _numbered_batches(3000, rng):
        reservoir.add(X, G, V)
        assert len(reservoir) <= 100
        assert reservoir._X is not None and reservoir._X.shape[0] == 100  # the only storage
    assert len(reservoir) == 100 and reservoir.n_seen == 3000
    gs = reservoir.to_gradient_set()
    assert len(gs) == 100 and gs.feature_names == ["x1", "x2"]
    ids = gs.X[:, 0]
    assert len(set(ids.tolist())) == 100  # no row kept twice
    # each kept row still has its own gradient and value
    np.testing.assert_array_equal(gs.X[:, 1], -ids)
    np.testing.assert_allclose(gs.norms, np.sqrt(5.0) * (ids + 1.0))
    np.testing.assert_array_equal(gs.values, ids)


def test_reservoir_below_capacity_keeps_everything_in_order():
    reservoir = GradientReservoir(max_rows=1000, seed=0)
    for X, G, V in _numbered_batches(300, np.random.default_rng(1)):
        reservoir.add(X, G, V)
    gs = reservoir.to_gradient_set(["a", "b"], description="early")
    np.testing.assert_array_equal(gs.X[:, 0], np.arange(300.0))
    assert gs.feature_names == ["a", "b"] and gs.description == "early"


def test_reservoir_is_uniform_over_everything_seen():
    n_total, max_rows, n_bins = 2000, 100, 10
    kept = []
    for seed in range(20):
        reservoir = GradientReservoir(max_rows=max_rows, seed=seed)
        for X, G, V in _numbered_batches(n_total, np.random.default_rng(100 + seed)):
            reservoir.add(X, G, V)
        kept.append(reservoir.to_gradient_set().X[:, 0])
    ids = np.concatenate(kept)
    assert len(ids) == 20 * max_rows
    counts = np.bincount((ids * n_bins / n_total).astype(int), minlength=n_bins)
    # Uniform: 200 per bin expected. A biased reservoir (e.g. keeping the first or the last
    # rows) fails this by far; a fair one fails it once in 10,000 runs.
    assert stats.chisquare(counts).pvalue > 1e-4, counts
    assert abs(ids.mean() / (n_total - 1) - 0.5) < 0.03
    assert abs(np.median(ids) / (n_total - 1) - 0.5) < 0.04
    # every reservoir alone also spans the whole stream
    for sample in kept:
        assert sample.min() < 0.2 * n_total and sample.max() > 0.8 * n_total


def test_reservoir_is_seeded():
    def run(seed):
        reservoir = GradientReservoir(max_rows=50, seed=seed)
        for X, G, V in _numbered_batches(1000, np.random.default_rng(7)):
            reservoir.add(X, G, V)
        return reservoir.to_gradient_set().X[:, 0]

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_reservoir_rejects_inconsistent_batches():
    reservoir = GradientReservoir(max_rows=10)
    with pytest.raises(ValueError, match="the reservoir is empty"):
        reservoir.to_gradient_set()
    reservoir.add(np.ones((3, 2)), np.ones((3, 2)), np.ones(3))
    with pytest.raises(ValueError, match="X has 3 columns, earlier batches had 2"):
        reservoir.add(np.ones((3, 3)), np.ones((3, 3)), np.ones(3))
    with pytest.raises(ValueError, match="give values with every batch or with none"):
        reservoir.add(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match="gradients shape"):
        reservoir.add(np.ones((3, 2)), np.ones((2, 2)), np.ones(3))
    with pytest.raises(ValueError, match="values has 2 entries for 3 points"):
        reservoir.add(np.ones((3, 2)), np.ones((3, 2)), np.ones(2))
    with pytest.raises(ValueError, match="max_rows must be >= 1"):
        GradientReservoir(max_rows=0)


# -- files -------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    G = rng.normal(size=(40, 3))
    G[3] = 0.0
    X[7, 0] = np.nan
    gs = GradientSet(X, G, rng.normal(size=40), ["a", "b", "c"], description="unit 3 of dense")
    path = gs.save(tmp_path / "grads.npz")
    assert path == tmp_path / "grads.npz" and path.exists()
    back = GradientSet.load(path)
    np.testing.assert_array_equal(back.X, gs.X)
    np.testing.assert_allclose(back.gradients, gs.gradients, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(back.norms, gs.norms, rtol=1e-14)
    np.testing.assert_array_equal(back.values, gs.values)
    np.testing.assert_array_equal(back.has_direction, gs.has_direction)
    assert back.n_directed == 38 and back.n_dropped == 1
    assert back.feature_names == ["a", "b", "c"]
    assert back.description == "unit 3 of dense" and back.is_logit is True


def test_save_load_without_values_and_suffix(tmp_path):
    gs = _random_set(10, values=False)
    path = gs.save(tmp_path / "plain")
    assert path.name == "plain.npz"
    back = GradientSet.load(path)
    assert back.values is None and back.is_logit is False
    np.testing.assert_array_equal(back.X, gs.X)


def test_file_layout(tmp_path):
    gs = _random_set(10)
    path = gs.save(tmp_path / "g.npz")
    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {
            "format", "format_version", "X", "gradients", "norms", "values", "has_values",
            "is_logit", "feature_names", "description", "n_dropped",
        }
        assert str(data["format"]) == FORMAT and int(data["format_version"]) == FORMAT_VERSION
        assert data["X"].shape == (10, 3) and data["gradients"].shape == (10, 3)
        assert data["norms"].shape == (10,) and data["values"].shape == (10,)
        assert data["feature_names"].tolist() == ["x1", "x2", "x3"]
        np.testing.assert_allclose(np.linalg.norm(data["gradients"], axis=1), 1.0)


def test_loading_a_foreign_npz_is_refused(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, X=np.ones((3, 2)), gradients=np.ones((3, 2)))
    with pytest.raises(ValueError, match="is not a neuroninterp GradientSet file"):
        GradientSet.load(path)


def test_loading_a_text_file_is_refused(tmp_path):
    path = tmp_path / "notes.npz"
    path.write_text("x1,x2\n1,2\n")
    with pytest.raises(ValueError, match="is not a GradientSet file"):
        GradientSet.load(path)
    with pytest.raises(ValueError, match="is not a GradientSet file"):
        GradientSet.load(tmp_path / "missing.npz")


def test_loading_a_newer_format_asks_for_an_upgrade(tmp_path):
    path = _random_set(5).save(tmp_path / "g.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["format_version"] = np.array(FORMAT_VERSION + 1)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match=f"format version {FORMAT_VERSION + 1}.*upgrade"):
        GradientSet.load(path)
