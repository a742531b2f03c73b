"""``interpret``: from a gradient set to an Interpretation.

Runs the search, rewrites every front member in its simplest equivalent form,
rebuilds the front, chooses one formula by the elbow rule and - when the
unit's values are known - fits the decision rule.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import sympy

from . import _vm
from ._formula import Formula
from ._gradient_set import GradientSet
from ._interpretation import Candidate, Interpretation
from ._options import SearchOptions
from ._progress import Progress
from ._rule import fit_rule
from ._search import Targets
from ._simplify import Simplifier

# Elbow rule (documented in README "How the formula is chosen").
LOSS_FLOOR = 1e-14  # losses below this count as exact; differences there are rounding
COMPLEXITY_PENALTY = 0.2  # log-loss a unit of complexity must buy to be worth it
USEFUL_MEAN_COSINE = 0.9  # below this even the best formula explains little
# A formula whose rank correlation with the unit's values is this far below the front's best
# does not order the points as the unit does (a pole through the data) and is not chosen.
RANK_SLACK = 0.3
# classify chooses by the share of misclassified points; below this share they count as none
ERROR_FLOOR = 1e-3


def interpret(gradient_set: GradientSet, **search_options: Any) -> Interpretation:
    """Find the simplest formulas whose gradient direction matches the unit's.

    >>> import neuroninterp as ni
    >>> from neuroninterp.experiments import EXPERIMENTS
    >>> gs = EXPERIMENTS[1].gradient_set(300)
    >>> result = ni.interpret(gs, time_budget=20, progress=False)  # doctest: +SKIP
    >>> print(result.best)  # doctest: +SKIP
    x1**2 + 2*x2**2
    """
    if not isinstance(gradient_set, GradientSet):
        raise TypeError(
            f"interpret() takes a GradientSet, got {type(gradient_set).__name__}; build one with "
            "neuroninterp.GradientSet(X, gradients, values) or use an adapter "
            "(neuroninterp_torch.interpret_module, neuroninterp_keras.InterpretCallback)"
        )
    options = SearchOptions.from_kwargs(search_options)
    gradient_set.check_usable()
    gs = gradient_set
    out = _search_and_build(Targets.from_gradient_set(gs), gs.feature_names, options, *simplifiers(gs))
    out.description = gs.description
    out.gradient_set = gs
    out.stats.update(n_points=len(gs), n_directed=gs.n_directed, n_dropped=gs.n_dropped)
    if gs.values is not None:
        choose_by_rank(out, gs.X, gs.values)
    _attach_rule(out, gs)
    return out


def simplifiers(gs: GradientSet) -> tuple[Simplifier, Simplifier]:
    """The two simplifiers ``interpret`` uses: one on a sample of 500 points that
    rewrites the formulas, one on all points that re-measures their loss."""
    sample = gs.subsample(500, seed=0)
    keep = sample.has_direction
    return (Simplifier(gs.feature_names, sample.X[keep], sample.gradients[keep]),
            Simplifier(gs.feature_names, gs.X[gs.has_direction], gs.gradients[gs.has_direction]))


def classify(
    X: np.ndarray, y: np.ndarray, feature_names: list[str] | None = None, **search_options: Any
) -> Interpretation:
    """Symbolic classification, the paper's baseline: fit the labels directly,
    minimizing the hinge loss ``mean(max(0, 1 - y T(x)))`` with ``y`` in {-1, +1}
    (0/1 and boolean labels are mapped). The rule is "class 1 when T(x) > 0".
    It shows what the *data* says; ``interpret`` shows what the *network* uses.

    The formula is chosen on the front by its error rate (the share of points on the wrong
    side), with the same elbow rule as ``interpret``; errors below 0.1 % count as none.

    >>> import neuroninterp as ni
    >>> from neuroninterp.experiments import EXPERIMENTS
    >>> X = EXPERIMENTS[1].sample(500); y = EXPERIMENTS[1].labels(X)
    >>> result = ni.classify(X, y, time_budget=20, progress=False)  # doctest: +SKIP
    """
    options = SearchOptions.from_kwargs(search_options)
    probe = GradientSet(X, np.ones_like(np.asarray(X, dtype=float)), feature_names=feature_names)
    X = probe.X  # validated, non-finite rows dropped
    labels = _signed_labels(y, len(np.asarray(y)), probe)
    names = probe.feature_names
    targets = Targets(np.ascontiguousarray(X.T), labels[None, :].copy(), np.ones(len(X), bool),
                      _vm.HINGE)
    rows = np.random.default_rng(0).permutation(len(X))[:500]
    full = Simplifier(names, X, labels=labels)
    out = _search_and_build(targets, names, options, Simplifier(names, X[rows], labels=labels[rows]),
                            full, hinge=True)
    out.description = "symbolic classification of the labels (hinge loss): class 1 when T(x) > 0"
    out.stats.update(n_points=len(X), loss="hinge")
    if out.best is not None:
        out.stats["error_rate"] = full.error(out.best.expr)
        out.notes.append(f"Chosen by its error rate: {100 * out.stats['error_rate']:.2f} % of the "
                         "points are on the wrong side of T(x) = 0.")
    return out


def _signed_labels(y: Any, n_y: int, probe: GradientSet) -> np.ndarray:
    y = np.asarray(y, dtype=float).reshape(-1)
    if n_y != len(probe) + probe.n_dropped:
        raise ValueError(f"y has {n_y} labels for {len(probe) + probe.n_dropped} rows of X")
    if probe.n_dropped:
        raise ValueError(f"X has {probe.n_dropped} rows with non-finite values; remove them first")
    values = set(np.unique(y).tolist())
    if values <= {0.0, 1.0}:
        y = 2 * y - 1
    elif not values <= {-1.0, 1.0}:
        raise ValueError(f"y must hold two classes as 0/1, False/True or -1/+1, got {sorted(values)[:5]}")
    if len(set(y.tolist())) < 2:
        raise ValueError("y holds one class only: nothing to separate")
    return y


def _search_and_build(targets: Targets, names: list[str], options: SearchOptions,
                      simp: Simplifier, full: Simplifier, hinge: bool = False) -> Interpretation:
    """Search (with progress display), simplify the front, choose, collect stats."""
    from ._parallel import search  # imported late: it pulls in process machinery

    show = options.progress if options.progress is not None else sys.stderr.isatty()
    with Progress(enabled=show, names=names, budget=options.time_budget) as bar:
        result = search(targets, options, on_progress=bar.update)
        t0 = time.perf_counter()
        found = result.hof.front()
        front = simplified_front(found, names, simp, full, options.workers, bar.simplifying)
    best = choose_classifier(front, full) if hinge else choose(front)
    stats = {
        "seconds": result.seconds,
        "simplify_seconds": time.perf_counter() - t0,
        "evaluations": result.evals,
        "stopped": result.stopped,
        "solved_at": result.solved_at,
        "options": options.as_dict(),
    }
    out = Interpretation(front, best, list(names), stats, found=found)
    if best is None and front:
        out.notes.append(
            f"No formula explains the unit well: the best mean cosine is "
            f"{max(c.mean_cosine for c in front):.3f} (< {USEFUL_MEAN_COSINE}). Try a longer "
            "time_budget, more operators or a larger max_size, or check the network's gradients."
        )
    if simp.interrupted:
        out.notes.append(f"The simplification was interrupted: {simp.skipped} formulas of the front "
                         "are shown as the search found them.")
    elif simp.skipped:
        out.notes.append(f"Simplification took its {simp.seconds:g} s: the {simp.skipped} most complex "
                         "formulas of the front are shown as the search found them.")
    if result.stopped == "interrupted":
        out.notes.append("The search was interrupted; the front holds what was found until then.")
    return out


def simplified_front(entries: list, names: list[str], simp: Simplifier, full: Simplifier,
                     workers: int = 1, on_progress: Callable[[int, int], None] | None = None,
                     ) -> list[Candidate]:
    """Simplify each (complexity, loss, formula) entry with ``simp`` (in ``workers``
    processes; ``on_progress(done, total)`` as each is done), re-measure complexity and
    (with ``full``, on all points) loss, and keep the entries that no simpler entry beats."""
    from ._parallel import simplify_all  # imported late: it pulls in process machinery

    as_found = [formula.to_sympy(names) for _, _, formula in entries]
    cands: list[Candidate] = []
    for (_complexity, found_loss, _), found, expr in zip(entries, as_found,
                                                         simplify_all(as_found, simp, workers, on_progress)):
        loss = full.loss(expr)
        if not loss <= 2 * found_loss + 1e-12:  # (also when loss is nan)
            # Simplifying must never lose a formula: where a rewrite made it fit worse, or
            # made it unevaluable, it stays as found.
            before = full.loss(found)
            if before < loss or not math.isfinite(loss):
                expr, loss = found, before
        try:
            size = len(Formula.from_sympy(expr, names).code)
        except (ValueError, TypeError):  # written with a function the evaluator lacks: left out
            continue
        cands.append(Candidate(expr, size, loss, list(names)))
    cands.sort(key=lambda c: (c.complexity, c.loss))
    front: list[Candidate] = []
    for c in cands:
        if math.isfinite(c.loss) and (not front or c.loss < front[-1].loss - 1e-15):
            if front and c.complexity == front[-1].complexity:
                continue
            front.append(c)
    return front


def choose(front: list[Candidate], useful_cosine: float | None = USEFUL_MEAN_COSINE,
           badness: Callable[[sympy.Expr], float] | None = None, floor: float = LOSS_FLOOR,
           ) -> Candidate | None:
    """The elbow of the front: the formula minimizing
    ``log(max(loss, floor)) + COMPLEXITY_PENALTY * complexity``.

    Equivalently, a more complex formula is preferred only if its loss is
    smaller by a factor of at least ``exp(COMPLEXITY_PENALTY)`` per unit of
    added complexity, so the choice stops where the front stops improving
    much. Losses below ``floor`` count as exact. ``badness(expr)``, when given,
    replaces the front's loss (``classify`` passes the error rate). Only formulas whose
    mean cosine is at least ``useful_cosine`` are chosen (any when it is None, as for
    ``classify``): where nothing on the front is exact, the elbow could otherwise
    take ``x1`` at mean cosine 0.5 over a long formula at 0.99. ``None`` when no formula
    is useful.
    """
    if useful_cosine is not None:
        front = [c for c in front if c.mean_cosine >= useful_cosine]
    if not front:
        return None

    def value(c: Candidate) -> float:
        return choice_value(c.complexity, c.loss if badness is None else badness(c.expr), floor)

    return min(front, key=lambda c: (value(c), c.complexity))


def rank_correlations(front: list[Candidate], X: np.ndarray, values: np.ndarray) -> list[float]:
    """Spearman correlation of each formula's values with the unit's at ``X`` (-1 where a
    formula is not finite at every point, or does not vary)."""
    from scipy.stats import spearmanr

    out = []
    for c in front:
        with np.errstate(all="ignore"):
            t = np.asarray(c(X), dtype=np.float64)
        rho = spearmanr(t, values).statistic if np.all(np.isfinite(t)) and np.ptp(t) > 0 else -1.0
        out.append(float(rho) if math.isfinite(rho) else -1.0)
    return out


def choose_by_rank(out: Interpretation, X: np.ndarray, values: np.ndarray) -> None:
    """Re-choose ``out.best`` among the formulas that order the points as the unit does.

    The loss sees gradient directions only, so it is blind to a pole through the data:
    ``1/(c - T)`` points along ``grad T`` on both sides of its pole, yet on one side it
    orders the points the other way round. If the unit is ``phi(T)`` with ``phi``
    increasing, ``T`` ranks the points as the unit's values do, so a formula whose rank
    correlation with the values is more than ``RANK_SLACK`` below the front's best is left out.
    """
    if out.best is None or len(values) < 3 or np.ptp(values) <= 0:
        return
    rho = rank_correlations(out.front, X, values)
    floor = max(rho) - RANK_SLACK
    kept = [c for c, r in zip(out.front, rho) if r >= floor]
    if out.best in kept:
        return
    chosen = choose(kept, useful_cosine=None)
    if chosen is None:
        return
    left = out.best
    out.best = chosen
    out.notes.append(
        f"{left} was not chosen: its values order the points unlike the unit's (rank correlation "
        f"{rho[out.front.index(left)]:.2f}, best on the front {max(rho):.2f}), as a formula with a "
        "pole inside the data does."
    )


def choice_value(complexity: int, loss: float, floor: float = LOSS_FLOOR) -> float:
    """What the choice rule minimizes: ``log(max(loss, floor)) + COMPLEXITY_PENALTY * complexity``."""
    return math.log(max(loss, floor)) + COMPLEXITY_PENALTY * complexity


def choose_classifier(front: list[Candidate], full: Simplifier) -> Candidate | None:
    """``classify``'s choice. The hinge loss falls with the formula's scale alone
    (``exp(exp(T))`` beats ``T``), so the elbow is taken on the error rate on ``full``'s
    labelled points, which only the sign of T decides. A constant (one class everywhere)
    is the answer only when the front has nothing else."""
    varying = [c for c in front if c.expr.free_symbols] or front
    return choose(varying, useful_cosine=None, badness=full.error, floor=ERROR_FLOOR)


def _attach_rule(out: Interpretation, gs: GradientSet) -> None:
    if out.best is not None and gs.values is not None:
        out.rule = fit_rule(out.best, gs)
