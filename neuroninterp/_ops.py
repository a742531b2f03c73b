"""The operator table: every primitive a formula may use.

Each operator has a name (as users write it in ``operators=``), an arity, an
opcode understood by the compiled evaluator in ``_vm``, a default complexity
and its sympy counterpart. Nothing else in the package hard-codes operators.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import sympy

# Opcodes shared with the compiled evaluator. Leaves first.
CONST = 0
VAR = 1
ADD, SUB, MUL, DIV, POW = 2, 3, 4, 5, 6
NEG, SIN, COS, EXP, LOG, SQRT = 7, 8, 9, 10, 11, 12
SQUARE, CUBE, TANH, ABS, INV = 13, 14, 15, 16, 17
TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH, ATANH, ERF = range(18, 28)
N_OPCODES = 28


@dataclass(frozen=True)
class Operator:
    name: str
    arity: int
    opcode: int
    sympy: Callable[..., sympy.Expr]
    complexity: int = 1


def _inv(a: sympy.Expr) -> sympy.Expr:
    return 1 / a


def _abs(a: sympy.Expr) -> sympy.Expr:
    """``Abs(a)`` without an ``Abs`` directly inside another: sympy folds ``Abs(Abs(x))``
    but not the one it builds when it pulls a factor out (``Abs(2*Abs(x))`` is
    ``2*Abs(Abs(x))``)."""
    return sympy.Abs(a).replace(
        lambda e: isinstance(e, sympy.Abs) and isinstance(e.args[0], sympy.Abs), lambda e: e.args[0]
    )


def _pow(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """``a ** b``; an integer to a large integer power is taken as a float, which sympy
    computes at once (the exact ``3**(3**27)`` would not finish)."""
    if a.is_Integer and b.is_Integer and abs(b) > 1000:
        return sympy.Float(a) ** b
    return a**b


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in [
        Operator("+", 2, ADD, lambda a, b: a + b),
        Operator("-", 2, SUB, lambda a, b: a - b),
        Operator("*", 2, MUL, lambda a, b: a * b),
        Operator("/", 2, DIV, lambda a, b: a / b),
        Operator("pow", 2, POW, _pow),
        Operator("neg", 1, NEG, lambda a: -a),
        Operator("sin", 1, SIN, sympy.sin),
        Operator("cos", 1, COS, sympy.cos),
        Operator("exp", 1, EXP, sympy.exp),
        Operator("log", 1, LOG, sympy.log),
        Operator("sqrt", 1, SQRT, sympy.sqrt),
        Operator("square", 1, SQUARE, lambda a: a**2),
        Operator("cube", 1, CUBE, lambda a: a**3),
        Operator("tanh", 1, TANH, sympy.tanh),
        Operator("abs", 1, ABS, _abs),
        Operator("inv", 1, INV, _inv),
        Operator("tan", 1, TAN, sympy.tan),
        Operator("asin", 1, ASIN, sympy.asin),
        Operator("acos", 1, ACOS, sympy.acos),
        Operator("atan", 1, ATAN, sympy.atan),
        Operator("sinh", 1, SINH, sympy.sinh),
        Operator("cosh", 1, COSH, sympy.cosh),
        Operator("asinh", 1, ASINH, sympy.asinh),
        Operator("acosh", 1, ACOSH, sympy.acosh),
        Operator("atanh", 1, ATANH, sympy.atanh),
        Operator("erf", 1, ERF, sympy.erf),
    ]
}

ALIASES = {
    "add": "+", "plus": "+", "sub": "-", "minus": "-", "mul": "*", "mult": "*",
    "times": "*", "div": "/", "divide": "/", "^": "pow", "**": "pow",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh",
}

DEFAULT_OPERATORS: tuple[str, ...] = ("+", "-", "*", "/", "sin", "exp")
LAMBDIFY_MODULES = ["numpy", "scipy"]  # sympy.lambdify's modules for every operator (scipy: erf)
BY_OPCODE: dict[int, Operator] = {op.opcode: op for op in OPERATORS.values()}


def operator_names() -> list[str]:
    return list(OPERATORS)


def _canonical(raw: object) -> str:
    """An operator's name as the table spells it: trimmed, lower case, aliases resolved."""
    name = str(raw).strip().lower()
    return ALIASES.get(name, name)


def resolve_operators(
    names: Iterable[str], complexity: Mapping[str, int] | None = None
) -> list[Operator]:
    """Turn user-facing operator names into ``Operator`` objects.

    >>> [op.opcode for op in resolve_operators(["+", "sin"])]
    [2, 8]
    """
    if isinstance(names, str):
        raise TypeError(f"operators must be a list of names, got the string {names!r}")
    ops: list[Operator] = []
    for raw in names:
        name = _canonical(raw)
        if name not in OPERATORS:
            raise ValueError(
                f"operators: unknown operator {raw!r}; valid ones are {operator_names()}"
            )
        op = OPERATORS[name]
        if op not in ops:
            ops.append(op)
    if not ops:
        raise ValueError("operators: give at least one operator, e.g. ['+', '*']")
    weights = dict(complexity or {})
    for key, value in weights.items():
        name = ALIASES.get(key, key)
        if name not in OPERATORS:
            raise ValueError(
                f"operator_complexity: unknown operator {key!r}; valid ones are {operator_names()}"
            )
        if int(value) < 1:
            raise ValueError(f"operator_complexity[{key!r}] must be >= 1, got {value!r}")
    resolved = []
    for op in ops:
        w = weights.get(op.name)
        if w is None:
            w = next((v for k, v in weights.items() if ALIASES.get(k) == op.name), None)
        resolved.append(
            op if w is None else Operator(op.name, op.arity, op.opcode, op.sympy, int(w))
        )
    return resolved


def resolve_constraints(
    constraints: Mapping[str, int | Iterable[int]] | None,
) -> dict[int, tuple[int, ...]]:
    """PySR's ``constraints``: the largest complexity of each operand of an operator,
    -1 for any; an int for a one-operand operator, a pair for a two-operand one, e.g.
    ``{"pow": (-1, 1)}`` (an exponent is a constant or a feature). Returns them by opcode.

    >>> resolve_constraints({"pow": (-1, 1), "sin": 5})
    {6: (-1, 1), 8: (5,)}
    """
    limits: dict[int, tuple[int, ...]] = {}
    for key, value in (constraints or {}).items():
        name = _canonical(key)
        if name not in OPERATORS:
            raise ValueError(f"constraints: unknown operator {key!r}; valid ones are {operator_names()}")
        op = OPERATORS[name]
        given = value if isinstance(value, (tuple, list)) else [value]
        limit = tuple(int(v) for v in given if isinstance(v, numbers.Integral) and not isinstance(v, bool))
        if len(limit) != len(given) or len(limit) != op.arity or min(limit) < -1:
            shape = "an int" if op.arity == 1 else "a pair of ints"
            raise ValueError(
                f"constraints[{key!r}] must be {shape} (the largest complexity of each operand, "
                f"-1 for any), got {value!r}"
            )
        limits[op.opcode] = limit
    return limits
