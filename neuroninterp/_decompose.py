"""Decomposition of a search problem by separable pairs of features.

If the unit is ``T = F(g(x_i, x_j), other features)``, the part of its gradient
that lies in the ``(x_i, x_j)`` plane points along ``grad g``, so that part's
direction depends on ``x_i`` and ``x_j`` alone. Such a pair is found from the
data (nearby points in the pair's plane have the same in-plane direction, up
to sign), ``g`` is found by a small search on two features that matches
directions up to sign (``_vm.AXIAL``: the outer slope ``dF/dg`` may have either
sign), and the pair is replaced by one new feature ``z = g(x_i, x_j)`` whose
target gradient follows from the chain rule: ``dT/dz = (u_ij . grad g) / |grad g|^2``.
Pairs are merged round after round; the reduced problem is then searched as
usual, and its formulas, with each new feature written out, are formulas of
the original features.

A problem left with two features (or given with two) may split further when
the search on it has found no exact formula: if ``T = F(A(z1) + B(z2))`` with
``A`` and ``B`` monotone on the data (a product of two one-feature factors is
such a sum, of logarithms), the ratio of the two target components is
``A'(z1) / B'(z2)``, so its logarithm is a sum of two one-feature functions.
That is tested by fitting Legendre polynomials with and without products of
the two features' polynomials (``separable_parts``). Then
``A`` and ``B`` are known numerically (their slopes from the fit, integrated),
and each side is searched on its own feature next to the other side's values:
features ``(z1, b)`` with ``b = B(z2)``, whose target follows from the chain
rule. A side's formula that is additive in its stand-in (``c b + A(z1)``) or
multiplicative (``exp(c b) H(z1)``) gives ``A`` as a formula, which is put in
for the stand-in of the other side's formulas.

Nothing here is trusted blindly: the composed formulas are offered to the main
search, which scores them on all points like any other candidate. The
decomposition costs a bounded number of generations, so with ``n_jobs=1`` the
same seed still gives the same front.

>>> from neuroninterp.experiments import EXPERIMENTS
>>> gs = EXPERIMENTS[3].gradient_set(500)
>>> [(i, j) for score, i, j in pair_scores(gs.X, gs.gradients) if score < PAIR_SCORE_MAX]
[(1, 2)]
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import sympy
from numpy.polynomial import legendre
from scipy.integrate import cumulative_trapezoid
from scipy.spatial import cKDTree

from . import _vm
from ._formula import Formula
from ._interpret import choice_value
from ._ops import VAR
from ._options import SearchOptions
from ._search import EPS, Search, Targets, optimize_constants

MAX_FEATURES = 24  # beyond this the pair tests (d^2 / 2 of them per round) cost too much
NEIGHBOURS = 8  # points whose in-plane directions are compared with each point's
PAIR_SCORE_MAX = 0.1  # largest neighbour disagreement of a pair that may be separable
PAIRS_PER_ROUND = 4  # sub-searches per round, best-scoring pairs first
PAIR_GENERATIONS = 120  # generations of a pair's sub-search
REDUCED_GENERATIONS = 1500  # generations of the search on the reduced features
EXACT = 1e-14  # a sub-search with a loss below this is solved: it stops soon after
EXACT_PAIR = 1e-10  # a pair's function this good is taken without further test
RESIDUAL_R2 = 0.05  # share of a pair's residual angle another feature may explain (noise: ~0.01)
NEAR_BEST = 1.1  # a pair's function: the simplest whose loss is at most this times the best
MIN_PLANE_WEIGHT = 0.3  # quantile: points whose gradient barely lies in the plane are left out
SPLIT_DEGREE = 12  # of each feature's Legendre polynomial in the test for a sum A(z1) + B(z2)
SPLIT_CROSS = 3  # products of the two features' polynomials up to this degree each
SPLIT_RATIO = 1.1  # residual variance without / with the products: at most this, the sum fits
SPLIT_SIGNS = 0.03  # share of points whose component ratio may have the minority sign (noise)
SPLIT_GENERATIONS = 500  # of each side's sub-search
SPLIT_SOLVED = 1e-11  # a side's loss that counts as solved (its stand-in is only numerically exact)
SPLIT_NEAR = 10.0  # a side's formulas used: loss at most this times the side's best
SPLIT_GRID = 4096  # points of the numerical integration of a side's slope
SPLIT_EXACT = 1e-6  # relative spread of a formula's slope in its stand-in that still counts as none


def pair_scores(X: np.ndarray, U: np.ndarray) -> list[tuple[float, int, int]]:
    """For each pair of features (0-based), how much the direction of the gradient's
    part in that pair's plane disagrees between points that are close in the plane
    (0: it depends on the pair alone). Best first.

    Directions are compared up to sign, as doubled angles
    ``(cos 2a, sin 2a)``; the disagreement is the squared distance of each point's
    doubled angle from the mean of its neighbours', weighted by the squared length
    of the in-plane gradient.
    """
    lo, hi = X.min(axis=0), X.max(axis=0)
    Xs = (X - lo) / np.where(hi > lo, hi - lo, 1.0)
    out = []
    for i, j in itertools.combinations(range(X.shape[1]), 2):
        plane = U[:, [i, j]]
        length = np.linalg.norm(plane, axis=1)
        keep = length > 1e-12
        if keep.sum() <= NEIGHBOURS:
            continue
        w = plane[keep] / length[keep, None]
        doubled = np.stack([w[:, 0] ** 2 - w[:, 1] ** 2, 2 * w[:, 0] * w[:, 1]], axis=1)
        pts = Xs[keep][:, [i, j]]
        _, idx = cKDTree(pts).query(pts, k=NEIGHBOURS + 1)
        spread = np.sum((doubled - doubled[idx[:, 1:]].mean(axis=1)) ** 2, axis=1)
        weight = length[keep] ** 2
        out.append((float(np.sum(weight * spread) / np.sum(weight)), i, j))
    return sorted(out)


def separable_parts(Z: np.ndarray, G: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """For a problem with two features ``Z`` (n, 2) and unit targets ``G``: if the
    unit is ``T = F(A(z1) + B(z2))`` with ``A`` and ``B`` monotone on the data, the
    values of ``A`` and ``B`` at the points (n, 2), each scaled to a range of 1, and
    the slopes of those scaled functions (n, 2); otherwise None.

    ``log |G1 / G2| = log |A'(z1)| - log |B'(z2)|``: the sum is fitted by one
    polynomial per feature, and it is taken when products of the two features'
    polynomials explain little more of it (on noisy targets a problem that is
    nearly a sum passes too, and its sides' formulas are scored like any others).
    """
    with np.errstate(all="ignore"):
        ratio = G[:, 0] / G[:, 1]
    rows = np.isfinite(ratio) & (np.abs(G[:, 0]) > 1e-3) & (np.abs(G[:, 1]) > 1e-3)
    lo, hi = Z.min(axis=0), Z.max(axis=0)
    if rows.sum() < 50 or not np.all(hi > lo):
        return None
    positive = float(np.mean(ratio[rows] > 0))
    if min(positive, 1 - positive) > SPLIT_SIGNS:
        return None  # A or B turns on the data
    S = 2 * (Z - lo) / (hi - lo) - 1
    y = np.log(np.abs(ratio[rows]))
    P1 = legendre.legvander(S[rows, 0], SPLIT_DEGREE)
    P2 = legendre.legvander(S[rows, 1], SPLIT_DEGREE)[:, 1:]
    cross = [P1[:, i] * P2[:, j - 1] for i in range(1, SPLIT_CROSS + 1) for j in range(1, SPLIT_CROSS + 1)]

    def fit(A: np.ndarray) -> tuple[np.ndarray, float]:
        coef, *_ = np.linalg.lstsq(A, y, rcond=None)
        return coef, float(np.sum((y - A @ coef) ** 2))

    coef, rss = fit(np.hstack([P1, P2]))
    _, rss_cross = fit(np.hstack([P1, P2, np.stack(cross, axis=1)]))
    if not rss <= SPLIT_RATIO * rss_cross + 1e-20 * len(y):
        return None
    # |A'| = exp(alpha(z1)), |B'| = exp(-gamma(z2)), where y = alpha + gamma; B' carries the sign
    alpha = coef[:SPLIT_DEGREE + 1]
    gamma = np.concatenate([[0.0], coef[SPLIT_DEGREE + 1:]])
    sign = 1.0 if positive >= 0.5 else -1.0
    A = _primitive(S[:, 0], lo[0], hi[0], alpha)
    B = _primitive(S[:, 1], lo[1], hi[1], -gamma)
    if A is None or B is None:
        return None
    return np.stack([A[0], sign * B[0]], axis=1), np.stack([A[1], sign * B[1]], axis=1)


def _primitive(s: np.ndarray, lo: float, hi: float, log_slope: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray] | None:
    """Values and slopes at scaled points ``s`` (in [-1, 1]) of the function of ``z`` whose
    slope is ``exp(log_slope(s))`` (Legendre coefficients), scaled to a range of 1."""
    grid = np.linspace(-1.0, 1.0, SPLIT_GRID)
    with np.errstate(all="ignore"):
        slope = np.exp(legendre.legval(grid, log_slope))
        values = cumulative_trapezoid(slope, (lo + (grid + 1) * (hi - lo) / 2), initial=0.0)
        span = values[-1]
        if not (np.all(np.isfinite(slope)) and np.isfinite(span) and span > 0):
            return None
        return np.interp(s, grid, values) / span, np.exp(legendre.legval(s, log_slope)) / span


@dataclass
class _Problem:
    """The current features (formulas of the original ones), their values and the
    unit target directions in their coordinates."""

    features: list[Formula]
    Z: np.ndarray  # (n, k) values
    G: np.ndarray  # (n, k) unit target directions


class Decomposer:
    """Runs the decomposition for one search: ``run()`` returns formulas of the
    original features (possibly none)."""

    def __init__(self, targets: Targets, options: SearchOptions, seed: int | None,
                 deadline: float, max_evals: float = math.inf,
                 stop: Callable[[], bool] = lambda: False) -> None:
        self.targets = targets
        keep = targets.w
        self.X = targets.Xt.T[keep]
        self.U = targets.Ut.T[keep]
        self.options = options
        self.seed = seed
        self.deadline = deadline
        self.max_evals = max_evals
        self.stop = stop
        self.evals = 0
        self.log: list[str] = []  # the features after each round (and a split), as text
        self.names = [f"x{k + 1}" for k in range(self.X.shape[1])]

    def _spent(self, running: int = 0) -> bool:
        """Past the deadline or the evaluation cap (``running``: evaluations of a
        sub-search that are not yet counted), or told to stop (Ctrl-C)."""
        return (time.perf_counter() > self.deadline or self.evals + running >= self.max_evals
                or self.stop())

    def _sub_options(self) -> SearchOptions:
        return replace(self.options, max_size=min(self.options.max_size, 20), time_budget=None,
                       max_evals=10**12, n_jobs=1, progress=False, population_size=30)

    def _search(self, Xt: np.ndarray, Ut: np.ndarray, mode: int, generations: int, islands: int,
                seed_offset: int, exact: float = EXACT) -> list[tuple[int, float, Formula]]:
        """A small in-process search; its front (complexity, loss, formula). Once its
        loss is below ``exact``, it stops soon."""
        targets = Targets(np.ascontiguousarray(Xt), np.ascontiguousarray(Ut),
                          np.ones(Xt.shape[1], dtype=bool), mode)
        seed = None if self.seed is None else self.seed * 7919 + seed_offset
        search = Search(targets, self._sub_options(), seed, islands)
        solved_at = None
        for gen in range(generations):
            if self._spent(search.evals):
                break
            search.step()
            best = search.hof.best()
            if best is not None and best[0] <= exact:
                solved_at = gen if solved_at is None else solved_at
                if gen >= 2 * solved_at + 10:
                    break
        self.evals += search.evals
        return search.hof.front()

    def _solve_pair(self, p: _Problem, i: int, j: int, k: int) -> tuple[float, float, Formula] | None:
        """The simplest ``g(z_i, z_j)`` whose gradient lies along the in-plane part of the
        target directions: (choice value, loss, g over the pair as features 0 and 1)."""
        plane = p.G[:, [i, j]]
        length = np.linalg.norm(plane, axis=1)
        rows = (length > 1e-12) & (length >= np.quantile(length, MIN_PLANE_WEIGHT))
        if rows.sum() < 20:
            return None
        Ut = (plane[rows] / length[rows, None]).T
        front = self._search(p.Z[rows][:, [i, j]].T, Ut, _vm.AXIAL, PAIR_GENERATIONS, 4, k)
        if not front:
            return None
        c, loss, f = _simplest_near_best(front)
        return choice_value(c, loss), loss, f

    def _merge(self, p: _Problem, merges: list[tuple[int, int, Formula]]) -> _Problem | None:
        """The problem with each merged pair replaced by its new feature."""
        merged = {i for i, j, _ in merges} | {j for i, j, _ in merges}
        features, columns, grads = [], [], []
        ok = np.ones(len(p.Z), dtype=bool)
        for i, j, g in merges:
            code, arg, val = g.arrays()
            v, dg = _vm.evaluate(code, arg, val, np.ascontiguousarray(p.Z[:, [i, j]].T))
            with np.errstate(all="ignore"):  # points where g's gradient overflows are dropped
                sq = dg[0] ** 2 + dg[1] ** 2
                slope = (p.G[:, i] * dg[0] + p.G[:, j] * dg[1]) / sq
            ok &= np.isfinite(v) & np.isfinite(slope) & np.isfinite(sq) & (sq > 0)
            features.append(self._tidy(substitute(g, [p.features[i], p.features[j]])))
            columns.append(v)
            grads.append(slope)
        for k in range(len(p.features)):
            if k not in merged:
                features.append(p.features[k])
                columns.append(p.Z[:, k])
                grads.append(p.G[:, k])
        Z = np.stack(columns, axis=1)[ok]
        G = np.stack(grads, axis=1)[ok]
        norm = np.linalg.norm(G, axis=1)
        good = norm > 0
        if good.sum() < 20:
            return None
        return _Problem(features, Z[good], G[good] / norm[good, None])

    def _split(self, p: _Problem, offset: int) -> list[Formula]:
        """Formulas of a two-feature problem that is ``F(A(z1) + B(z2))``, each side
        searched on its own (see the module's docstring); none if it is not."""
        parts = separable_parts(p.Z, p.G)
        if parts is None:
            return []
        values, slopes = parts
        self.log.append("split: " + " + ".join(f"A({f.to_sympy(self.names)})" for f in p.features))
        sides = []
        for k in (0, 1):  # side k: feature k and the other side's values as a stand-in
            with np.errstate(all="ignore"):
                U = np.stack([p.G[:, k], p.G[:, 1 - k] / slopes[:, 1 - k]], axis=1)
                U /= np.linalg.norm(U, axis=1, keepdims=True)
            rows = np.all(np.isfinite(U), axis=1)
            X = np.stack([p.Z[:, k], values[:, 1 - k]], axis=1)[rows]
            if rows.sum() < 20 or self._spent():
                return []
            front = self._search(X.T, U[rows].T, _vm.DIRECTION, SPLIT_GENERATIONS, 4, offset + k,
                                 exact=SPLIT_SOLVED)
            sides.append((X, front))
        w = sympy.Symbol("w", real=True)
        out = []
        for k in (0, 1):
            X, front = sides[k]
            ends = _good(front)[:3]
            for part in _parts(sides[1 - k][0], _good(sides[1 - k][1]), self.names[1 - k]):
                # the other side's function as a formula of its feature, mapped onto this stand-in
                f = _formula(part, self.names[:2])
                if f is None:
                    continue
                v, _ = f.evaluate(p.Z)
                ok = np.isfinite(v)
                if ok.sum() < 20 or not np.std(v[ok]) > 0:
                    continue
                A = np.stack([v[ok], np.ones(ok.sum())], axis=1)
                (mu, nu), *_ = np.linalg.lstsq(A, values[ok, 1 - k], rcond=None)
                if np.corrcoef(v[ok], values[ok, 1 - k])[0, 1] ** 2 < 1 - 1e-4:
                    continue  # not the same function: the sides disagree
                for end in ends:
                    expr = end.to_sympy([self.names[k], "w"]).subs(w, float(mu) * part + float(nu))
                    composed = _formula(expr, self.names[:2])
                    if composed is not None:
                        # its constants carry the error of the numerical stand-ins: fitted anew
                        whole = self._tidy(substitute(composed, p.features))
                        out.append(optimize_constants(whole, self.targets)[0])
        return out

    def run(self) -> list[Formula]:
        d = self.X.shape[1]
        if not 2 <= d <= MAX_FEATURES or len(self.X) < 20:
            return []
        p = _Problem([Formula([VAR], [k], [0.0]) for k in range(d)], self.X, self.U)
        offset = 0
        while len(p.features) > 2 and not self._spent():
            candidates = [(s, i, j) for s, i, j in pair_scores(p.Z, p.G) if s <= PAIR_SCORE_MAX]
            solved = []
            for score, i, j in candidates[:PAIRS_PER_ROUND]:
                offset += 1
                found = self._solve_pair(p, i, j, offset)
                if found is not None and _accepted(p, i, j, score, loss=found[1], g=found[2]):
                    solved.append((found[0], i, j, found[2]))
            if not solved:
                break
            merges: list[tuple[int, int, Formula]] = []
            used: set[int] = set()
            for _, i, j, g in sorted(solved, key=lambda s: s[0]):
                if i not in used and j not in used and len(p.features) - len(merges) > 2:
                    merges.append((i, j, g))
                    used |= {i, j}
            reduced = self._merge(p, merges)
            if reduced is None:
                break
            p = reduced
            self.log.append(", ".join(str(f.to_sympy(self.names)) for f in p.features))
        formulas: list[Formula] = []
        exact = False
        if len(p.features) < d and not self._spent():
            front = self._search(p.Z.T, p.G.T, _vm.DIRECTION, REDUCED_GENERATIONS, 4, 0)
            formulas = [self._tidy(substitute(f, p.features)) for _, _, f in front]
            exact = any(loss <= EXACT for _, loss, _ in front)
        if len(p.features) == 2 and not exact and not self._spent():
            formulas += self._split(p, offset + 1)
        return formulas

    def _tidy(self, f: Formula) -> Formula:
        """``f`` through sympy and back, when that is shorter (composed formulas repeat
        signs and nest subtractions that sympy's canonical form removes)."""
        try:
            g = Formula.from_sympy(f.to_sympy(self.names), self.names)
        except (ValueError, TypeError, KeyError, RecursionError):
            return f
        return g if len(g.code) < len(f.code) else f


def _accepted(p: _Problem, i: int, j: int, score: float, loss: float, g: Formula) -> bool:
    """Whether ``g`` may stand for pair ``(i, j)``: it fits exactly, or it fits within
    the pair's neighbour disagreement and no other feature explains what is left."""
    if loss <= EXACT_PAIR:
        return True
    return loss <= 0.5 * score and not residual_depends_on_the_rest(p.Z, p.G, i, j, g)


def residual_depends_on_the_rest(Z: np.ndarray, G: np.ndarray, i: int, j: int, g: Formula) -> bool:
    """Whether the angle between the in-plane target direction of pair ``(i, j)`` and
    ``grad g`` is explained by another feature beyond what the pair itself explains.

    Noise leaves a residual angle that no feature predicts; a pair that is only
    nearly separable (its in-plane direction drifts slowly with a third feature)
    leaves one that the third feature predicts. The test is a partial R^2: a
    quadratic model in the pair, then the same with one more feature added.
    """
    code, arg, val = g.arrays()
    _, dg = _vm.evaluate(code, arg, val, np.ascontiguousarray(Z[:, [i, j]].T))
    plane = G[:, [i, j]]
    with np.errstate(all="ignore"):
        dot = plane[:, 0] * dg[0] + plane[:, 1] * dg[1]
        cross = plane[:, 0] * dg[1] - plane[:, 1] * dg[0]
        angle = np.arctan(cross / dot)  # sign-free: in (-pi/2, pi/2)
    rows = np.isfinite(angle) & (np.linalg.norm(plane, axis=1) > 1e-12)
    if rows.sum() < 30:
        return False
    a, zi, zj = angle[rows], Z[rows, i], Z[rows, j]
    base = [np.ones_like(zi), zi, zj, zi * zi, zj * zj, zi * zj]

    def rss(columns: list[np.ndarray]) -> float:
        A = np.stack(columns, axis=1)
        A = A / np.maximum(np.abs(A).max(axis=0), 1e-300)
        coef, *_ = np.linalg.lstsq(A, a, rcond=None)
        return float(np.sum((a - A @ coef) ** 2))

    rss_pair = rss(base)
    if not rss_pair > 0:
        return False
    for k in range(Z.shape[1]):
        if k not in (i, j):
            zk = Z[rows, k]
            if (rss_pair - rss(base + [zk, zk * zk, zk * zi, zk * zj])) / rss_pair > RESIDUAL_R2:
                return True
    return False


def _good(front: list[tuple[int, float, Formula]]) -> list[Formula]:
    """A side's formulas within ``SPLIT_NEAR`` of its best loss, simplest first (near an
    exact fit the longer ones mostly add terms that do nothing)."""
    best = min((loss for _, loss, _ in front), default=math.inf)
    return [f for _, loss, f in sorted(front, key=lambda e: e[0]) if loss <= SPLIT_NEAR * best + 1e-10]


def _parts(X: np.ndarray, good: list[Formula], name: str) -> list[sympy.Expr]:
    """What a side's formulas say about its own function, simplest first, at most two:
    formulas ``c w + A(z)`` of the side's feature ``z`` (called ``name``) and stand-in
    ``w`` give ``A``, formulas ``exp(c w) H(z)`` give ``log H`` (a monotone map of ``A``
    is no use here, since it does not add to the other side's function)."""
    out = []
    for f in good:
        v, g = f.evaluate(X)
        with np.errstate(all="ignore"):
            for slope, log in ((g[:, 1], False), (g[:, 1] / v, True)):
                m = float(np.median(slope))
                if not (np.all(np.isfinite(slope)) and m != 0
                        and np.max(np.abs(slope - m)) <= SPLIT_EXACT * abs(m)):
                    continue
                part = f.to_sympy([name, "w"]).subs(sympy.Symbol("w", real=True), 0)
                if log:
                    if not (np.all(v > 0) or np.all(v < 0)):
                        continue
                    part = sympy.log(part if v[0] > 0 else -part)
                out.append(part)
                break
        if len(out) == 2:
            break
    return out


def _formula(expr: sympy.Expr, names: list[str]) -> Formula | None:
    """``expr`` compiled over ``names``, or None where it cannot be (a sympy form the
    virtual machine has no code for)."""
    try:
        return Formula.from_sympy(expr, names)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def _simplest_near_best(front: list[tuple[int, float, Formula]]) -> tuple[int, float, Formula]:
    """The simplest front entry whose loss is within ``NEAR_BEST`` of the best one's:
    on noisy directions, a longer formula that is better by less than the noise
    (a monotone function of the simple one, say) is not worth its size."""
    best = min(loss for _, loss, _ in front)
    return min((e for e in front if e[1] <= NEAR_BEST * best + EPS), key=lambda e: e[0])


def substitute(f: Formula, features: list[Formula]) -> Formula:
    """``f`` with variable ``k`` replaced by the formula ``features[k]``."""
    code: list[int] = []
    arg: list[int] = []
    val: list[float] = []
    for c, a, v in zip(f.code, f.arg, f.val):
        if c == VAR:
            g = features[a]
            code += g.code
            arg += g.arg
            val += g.val
        else:
            code.append(c)
            arg.append(a)
            val.append(v)
    return Formula(code, arg, val)
