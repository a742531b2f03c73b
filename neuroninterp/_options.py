"""Search options, defined once.

``interpret``, ``classify`` and every adapter accept these as plain keyword
arguments with the same names; ``SearchOptions.from_kwargs`` validates them
and names the valid ones when a keyword is unknown.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from ._ops import (
    DEFAULT_OPERATORS,
    Operator,
    is_flat,
    pysr_operators,
    resolve_constraints,
    resolve_nested_constraints,
    resolve_operators,
)

# PySR's way of giving the operators: two lists, merged into ``operators``
PYSR_OPERATOR_LISTS = ("binary_operators", "unary_operators")
PYSR_BINARY = ("+", "-", "*", "/")  # PySR's default binary_operators


@dataclass
class SearchOptions:
    """Every knob of the symbolic search.

    operators: names of the allowed primitives (default ``+ - * / sin exp``; keyword
        arguments may give them as PySR does instead, ``binary_operators=["+", "*"]``
        (default ``+ - * /``) and ``unary_operators=["cos"]`` (default none);
        also ``pow neg cos tan asin acos atan sinh cosh tanh asinh acosh atanh log log10
        log2 log1p sqrt cbrt square cube abs relu inv sigmoid erf erfc gamma max min``;
        PySR's ``sign round floor ceil`` and the logical ones are left out with a warning,
        as their gradient is zero).
    operator_complexity: complexity of an operator node (default 1 each),
        e.g. ``{"exp": 2}``. Variables and constants count 1.
    constraints: the largest complexity of each operand of an operator, as in
        PySR: an int for a one-operand operator, a pair for a two-operand one,
        -1 for any, e.g. ``{"pow": (-1, 1)}`` (exponents are constants or
        features) or ``{"sin": 5}``.
    nested_constraints: how often an operator may occur inside another's
        operands, along any path, as in PySR: ``{"sin": {"sin": 0, "cos": 0},
        "exp": {"exp": 1}}`` allows no sine or cosine inside a sine and at most
        ``exp(exp(x))``.
    max_size: largest formula complexity searched.
    time_budget: seconds the search may run (None: no limit; then give
        ``max_evals``).
    max_evals: stop after this many formula evaluations (None: no limit).
    early_stop: stop soon after a formula's loss on all points is below this
        (None: never). The default (1e-14) ends a search on exact gradients once
        an exact formula is found; on a network's gradients it is not reached.
    seed: seed of the one random generator (same seed and ``n_jobs=1``: same
        front).
    n_jobs: worker processes (None: all cores).
    batch_size: points in each mini-batch used to score new formulas.
    progress: show a live progress display (None: only on a terminal).
    populations, population_size: shape of the island model.
    decompose: first look for pairs of features that enter the unit only
        through one function of the pair, solve those small problems and
        offer the composed formulas to the search (see ``_decompose``).
    """

    operators: Sequence[str] = DEFAULT_OPERATORS
    operator_complexity: Mapping[str, int] | None = None
    constraints: Mapping[str, int | Sequence[int]] | None = None
    nested_constraints: Mapping[str, Mapping[str, int]] | None = None
    max_size: int = 30
    time_budget: float | None = 60.0
    max_evals: int | None = None
    early_stop: float | None = 1e-14
    seed: int | None = 0
    n_jobs: int | None = None
    batch_size: int = 100
    progress: bool | None = None
    populations: int = 12
    population_size: int = 40
    decompose: bool = True
    resolved: list[Operator] = field(default_factory=list, init=False, repr=False)
    limits: dict[int, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False)
    nesting: dict[int, dict[int, int]] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.operators, str):
            self.operators = tuple(self.operators)
        self.resolved = resolve_operators(self.operators, self.operator_complexity)
        # (a string was refused above) the flat ones were left out, with a warning
        self.operators = tuple(name for name in self.operators if not is_flat(name))
        self.limits = resolve_constraints(self.constraints)
        self.nesting = resolve_nested_constraints(self.nested_constraints)
        self.max_size = _as_int("max_size", self.max_size, 3)
        self.batch_size = _as_int("batch_size", self.batch_size, 2)
        self.populations = _as_int("populations", self.populations, 1)
        self.population_size = _as_int("population_size", self.population_size, 4)
        if self.time_budget is not None and not self.time_budget > 0:
            raise ValueError(
                "time_budget must be a positive number of seconds or None, "
                f"got {self.time_budget!r}"
            )
        if self.max_evals is not None:
            self.max_evals = _as_int("max_evals", self.max_evals, 1)
        if self.time_budget is None and self.max_evals is None:
            raise ValueError(
                "give time_budget or max_evals (or both): otherwise the search never ends"
            )
        if self.early_stop is not None and not self.early_stop >= 0:
            raise ValueError(f"early_stop must be >= 0 or None, got {self.early_stop!r}")
        if self.n_jobs is not None:
            self.n_jobs = _as_int("n_jobs", self.n_jobs, 1)
        if not isinstance(self.decompose, bool):
            raise TypeError(f"decompose must be True or False, got {self.decompose!r}")
        if self.seed is not None:
            if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
                raise TypeError(f"seed must be an int or None, got {self.seed!r}")
            self.seed = int(self.seed)

    @property
    def workers(self) -> int:
        return self.n_jobs or max(1, os.cpu_count() or 1)

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls) if f.init]

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> SearchOptions:
        """Build options from keyword arguments, rejecting unknown ones by name. PySR's
        ``binary_operators`` and ``unary_operators`` are accepted in place of ``operators``."""
        kwargs = dict(kwargs)
        split = {key: kwargs.pop(key) for key in PYSR_OPERATOR_LISTS if key in kwargs}
        if split:
            if "operators" in kwargs:
                raise TypeError("give operators, or binary_operators and unary_operators, not both")
            kwargs["operators"] = pysr_operators(split.get("binary_operators", PYSR_BINARY),
                                                 split.get("unary_operators"))
        unknown = sorted(set(kwargs) - set(cls.names()))
        if unknown:
            raise TypeError(
                f"unknown search option(s) {unknown}; valid search options are {cls.names()} "
                "(and PySR's binary_operators and unary_operators in place of operators)"
            )
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("resolved", None)
        d.pop("limits", None)
        d.pop("nesting", None)
        d["operators"] = list(self.operators)
        return d


def _as_int(name: str, value: Any, low: int) -> int:
    """``value`` as a plain int (numpy integers are accepted), checked to be >= ``low``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)
