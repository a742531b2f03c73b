"""The decision rule: what the unit does as a function of the chosen formula.

The search finds ``T`` only up to a monotone map. Once ``T`` is known, the rest
is a 1-D problem: an isotonic (monotone) regression of the unit's values on
``T(x)``. For a classifier logit the threshold ``c`` is read where the fitted
logit crosses 0, which gives the rule "class 1 when T(x) > c"; for a hidden
unit the fitted monotone relation itself is the result. ``Rule`` is a small,
JSON-able record of either.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

if TYPE_CHECKING:
    from ._gradient_set import GradientSet
    from ._interpretation import Candidate

N_KNOTS = 50  # points kept of the fitted monotone relation

# Rule kinds
THRESHOLD = "threshold"  # a classifier logit that changes sign along T: a threshold c
ONE_CLASS = "one_class"  # a classifier logit whose monotone fit never crosses 0
MONOTONE = "monotone"  # a hidden unit (not a logit): the monotone relation only
NO_DATA = "no_data"  # no point with a finite T(x)


@dataclass
class Rule:
    """The unit as a monotone function of the formula ``T``.

    kind: ``"threshold"``, ``"one_class"``, ``"monotone"`` or ``"no_data"``.
    formula / latex: ``T`` as sympy's string and as LaTeX.
    increasing: whether the unit grows with ``T`` (True when the search has
        oriented ``T`` correctly, which it normally does).
    threshold: ``c``, where the fitted logit crosses 0 (``"threshold"`` only).
    fidelity: the fraction of points where the rule (``T > c``) and the
        network (``value > 0``) agree (``"threshold"`` only).
    spearman: rank correlation between ``T(x)`` and the unit's values.
    knots: at most 50 ``(T, fitted value)`` pairs of the monotone fit.
    n_points: points used; n_nonfinite: points dropped because ``T(x)`` was
        not finite there. n_class1: points the network puts in class 1.

    >>> r = Rule(kind="threshold", formula="x1**2 + 2*x2**2", latex="x_{1}^{2} + 2 x_{2}^{2}",
    ...          threshold=1.0, fidelity=0.99, spearman=0.98, n_points=100)
    >>> r.text()
    'class 1 when x1**2 + 2*x2**2 > 1.000'
    """

    kind: str
    formula: str
    latex: str = ""
    increasing: bool = True
    is_logit: bool = True
    threshold: float | None = None
    fidelity: float | None = None
    spearman: float | None = None
    n_points: int = 0
    n_nonfinite: int = 0
    n_class1: int = 0
    value_range: tuple[float, float] | None = None
    t_range: tuple[float, float] | None = None
    knots: list[tuple[float, float]] = field(default_factory=list)

    # -- words -----------------------------------------------------------------
    @property
    def comparison(self) -> str:
        """``">"`` when class 1 lies at large ``T``, ``"<"`` otherwise."""
        return ">" if self.increasing else "<"

    def text(self, formula: str | None = None) -> str:
        """The rule in one line of plain text, e.g. ``class 1 when T > 1.000``."""
        f = self.formula if formula is None else formula
        if self.kind == THRESHOLD and self.threshold is not None:
            return f"class 1 when {f} {self.comparison} {format_number(self.threshold)}"
        if self.kind == ONE_CLASS:
            if self.n_class1 in (0, self.n_points):
                which = "class 1" if self.n_class1 else "class 0"
                return f"the network puts every point in {which}: no threshold on {f} can be read"
            return (f"the fitted logit does not cross 0 along {f} (the network puts "
                    f"{self.n_class1} of {self.n_points} points in class 1): no threshold")
        if self.kind == MONOTONE:
            grows = "grows" if self.increasing else "falls"
            return f"the unit {grows} monotonically with {f}"
        return f"no point has a finite value of {f}: no rule could be fitted"

    def explanation(self) -> str:
        """How well the rule matches the network, in one sentence."""
        parts = []
        if self.fidelity is not None:
            parts.append(
                f"agrees with the network's class on {100 * self.fidelity:.1f} % of "
                f"{self.n_points} points"
            )
        if self.spearman is not None:
            parts.append(f"rank correlation of T(x) with the unit's value {self.spearman:.3f}")
        if self.n_nonfinite:
            parts.append(f"{self.n_nonfinite} points dropped where T(x) is not finite")
        return "; ".join(parts)

    def decide(self, t: np.ndarray) -> np.ndarray:
        """Class 1 (True) or 0 for values ``t`` of the formula (threshold rules only)."""
        if self.threshold is None:
            raise ValueError(f"this rule has no threshold (kind {self.kind!r})")
        t = np.asarray(t, dtype=np.float64)
        return t > self.threshold if self.increasing else t < self.threshold

    def relation(self, t: np.ndarray) -> np.ndarray:
        """The fitted monotone relation (unit value as a function of ``T``),
        interpolated linearly between the stored knots."""
        if not self.knots:
            raise ValueError("this rule has no fitted relation (no finite points)")
        k = np.asarray(self.knots, dtype=np.float64)
        return np.interp(np.asarray(t, dtype=np.float64), k[:, 0], k[:, 1])

    # -- JSON --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["knots"] = [[_num(a), _num(b)] for a, b in self.knots]
        for key in ("value_range", "t_range"):
            if d[key] is not None:
                d[key] = [_num(v) for v in d[key]]
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in data.items() if k in known}
        kw["knots"] = [(float(a), float(b)) for a, b in kw.get("knots", [])]
        for key in ("value_range", "t_range"):
            if kw.get(key) is not None:
                kw[key] = (float(kw[key][0]), float(kw[key][1]))
        return cls(**kw)


def fit_rule(candidate: Candidate, gradient_set: GradientSet) -> Rule:
    """Fit the unit's values as a monotone function of ``T = candidate``.

    For a classifier logit (``gradient_set.is_logit``) the threshold is where
    the fitted logit crosses 0, and fidelity is the agreement between
    ``T > c`` and ``value > 0``.

    >>> import numpy as np
    >>> from neuroninterp import Candidate, GradientSet
    >>> X = np.random.default_rng(0).uniform(-1, 1, (400, 2))
    >>> logit = 3 * (X[:, 0] ** 2 + 2 * X[:, 1] ** 2 - 1)
    >>> gs = GradientSet(X, np.c_[X[:, 0], 2 * X[:, 1]], values=logit)
    >>> t = Candidate.from_string("x1**2 + 2*x2**2", ["x1", "x2"], 7, 0.0)
    >>> rule = fit_rule(t, gs)
    >>> round(rule.threshold, 2), rule.fidelity
    (1.0, 1.0)
    """
    from scipy.optimize import isotonic_regression
    from scipy.stats import spearmanr

    if gradient_set.values is None:
        raise ValueError(
            "fit_rule needs the unit's values: the gradient set was made without values=. "
            "Pass the unit's values (logits) to GradientSet."
        )
    formula = str(candidate)
    latex = candidate.latex()
    t_all = np.asarray(candidate(gradient_set.X), dtype=np.float64)
    v_all = np.asarray(gradient_set.values, dtype=np.float64)
    finite = np.isfinite(t_all) & np.isfinite(v_all)
    n_nonfinite = int((~finite).sum())
    t, v = t_all[finite], v_all[finite]
    is_logit = bool(gradient_set.is_logit)
    rule = Rule(kind=NO_DATA, formula=formula, latex=latex, is_logit=is_logit,
                n_points=int(t.size), n_nonfinite=n_nonfinite, n_class1=int((v > 0).sum()))
    if t.size == 0:
        return rule
    rule.value_range = (float(v.min()), float(v.max()))
    rule.t_range = (float(t.min()), float(t.max()))
    if t.size >= 2 and np.ptp(t) > 0 and np.ptp(v) > 0:
        rho = spearmanr(t, v).statistic
        rule.spearman = float(rho) if math.isfinite(rho) else None
    # The search orients T so that the unit grows with it; trust the data if not.
    rule.increasing = rule.spearman is None or rule.spearman >= 0

    order = np.argsort(t, kind="stable")
    ts, vs = t[order], v[order]
    fitted = isotonic_regression(vs, increasing=rule.increasing).x
    centres, levels = _blocks(ts, fitted)
    rule.knots = _downsample(centres, levels, N_KNOTS)

    if not is_logit:
        rule.kind = MONOTONE
        return rule
    crossing = _crossing(centres, levels, rule.increasing)
    if crossing is None:
        rule.kind = ONE_CLASS
        return rule
    rule.kind = THRESHOLD
    rule.threshold = crossing
    rule.fidelity = float(np.mean(rule.decide(t) == (v > 0)))
    return rule


def _blocks(ts: np.ndarray, fitted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Collapse the isotonic step function to one knot per constant block:
    (mean T of the block, fitted level). Piecewise-linear interpolation through
    these knots is monotone and smoother than the steps."""
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    ends = np.r_[starts[1:], fitted.size]
    centres = np.array([ts[a:b].mean() for a, b in zip(starts, ends)])
    levels = fitted[starts]
    return centres, levels


def _crossing(centres: np.ndarray, levels: np.ndarray, increasing: bool) -> float | None:
    """Where the piecewise-linear relation through the knots crosses 0 (None
    when the fitted values are all positive or all non-positive)."""
    lv = levels if increasing else -levels
    above = np.flatnonzero(lv > 0)
    if above.size == 0 or above[0] == 0:
        return None
    k = int(above[0])
    t0, t1, y0, y1 = centres[k - 1], centres[k], lv[k - 1], lv[k]
    if y0 == 0 or t1 == t0:
        return float(t0)
    return float(t0 + (0 - y0) * (t1 - t0) / (y1 - y0))


def _downsample(centres: np.ndarray, levels: np.ndarray, n: int) -> list[tuple[float, float]]:
    if centres.size > n:
        idx = np.unique(np.round(np.linspace(0, centres.size - 1, n)).astype(int))
        centres, levels = centres[idx], levels[idx]
    return [(float(a), float(b)) for a, b in zip(centres, levels)]


def format_number(x: float, digits: int = 4) -> str:
    """A short, readable number: 3 decimals for moderate sizes, else ``digits``
    significant figures in scientific notation."""
    if x == 0 or 1e-3 <= abs(x) < 1e5:
        return f"{x:.3f}"
    return f"{x:.{digits - 1}e}"


def rounded(expr: sympy.Expr, digits: int = 4) -> sympy.Expr:
    """``expr`` with its floating constants rounded to ``digits`` significant figures
    (for display only)."""
    reps = {f: sympy.Float(float(f"{float(f):.{digits}g}")) for f in expr.atoms(sympy.Float)}
    return expr.xreplace(reps) if reps else expr


def _num(x: float) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None
