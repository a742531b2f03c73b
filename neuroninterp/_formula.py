"""Formulas as prefix programs, and their exact round trip to and from sympy.

A ``Formula`` is three parallel sequences: opcodes, variable indices and
constant values (one entry per node, prefix order). It is what the search
mutates and what the compiled evaluator runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy

from . import _vm
from ._ops import (
    ABS,
    ADD,
    BY_OPCODE,
    CONST,
    CUBE,
    DIV,
    EXP,
    MAX,
    MIN,
    MUL,
    N_OPCODES,
    OPERATORS,
    POW,
    RELU,
    SQRT,
    SQUARE,
    SYMPY_FUNCTIONS,
    VAR,
)

ARITY = np.zeros(N_OPCODES, dtype=np.int64)
for _op in BY_OPCODE.values():
    ARITY[_op.opcode] = _op.arity
ARITY_LIST: list[int] = [int(a) for a in ARITY]


@dataclass
class Formula:
    """A formula in prefix form. ``code[i]`` is an opcode, ``arg[i]`` a feature
    index (for variables) and ``val[i]`` a number (for constants).

    >>> f = Formula.from_sympy(sympy.sympify("x1*x1 + 2*x2"), ["x1", "x2"])
    >>> f.to_sympy(["x1", "x2"])
    x1**2 + 2*x2
    """

    code: list[int]
    arg: list[int]
    val: list[float]
    _arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    def __len__(self) -> int:
        return len(self.code)

    def copy(self) -> Formula:
        return Formula(list(self.code), list(self.arg), list(self.val))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = (
                np.asarray(self.code, dtype=np.int64),
                np.asarray(self.arg, dtype=np.int64),
                np.asarray(self.val, dtype=np.float64),
            )
        return self._arrays

    def key(self) -> tuple:
        """Structural identity (constants rounded), for de-duplication."""
        return (tuple(self.code), tuple(self.arg),
                tuple(round(v, 6) for v, c in zip(self.val, self.code) if c == CONST))

    # -- structure -------------------------------------------------------
    def subtree_end(self, start: int) -> int:
        """Index one past the subtree that starts at ``start``."""
        need = 1
        i = start
        code = self.code
        while need:
            need += ARITY_LIST[code[i]] - 1
            i += 1
        return i

    def complexity(self, weights: dict[int, int] | None = None) -> int:
        if not weights:
            return len(self.code)
        return sum(weights.get(c, 1) for c in self.code)

    def n_constants(self) -> int:
        return sum(1 for c in self.code if c == CONST)

    def variables(self) -> set[int]:
        return {a for c, a in zip(self.code, self.arg) if c == VAR}

    # -- evaluation ------------------------------------------------------
    def evaluate(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values (n,) and exact input gradients (n, d) at the rows of ``X``."""
        Xt = np.ascontiguousarray(np.asarray(X, dtype=np.float64).T)
        code, arg, val = self.arrays()
        v, g = _vm.evaluate(code, arg, val, Xt)
        return v, g.T

    # -- sympy -----------------------------------------------------------
    def to_sympy(self, names: Sequence[str]) -> sympy.Expr:
        symbols = [sympy.Symbol(n, real=True) for n in names]
        pos = 0

        def build() -> sympy.Expr:
            nonlocal pos
            c = self.code[pos]
            i = pos
            pos += 1
            if c == CONST:
                return _number(self.val[i])
            if c == VAR:
                return symbols[self.arg[i]]
            op = BY_OPCODE[c]
            args = [build() for _ in range(op.arity)]
            return op.sympy(*args)

        return build()

    @classmethod
    def from_sympy(cls, expr: sympy.Expr | str, names: Sequence[str]) -> Formula:
        """Compile a sympy expression (or a string sympy parses) over ``names``."""
        if isinstance(expr, str):
            expr = sympy.sympify(expr, locals=sympy_names(names))
        index = {n: i for i, n in enumerate(names)}
        code: list[int] = []
        arg: list[int] = []
        val: list[float] = []

        def emit(c: int, a: int = 0, v: float = 0.0) -> None:
            code.append(c)
            arg.append(a)
            val.append(v)

        def walk(e: sympy.Expr) -> None:
            if e.is_Number or e.is_NumberSymbol or (e.is_number and e.is_extended_real):
                emit(CONST, 0, float(e))  # (sqrt(2) or pi/2 too: a number, one node)
            elif e.is_Symbol:
                if e.name not in index:
                    raise ValueError(
                        f"formula uses {e.name!r}, which is not a feature; "
                        f"features are {list(names)}"
                    )
                emit(VAR, index[e.name])
            elif e.is_Add or e.is_Mul:
                terms = list(e.args)
                if e.is_Mul:
                    coeff, rest = e.as_coeff_Mul()
                    if coeff != 1 and any(t.is_Add for t in terms):
                        # The number goes last: sympy distributes a number multiplied
                        # alone with a sum, (-1)*(a + b) -> -a - b, so c*(a+b)*f built
                        # left to right would not come back as it was.
                        emit(MUL)
                        walk(rest)
                        walk(coeff)
                        return
                    num = [t for t in terms if not _is_reciprocal(t)]
                    den = [1 / t for t in terms if _is_reciprocal(t)]
                    if den:
                        emit(DIV)
                        _chain(MUL, num or [sympy.Integer(1)])
                        _chain(MUL, den)
                        return
                _chain(ADD if e.is_Add else MUL, terms)
            elif e.is_Pow:
                base, ex = e.args
                if ex == -1:
                    emit(DIV)
                    emit(CONST, 0, 1.0)
                    walk(base)
                elif ex == 2:
                    emit(SQUARE)
                    walk(base)
                elif ex == 3:
                    emit(CUBE)
                    walk(base)
                elif ex == sympy.Rational(1, 2):
                    emit(SQRT)
                    walk(base)
                elif e.base is sympy.E:
                    emit(EXP)
                    walk(ex)
                else:
                    emit(POW)
                    walk(base)
                    walk(ex)
            elif isinstance(e, sympy.exp):
                emit(EXP)
                walk(e.args[0])
            elif isinstance(e, sympy.Max) and len(e.args) == 2 and 0 in e.args:  # relu
                emit(RELU)
                walk(e.args[1] if e.args[0] == 0 else e.args[0])
            elif isinstance(e, (sympy.Max, sympy.Min)):
                _chain(MAX if isinstance(e, sympy.Max) else MIN, list(e.args))
            elif e.func in _UNARY:
                emit(_UNARY[e.func])
                walk(e.args[0])
            elif isinstance(e, sympy.re):
                # sympy writes Abs(exp(z)) as exp(re(z)) where it cannot tell that z is real
                # (asinh of a real): every value computed here is real, so re is the identity
                walk(e.args[0])
            else:
                raise ValueError(
                    f"cannot compile {e} (operator {e.func.__name__} is not supported)"
                )

        def _chain(op: int, terms: list[sympy.Expr]) -> None:
            for _ in range(len(terms) - 1):
                emit(op)
            for t in terms:
                walk(t)

        walk(sympy.sympify(expr))
        return cls(code, arg, val)


# sympy functions that are one opcode (exp and the powers have their own branches)
_UNARY = {op.sympy: op.opcode for op in OPERATORS.values()
          if op.arity == 1 and isinstance(op.sympy, type) and issubclass(op.sympy, sympy.Function)}
_UNARY[sympy.Abs] = ABS  # (the abs operator builds it through a helper)



def sympy_names(names: Sequence[str]) -> dict[str, object]:
    """What ``sympify`` needs to read a formula over ``names`` back: the features as real
    symbols and the functions sympy's own namespace lacks (``log10``) or defines otherwise
    (``cbrt``)."""
    return {**SYMPY_FUNCTIONS, **{n: sympy.Symbol(n, real=True) for n in names}}


def _is_reciprocal(t: sympy.Expr) -> bool:
    return bool(t.is_Pow and t.args[1].is_Number and t.args[1] < 0)


def _number(v: float) -> sympy.Expr:
    if np.isfinite(v) and float(v).is_integer() and abs(v) < 1e9:
        return sympy.Integer(int(v))
    return sympy.Float(v)
