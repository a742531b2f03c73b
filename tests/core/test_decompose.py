"""Decomposition by separable pairs: the pair test, the sign-free loss of the
pair problems, composition of formulas, and whole decompositions of formulas
that are not among the published experiments."""

from __future__ import annotations

import time

import numpy as np
import pytest
import sympy

import neuroninterp as ni
from neuroninterp import _vm
from neuroninterp._decompose import Decomposer, pair_scores, separable_parts, substitute
from neuroninterp._formula import Formula
from neuroninterp._options import SearchOptions
from neuroninterp._parallel import _decompose
from neuroninterp._search import Search, Targets


def exact_set(truth: str, d: int, n: int = 800, seed: int = 0, low: float = 0.0,
              high: float = 2.0) -> ni.GradientSet:
    names = [f"x{k + 1}" for k in range(d)]
    X = np.random.default_rng(seed).uniform(low, high, (n, d))
    _, g = Formula.from_sympy(sympy.sympify(truth), names).evaluate(X)
    return ni.GradientSet(X, g)


def test_pair_scores_single_out_the_pairs_that_enter_through_one_function() -> None:
    # x4 * sin(x1*x2) + x3: the in-plane direction of (x1, x2) is (x2, x1) up to sign,
    # whatever x3 and x4 are; no other pair has that property.
    gs = exact_set("x4*sin(x1*x2) + x3", 4)
    scores = pair_scores(gs.X, gs.gradients)
    separable = [(i, j) for s, i, j in scores if s < 0.1]
    assert separable == [(0, 1)]
    assert scores[0][0] < 0.01 and scores[1][0] > 0.2


def test_axial_loss_ignores_the_sign_at_each_point() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (200, 2))
    # the direction of grad (x1 - x2), flipped at random points
    U = np.tile([1.0, -1.0], (200, 1)) / np.sqrt(2) * rng.choice([-1.0, 1.0], (200, 1))
    t = Targets(np.ascontiguousarray(X.T), np.ascontiguousarray(U.T), np.ones(200, bool), _vm.AXIAL)
    diff = Formula.from_sympy("x1 - x2", ["x1", "x2"])
    assert t.loss(diff) < 1e-15
    assert t.loss(Formula.from_sympy("x2 - x1", ["x1", "x2"])) < 1e-15
    assert t.loss(Formula.from_sympy("x1 + x2", ["x1", "x2"])) > 1.0
    signed = Targets(t.Xt, t.Ut, t.w, _vm.DIRECTION)
    assert signed.loss(diff) > 1.0  # the signed loss sees the flips
    # constants are fitted against the sign-free residuals too
    from neuroninterp._search import optimize_constants

    start = Formula.from_sympy("x1 - 0.3*x2", ["x1", "x2"])
    fitted, loss = optimize_constants(start, t)
    assert t.loss(start) > 0.1 and loss < 1e-12


def test_substitute_writes_out_new_features() -> None:
    names = ["x1", "x2", "x3"]
    f = Formula.from_sympy("z0/z1", ["z0", "z1"])
    g0 = Formula.from_sympy("x1*x2", names)
    g1 = Formula.from_sympy("x3 + 1", names)
    X = np.random.default_rng(0).uniform(0, 1, (20, 3))
    values, _ = substitute(f, [g0, g1]).evaluate(X)
    np.testing.assert_allclose(values, X[:, 0] * X[:, 1] / (X[:, 2] + 1), rtol=1e-12)


@pytest.mark.parametrize("truth, d", [
    ("(x1 + x2)*exp(x3*x4)", 4),                  # two disjoint pairs, then a product
    ("x5*(x1 - x2)/(x3*x4 + 1)", 5),              # pairs merged in two rounds
])
def test_decomposition_composes_an_exact_formula(truth: str, d: int) -> None:
    gs = exact_set(truth, d, seed=3)
    targets = Targets.from_gradient_set(gs)
    dec = Decomposer(targets, SearchOptions(n_jobs=1), seed=3, deadline=time.perf_counter() + 60)
    found = dec.run()
    assert dec.log, "no pair was merged"
    losses = sorted(targets.loss(f) for f in found)
    assert losses and losses[0] < 1e-12, (dec.log, losses[:3])


def test_nothing_to_decompose_gives_nothing() -> None:
    gs = exact_set("x1*x2 + x2*x3 + x1*x3", 3, seed=0)  # every pair is tied to the third feature
    dec = Decomposer(Targets.from_gradient_set(gs), SearchOptions(n_jobs=1), 0, time.perf_counter() + 60)
    assert dec.run() == [] and dec.log == []


def test_interpret_finds_a_separable_formula_quickly_and_decompose_can_be_off() -> None:
    gs = exact_set("x1*x2/(exp(x3 - x4) + x5)", 5, n=600, seed=4)
    result = ni.interpret(gs, seed=4, time_budget=60, n_jobs=1, progress=False)
    assert result.stats["stopped"] == "early_stop" and result.best.loss < 1e-12, str(result.best)
    assert result.stats["seconds"] < 30
    off = ni.interpret(gs, seed=4, max_evals=2000, time_budget=None, n_jobs=1, progress=False,
                       decompose=False)
    assert off.stats["options"]["decompose"] is False
    with pytest.raises(TypeError, match="decompose must be True or False"):
        ni.interpret(gs, decompose="yes")


def test_points_where_a_merged_feature_overflows_are_dropped_quietly() -> None:
    import warnings

    from neuroninterp._decompose import _Problem

    rng = np.random.default_rng(0)
    Z = rng.uniform(0, 1, (400, 3))
    G = rng.normal(size=(400, 3))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    names = ["x1", "x2", "x3"]
    problem = _Problem([Formula.from_sympy(n, names) for n in names], Z, G)
    # exp(400*z0) is finite on [0, 1), but its squared gradient overflows where z0 > ~0.872;
    # the count below (z0 > 0.886) leaves a margin
    g = Formula.from_sympy("exp(400*z0) + z1", ["z0", "z1"])
    dec = Decomposer(Targets.from_gradient_set(ni.GradientSet(Z, G)), SearchOptions(n_jobs=1), 0,
                     time.perf_counter() + 60)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        merged = dec._merge(problem, [(0, 1, g)])
    assert merged is not None
    overflowing = int(((400 * Z[:, 0]) > 354.5).sum())
    assert overflowing > 20 and len(merged.Z) <= 400 - overflowing


def test_composed_formulas_outside_the_constraints_are_not_offered() -> None:
    gs = exact_set("x1*x2/(exp(x3 - x4) + x5)", 5, n=600, seed=4)
    options = SearchOptions(n_jobs=1, time_budget=20, nested_constraints={"/": {"exp": 0}})
    here = Search(Targets.from_gradient_set(gs), options, 0, 2)
    _decompose(here, options, time.perf_counter(), lambda: False)
    offered = [f for _, f in here.hof.entries.values()]
    offered += [m.formula for island in here.islands for m in island.members]
    assert all(here.grammar.allowed(f) for f in offered)
    # the decomposition did solve the problem, with the exponential inside the division
    dec = Decomposer(Targets.from_gradient_set(gs), options, 0, time.perf_counter() + 60)
    assert any(not here.grammar.allowed(f) for f in dec.run())


@pytest.mark.parametrize("truth, sides, noise", [
    ("log(x1) + x2**2", ("log(x1)", "x2**2"), 0.0),
    ("x2*exp(-x1**2)", ("-x1**2", "log(x2)"), 0.0),        # a product: a sum of logarithms
    ("x1*x2/(x1 + x2)", ("1/x1", "1/x2"), 0.0),             # 1/T = 1/x1 + 1/x2, and T falls with it
    ("x2*exp(-x1**2)", None, 0.03),                         # noisy: only the test, not the values
])
def test_separable_parts_finds_sums_of_one_feature_functions(truth: str, sides: tuple[str, str] | None,
                                                              noise: float) -> None:
    gs = exact_set(truth, 2, n=1000, seed=1, low=0.5)
    U = gs.gradients + noise * np.random.default_rng(0).normal(size=gs.gradients.shape)
    parts = separable_parts(gs.X, U / np.linalg.norm(U, axis=1, keepdims=True))
    assert parts is not None
    if sides is None:
        return
    values, slopes = parts
    for k, side in enumerate(sides):
        # the values are an affine map of the side's function, to within the fit's accuracy
        exact, _ = Formula.from_sympy(side, ["x1", "x2"]).evaluate(gs.X)
        A = np.stack([exact, np.ones_like(exact)], axis=1)
        coef, *_ = np.linalg.lstsq(A, values[:, k], rcond=None)
        assert np.max(np.abs(A @ coef - values[:, k])) < 1e-4, side
    # and the slopes give the ratio of the target's components, up to the two scales
    with np.errstate(all="ignore"):
        ratio = slopes[:, 0] / slopes[:, 1] / (gs.gradients[:, 0] / gs.gradients[:, 1])
    assert np.nanmax(np.abs(ratio / np.nanmedian(ratio) - 1)) < 1e-3


@pytest.mark.parametrize("truth", ["x2*(x1 + x2)", "x1/(1 - exp(-x1/x2))", "sin(x1*x2) + x1"])
def test_separable_parts_refuses_what_is_no_sum(truth: str) -> None:
    gs = exact_set(truth, 2, n=1000, seed=2, low=0.5)
    assert separable_parts(gs.X, gs.gradients) is None


def test_a_two_feature_sum_is_split_and_each_side_searched_alone() -> None:
    gs = exact_set("x1*x2/(x1 + x2)", 2, n=600, seed=5, low=0.5)
    targets = Targets.from_gradient_set(gs)
    dec = Decomposer(targets, SearchOptions(n_jobs=1), seed=5, deadline=time.perf_counter() + 60)
    found = dec.run()
    assert dec.log == ["split: A(x1) + A(x2)"]
    losses = sorted(targets.loss(f) for f in found)
    assert losses and losses[0] < 1e-10, losses[:3]
    # a problem that is no sum costs no search
    other = Decomposer(Targets.from_gradient_set(exact_set("x2*(x1 + x2)", 2, seed=5, low=0.5)),
                       SearchOptions(n_jobs=1), seed=5, deadline=time.perf_counter() + 60)
    assert other.run() == [] and other.evals == 0 and other.log == []
