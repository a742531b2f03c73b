"""The published experiments (Wetzel), as data: truth, threshold, domain.

Used by the demo, the examples, the benchmarks and the tests. Each experiment
can draw its uniform samples, label them as in the paper (truth times 1 %
multiplicative noise, compared with the threshold), and give the truth's exact
gradients, which is how the search is benchmarked without a network.

>>> e = EXPERIMENTS[1]
>>> X = e.sample(5, seed=0)
>>> X.shape, bool(((X >= -1) & (X < 1)).all())
((5, 2), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from ._formula import sympy_names
from ._gradient_set import GradientSet
from ._ops import LAMBDIFY_MODULES


@dataclass(frozen=True)
class Experiment:
    number: int
    truth: str  # sympy-parsable, over x1..xd
    threshold: float | None
    domain: tuple[tuple[float, float], ...]  # half-open [a, b) per variable
    note: str = ""

    @property
    def n_features(self) -> int:
        return len(self.domain)

    @property
    def names(self) -> list[str]:
        return [f"x{i + 1}" for i in range(self.n_features)]

    @property
    def expr(self) -> sympy.Expr:
        return sympy.sympify(self.truth, locals=sympy_names(self.names))

    def sample(self, n: int, seed: int | None = 0) -> np.ndarray:
        rng = np.random.default_rng(seed)
        lo = np.array([a for a, _ in self.domain])
        hi = np.array([b for _, b in self.domain])
        return lo + (hi - lo) * rng.random((n, self.n_features))

    def value(self, X: np.ndarray) -> np.ndarray:
        f = sympy.lambdify(sympy.symbols(self.names, real=True), self.expr, LAMBDIFY_MODULES)
        return np.broadcast_to(np.asarray(f(*np.asarray(X).T), dtype=float), (len(X),)).copy()

    def gradient(self, X: np.ndarray) -> np.ndarray:
        syms = sympy.symbols(self.names, real=True)
        out = np.empty_like(np.asarray(X, dtype=float))
        for k, s in enumerate(syms):
            df = sympy.lambdify(syms, sympy.diff(self.expr, s), LAMBDIFY_MODULES)
            out[:, k] = np.broadcast_to(np.asarray(df(*np.asarray(X).T), dtype=float), (len(X),))
        return out

    def labels(self, X: np.ndarray, seed: int | None = 0) -> np.ndarray:
        """Class 1 where truth * N(1, 0.01) > threshold, as in the paper."""
        if self.threshold is None:
            raise ValueError(f"experiment {self.number} has no single threshold")
        noise = np.random.default_rng(seed).normal(1.0, 0.01, len(X))
        return (self.value(X) * noise > self.threshold).astype(np.float64)

    def gradient_set(self, n: int = 1000, seed: int | None = 0, noise: float = 0.0) -> GradientSet:
        """Exact gradients of the truth at ``n`` uniform points; with ``noise``,
        Gaussian noise of that standard deviation is added to each component of
        the unit gradients (they are renormalized by ``GradientSet``)."""
        X = self.sample(n, seed)
        G = self.gradient(X)
        G = G / np.linalg.norm(G, axis=1, keepdims=True)
        if noise:
            G = G + np.random.default_rng(None if seed is None else seed + 7919).normal(0, noise, G.shape)
        return GradientSet(X, G, feature_names=self.names, description=f"experiment {self.number} truth")


EXPERIMENTS: dict[int, Experiment] = {
    1: Experiment(1, "x1**2 + 2*x2**2", 1.0, ((-1, 1), (-1, 1))),
    2: Experiment(2, "x1**2 + 3*x1*x2 + 2*x2**2", 5.0, ((-2, 0), (-2, 0))),
    3: Experiment(3, "x1**2 + sin(x2 + x3)", 1.0, ((-2, 0),) * 3),
    4: Experiment(4, "exp(x1 - x2) - pi*x3", 1.0, ((-1, 1),) * 3),
    5: Experiment(5, "x1*exp(-(x2**2 + x3**2)/2)", 0.2, ((0, 2), (-2, 2), (-2, 2))),
    6: Experiment(6, "x1*x2/((x3 - x4)**2 + (x5 - x6)**2)", 1.0, ((0, 2),) * 6),
    7: Experiment(7, "x1*x2 + x3*x4", None, ((0, 2),) * 4,
                  "class A: x1x2 > 1 and x3x4 > 1; class B: both < 1; other points dropped"),
    8: Experiment(8, "x1*x2 + x3 + sin(x2*x3)", None, ((0, 2),) * 3,
                  "class A: x1x2 + x3 > 2 and sin(x2x3) > 0.5; class B: both false"),
}


def equivalent(
    expr: sympy.Expr, truth: sympy.Expr, names: list[str], X: np.ndarray,
    cosine: float = 0.9999, fraction: float = 0.99, extra_ops: int = 3,
) -> tuple[bool, float, int]:
    """The equivalence test of the benchmarks: the signed cosine between the two
    gradients is >= ``cosine`` at >= ``fraction`` of the points ``X``, and
    ``sympy.count_ops(expr) <= count_ops(truth) + extra_ops``.
    Returns (equivalent, fraction of points passing, count_ops of expr)."""
    from ._formula import Formula
    from ._simplify import cosines

    _, g1 = Formula.from_sympy(expr, names).evaluate(X)
    _, g2 = Formula.from_sympy(truth, names).evaluate(X)
    ok = np.nan_to_num(cosines(g1, g2), nan=-1.0) >= cosine
    passed = float(ok.mean())
    ops = int(sympy.count_ops(expr))
    return passed >= fraction and ops <= int(sympy.count_ops(truth)) + extra_ops, passed, ops
