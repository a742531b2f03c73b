"""The decision rule: isotonic fit of the unit's values on T(x), threshold,
fidelity, rank correlation, and the awkward cases (one class, non-finite T,
hidden units)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import neuroninterp as ni
from neuroninterp._rule import MONOTONE, ONE_CLASS, THRESHOLD, Rule, fit_rule
from neuroninterp.experiments import EXPERIMENTS

NAMES = ["x1", "x2"]


def _ellipse_set(n: int = 600, seed: int = 0, scale: float = 4.0, noise: float = 0.0,
                 is_logit: bool | None = None) -> ni.GradientSet:
    """Points of experiment 1 with a logit that is a monotone (cubic) distortion of
    x1^2 + 2 x2^2 - 1, so the true threshold on the truth is exactly 1."""
    e = EXPERIMENTS[1]
    X = e.sample(n, seed=seed)
    g = e.value(X)
    logit = scale * (g - 1) + (g - 1) ** 3
    if noise:
        logit = logit + np.random.default_rng(seed).normal(0, noise, n)
    return ni.GradientSet(X, e.gradient(X), logit, NAMES, is_logit=is_logit)


def _cand(text: str) -> ni.Candidate:
    return ni.Candidate.from_string(text, NAMES, complexity=7, loss=0.0)


def test_threshold_of_the_truth_is_recovered():
    rule = fit_rule(_cand("x1**2 + 2*x2**2"), _ellipse_set())
    assert rule.kind == THRESHOLD
    assert rule.threshold == pytest.approx(1.0, abs=0.01)
    assert rule.fidelity >= 0.99
    assert rule.spearman == pytest.approx(1.0, abs=1e-9)
    assert rule.text() == f"class 1 when x1**2 + 2*x2**2 > {rule.threshold:.3f}"


def test_threshold_follows_a_monotone_map_and_a_scale_of_t():
    """exp(T) and 3*T are equally good formulas; their thresholds are exp(1) and 3."""
    gs = _ellipse_set(noise=0.3)
    assert fit_rule(_cand("exp(x1**2 + 2*x2**2)"), gs).threshold == pytest.approx(math.e, rel=0.02)
    r3 = fit_rule(_cand("3*x1**2 + 6*x2**2"), gs)
    assert r3.threshold == pytest.approx(3.0, rel=0.02)
    assert r3.fidelity >= 0.95  # the noise flips the class of some points near the boundary


def test_reversed_formula_gives_a_less_than_rule_with_the_same_fidelity():
    gs = _ellipse_set()
    up, down = fit_rule(_cand("x1**2 + 2*x2**2"), gs), fit_rule(_cand("-x1**2 - 2*x2**2"), gs)
    assert not down.increasing and down.comparison == "<"
    assert down.spearman < -0.99
    assert down.threshold == pytest.approx(-up.threshold, abs=1e-9)
    assert down.fidelity == pytest.approx(up.fidelity)
    assert "<" in down.text()


def test_rule_decides_like_the_network_on_points():
    gs = _ellipse_set()
    rule = fit_rule(_cand("x1**2 + 2*x2**2"), gs)
    t = EXPERIMENTS[1].value(gs.X)
    assert np.mean(rule.decide(t) == (gs.values > 0)) == pytest.approx(rule.fidelity)


def test_one_class_gives_no_threshold_and_says_so():
    gs = _ellipse_set()
    shifted = ni.GradientSet(gs.X, gs.gradients, np.abs(gs.values) + 0.5, NAMES)
    rule = fit_rule(_cand("x1**2 + 2*x2**2"), shifted)
    assert rule.kind == ONE_CLASS
    assert rule.threshold is None and rule.fidelity is None
    assert rule.n_class1 == len(shifted)
    assert "every point in class 1" in rule.text()
    with pytest.raises(ValueError, match="no threshold"):
        rule.decide(np.zeros(3))


def test_non_finite_formula_values_are_dropped_and_counted():
    gs = _ellipse_set(n=400)
    # log(x1) is undefined where x1 <= 0: about half of the points
    rule = fit_rule(_cand("log(x1) + x2"), gs)
    expected = int(np.sum(gs.X[:, 0] <= 0))
    assert rule.n_nonfinite == expected > 100
    assert rule.n_points == len(gs) - expected
    assert f"{expected} points dropped" in rule.explanation()


def test_hidden_unit_gets_a_monotone_relation_without_threshold():
    gs = _ellipse_set(n=2000, is_logit=False)
    rule = fit_rule(_cand("x1**2 + 2*x2**2"), gs)
    assert rule.kind == MONOTONE and rule.threshold is None and rule.fidelity is None
    knots = np.asarray(rule.knots)
    assert 10 <= len(knots) <= 50
    assert np.all(np.diff(knots[:, 0]) > 0) and np.all(np.diff(knots[:, 1]) >= 0)
    # the knots follow the true distortion 4 (g - 1) + (g - 1)^3
    g = knots[:, 0]
    np.testing.assert_allclose(knots[:, 1], 4 * (g - 1) + (g - 1) ** 3, atol=0.15)
    np.testing.assert_allclose(rule.relation(g), knots[:, 1])
    assert "grows monotonically" in rule.text()


def test_rule_json_round_trip():
    rule = fit_rule(_cand("x1**2 + 2*x2**2"), _ellipse_set())
    back = Rule.from_dict(json.loads(json.dumps(rule.to_dict())))
    assert back == rule


def test_fit_rule_needs_values():
    e = EXPERIMENTS[1]
    gs = e.gradient_set(50)
    with pytest.raises(ValueError, match="values"):
        fit_rule(_cand("x1**2 + 2*x2**2"), gs)
