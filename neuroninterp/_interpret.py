"""``interpret``: from a gradient set to an Interpretation.

Runs the search, rewrites every front member in its simplest equivalent form,
rebuilds the front, chooses one formula by the elbow rule and - when the
unit's values are known - fits the decision rule.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any

import numpy as np

from ._gradient_set import GradientSet
from ._interpretation import Candidate, Interpretation
from ._options import SearchOptions
from ._progress import Progress
from ._simplify import Simplifier

# Elbow rule (documented in README "How the formula is chosen").
LOSS_FLOOR = 1e-10  # losses below this count as exact; differences there are rounding
COMPLEXITY_PENALTY = 0.1  # log-loss a unit of complexity must buy to be worth it
USEFUL_MEAN_COSINE = 0.9  # below this even the best formula explains little


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
    from ._parallel import search  # imported late: it pulls in multiprocessing machinery

    show = options.progress if options.progress is not None else sys.stderr.isatty()
    with Progress(enabled=show, names=gradient_set.feature_names, budget=options.time_budget) as bar:
        result = search(gradient_set, options, on_progress=bar.update)
    t0 = time.perf_counter()
    front = simplified_front(result.hof.front(), gradient_set)
    best = choose(front)
    stats = {
        "seconds": result.seconds,
        "simplify_seconds": time.perf_counter() - t0,
        "evaluations": result.evals,
        "stopped": result.stopped,
        "solved_at": result.solved_at,
        "n_points": len(gradient_set),
        "n_directed": gradient_set.n_directed,
        "n_dropped": gradient_set.n_dropped,
        "options": options.as_dict(),
    }
    out = Interpretation(front, best, list(gradient_set.feature_names), stats,
                         description=gradient_set.description, gradient_set=gradient_set)
    if best is None and front:
        out.notes.append(
            f"No formula explains the unit well: the best mean cosine is "
            f"{max(c.mean_cosine for c in front):.3f} (< {USEFUL_MEAN_COSINE}). Try a longer "
            "time_budget, more operators or a larger max_size, or check the network's gradients."
        )
    if result.stopped == "interrupted":
        out.notes.append("The search was interrupted; the front holds what was found until then.")
    _attach_rule(out, gradient_set)
    return out


def simplified_front(entries: list, gs: GradientSet, max_points: int = 500) -> list[Candidate]:
    """Simplify each (complexity, loss, formula) entry, re-measure complexity and
    loss, and keep the entries no simpler entry beats."""
    sample = gs.subsample(max_points, seed=0)
    keep = sample.has_direction
    simp = Simplifier(gs.feature_names, sample.X[keep], sample.gradients[keep])
    full = Simplifier(gs.feature_names, gs.X[gs.has_direction], gs.gradients[gs.has_direction])
    cands: list[Candidate] = []
    for _complexity, _loss, formula in entries:
        expr = simp.simplest(formula.to_sympy(gs.feature_names))
        from ._formula import Formula

        size = len(Formula.from_sympy(expr, gs.feature_names).code)
        cands.append(Candidate(expr, size, full.loss(expr), list(gs.feature_names)))
    cands.sort(key=lambda c: (c.complexity, c.loss))
    front: list[Candidate] = []
    for c in cands:
        if not front or c.loss < front[-1].loss - 1e-15 and math.isfinite(c.loss):
            if front and c.complexity == front[-1].complexity:
                continue
            front.append(c)
    return front


def choose(front: list[Candidate]) -> Candidate | None:
    """The elbow of the front: the formula minimizing
    ``log(max(loss, LOSS_FLOOR)) + COMPLEXITY_PENALTY * complexity``.

    Equivalently, a more complex formula is preferred only if its loss is
    smaller by a factor of at least ``exp(COMPLEXITY_PENALTY)`` per unit of
    added complexity, so the choice stops where the front stops improving
    much. Losses below ``LOSS_FLOOR`` count as exact. ``None`` when even the
    best formula's mean cosine is below ``USEFUL_MEAN_COSINE``.
    """
    if not front:
        return None
    if max(c.mean_cosine for c in front) < USEFUL_MEAN_COSINE:
        return None
    return min(front, key=lambda c: (math.log(max(c.loss, LOSS_FLOOR))
                                     + COMPLEXITY_PENALTY * c.complexity, c.complexity))


def _attach_rule(out: Interpretation, gs: GradientSet) -> None:
    try:
        from ._rule import fit_rule
    except ImportError:  # the rule module is optional while it is being built
        return
    if out.best is not None and gs.values is not None:
        out.rule = fit_rule(out.best, gs)


def mean_cosine(candidate: Candidate, gs: GradientSet) -> float:
    g = candidate.gradient(gs.X)
    with np.errstate(all="ignore"):
        cos = np.sum(g * gs.gradients, axis=1) / np.linalg.norm(g, axis=1)
    cos = np.where(np.isfinite(cos), cos, -1.0)[gs.has_direction]
    return float(cos.mean())
