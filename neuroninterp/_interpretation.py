"""The result of an interpretation: the Pareto front, the chosen formula, and
what the report needs (rule, fidelity, search statistics).

``Candidate`` is one formula of the front; ``Interpretation`` holds them all.
Rendering and files live in ``_report``; the decision rule in ``_rule``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from ._formula import Formula, sympy_names

if TYPE_CHECKING:
    from ._gradient_set import GradientSet


@dataclass
class Candidate:
    """One formula of the Pareto front.

    ``expr`` is a sympy expression over the feature symbols, in its simplest
    equivalent form; ``complexity`` its size; ``loss`` the gradient-matching
    loss on all points (0 is a perfect match, 4 the worst);
    ``mean_cosine = 1 - loss / 2`` the mean cosine between the formula's and
    the unit's gradient directions.

    >>> c = Candidate.from_string("x1**2 + 2*x2**2", ["x1", "x2"], complexity=7, loss=0.0)
    >>> c(np.array([[1.0, 1.0]])).tolist()
    [3.0]
    """

    expr: sympy.Expr
    complexity: int
    loss: float
    feature_names: list[str]
    _formula: Formula | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_string(cls, text: str, feature_names: list[str], complexity: int, loss: float) -> Candidate:
        expr = sympy.sympify(text, locals=sympy_names(feature_names))
        return cls(expr, int(complexity), float(loss), list(feature_names))

    @property
    def mean_cosine(self) -> float:
        return 1.0 - self.loss / 2.0

    @property
    def formula(self) -> Formula:
        if self._formula is None:
            self._formula = Formula.from_sympy(self.expr, self.feature_names)
        return self._formula

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """The formula's values at the rows of ``X`` (nan where undefined)."""
        with np.errstate(all="ignore"):
            return self.formula.evaluate(_check_width(X, self.feature_names))[0]

    def gradient(self, X: np.ndarray) -> np.ndarray:
        """Exact input gradients (n, d) at the rows of ``X``."""
        return self.formula.evaluate(_check_width(X, self.feature_names))[1]

    def __str__(self) -> str:
        return sympy.sstr(self.expr)

    def latex(self) -> str:
        return sympy.latex(self.expr)


@dataclass
class Interpretation:
    """What ``interpret`` returns.

    ``front``: the best formula at each complexity (ascending complexity, each
    strictly better than all simpler ones); ``best``: the one chosen by the
    elbow rule (None when nothing useful was found); ``rule``: the decision
    rule / monotone relation fitted afterwards (None without unit values);
    ``stats``: search time, evaluations, why it stopped, options; ``found``:
    the front as the search found it, before simplification, as
    ``(complexity, loss, Formula)`` triples (not saved with the report).
    """

    front: list[Candidate]
    best: Candidate | None
    feature_names: list[str]
    stats: dict[str, Any] = field(default_factory=dict)
    rule: Any = None
    notes: list[str] = field(default_factory=list)
    description: str = ""
    gradient_set: GradientSet | None = field(default=None, repr=False, compare=False)
    found: list[tuple[int, float, Formula]] = field(default_factory=list, repr=False, compare=False)

    def report(self, console: Any = None) -> None:
        """Print the report (a rich table on a terminal, plain text otherwise)."""
        from ._report import print_report

        print_report(self, console=console)

    def to_dict(self) -> dict[str, Any]:
        from ._report import interpretation_to_dict

        return interpretation_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interpretation:
        from ._report import interpretation_from_dict

        return interpretation_from_dict(data)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the interpretation as JSON (``report.json`` format)."""
        import json

        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Interpretation:
        import json

        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise ValueError(f"cannot read an interpretation from {path}: {err}") from None
        return cls.from_dict(data)

    def save_report(self, directory: str | os.PathLike) -> Path:
        """Write report.json, report.md and a self-contained report.html to ``directory``."""
        from ._report import save_report

        return save_report(self, directory)


def _check_width(X: np.ndarray, names: list[str]) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != len(names):
        raise ValueError(f"X must have {len(names)} columns ({names}), got shape {X.shape}")
    return X
