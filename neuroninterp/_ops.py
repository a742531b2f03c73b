"""The operator table: every primitive a formula may use.

Each operator has a name (as users write it in ``operators=``), an arity, an
opcode understood by the compiled evaluator in ``_vm``, a default complexity
and its sympy counterpart. Nothing else in the package hard-codes operators.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import sympy
from sympy.codegen import cfunctions
from sympy.codegen.cfunctions import log2, log10

# Opcodes shared with the compiled evaluator. Leaves first.
CONST = 0
VAR = 1
ADD, SUB, MUL, DIV, POW = 2, 3, 4, 5, 6
NEG, SIN, COS, EXP, LOG, SQRT = 7, 8, 9, 10, 11, 12
SQUARE, CUBE, TANH, ABS, INV = 13, 14, 15, 16, 17
TAN, ASIN, ACOS, ATAN, SINH, COSH, ASINH, ACOSH, ATANH, ERF = range(18, 28)
LOG10, LOG2, LOG1P, ERFC, CBRT, GAMMA, RELU, SIGMOID = range(28, 36)
MAX, MIN = 36, 37  # two-operand, like ADD..POW
N_OPCODES = 38


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


class cbrt(sympy.Function):
    """The real cube root, negative for a negative argument (sympy's own ``cbrt`` is
    ``a**(1/3)``, the principal root, which is complex there)."""

    @classmethod
    def eval(cls, a: sympy.Expr) -> sympy.Expr | None:
        if a.is_Number:
            return sympy.sign(a) * sympy.Abs(a) ** sympy.Rational(1, 3)
        return None

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return 1 / (3 * cbrt(self.args[0]) ** 2)

    def _eval_power(self, e: sympy.Expr) -> sympy.Expr | None:  # cbrt(a)**3 = a for every real a
        return self.args[0] ** (e / 3) if e.is_Integer and e % 3 == 0 else None

    def _eval_is_real(self) -> bool | None:
        return self.args[0].is_real


class log1p(cfunctions.log1p):
    """``log(1 + a)``, a float for a float argument (sympy's own gives the log of a fraction:
    ``log1p(1.5)`` is ``log(5/2)``)."""

    @classmethod
    def eval(cls, a: sympy.Expr) -> sympy.Expr | None:
        if a.is_Float:
            return sympy.log(1 + a)
        return super().eval(a)


def _lattice(op: type[sympy.Max] | type[sympy.Min]) -> Callable[[sympy.Expr, sympy.Expr], sympy.Expr]:
    """``op(a, b)`` (``Max`` or ``Min``); nan where sympy refuses, as it does for an operand
    that is not comparable (``log(0)`` is ``zoo``)."""
    def build(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
        try:
            return op(a, b)
        except ValueError:
            return sympy.nan
    return build


_max, _min = _lattice(sympy.Max), _lattice(sympy.Min)


def _relu(a: sympy.Expr) -> sympy.Expr:
    return _max(sympy.Integer(0), a)


def _sigmoid(a: sympy.Expr) -> sympy.Expr:
    return 1 / (1 + sympy.exp(-a))


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
        Operator("erfc", 1, ERFC, sympy.erfc),
        Operator("log10", 1, LOG10, log10),
        Operator("log2", 1, LOG2, log2),
        Operator("log1p", 1, LOG1P, log1p),
        Operator("cbrt", 1, CBRT, cbrt),
        Operator("gamma", 1, GAMMA, sympy.gamma),
        Operator("relu", 1, RELU, _relu),
        Operator("sigmoid", 1, SIGMOID, _sigmoid),
        Operator("max", 2, MAX, _max),
        Operator("min", 2, MIN, _min),
    ]
}

ALIASES = {
    "add": "+", "plus": "+", "sub": "-", "minus": "-", "mul": "*", "mult": "*",
    "times": "*", "div": "/", "divide": "/", "^": "pow", "**": "pow",
    "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arcsinh": "asinh", "arccosh": "acosh",
    "arctanh": "atanh", "logistic": "sigmoid",
}
# PySR operators whose gradient is zero wherever it is defined: they cannot change the direction
# of a formula's gradient, which is all the method fits, so they are left out (with a warning)
FLAT = frozenset({"sign", "round", "floor", "ceil", "greater", "logical_or", "logical_and"})
# Every operator (and alias) with a name, as the sympy expression it builds: pass to ``sympify``
# when reading a formula back. sympy's own namespace lacks some (``log10``, ``relu``,
# ``sigmoid``, ``square``) and defines others otherwise (``cbrt`` there is the principal root).
SYMPY_FUNCTIONS = {name: OPERATORS[ALIASES.get(name, name)].sympy
                   for name in [*OPERATORS, *ALIASES] if name.isidentifier()}

DEFAULT_OPERATORS: tuple[str, ...] = ("+", "-", "*", "/", "sin", "exp")
LAMBDIFY_MODULES = ["numpy", "scipy"]  # sympy.lambdify's modules for every operator (scipy: erf, gamma)
BY_OPCODE: dict[int, Operator] = {op.opcode: op for op in OPERATORS.values()}


def operator_names() -> list[str]:
    return list(OPERATORS)


def _canonical(raw: object) -> str:
    """An operator's name as the table spells it: trimmed, lower case, aliases resolved."""
    name = str(raw).strip().lower()
    return ALIASES.get(name, name)


def _known(option: str, name: object) -> Operator:
    """The operator called ``name``, or an error that lists the valid names."""
    canonical = _canonical(name)
    if canonical not in OPERATORS:
        raise ValueError(f"{option}: unknown operator {name!r}; valid ones are {operator_names()}")
    return OPERATORS[canonical]


def is_flat(name: object) -> bool:
    """True for a PySR operator whose gradient is zero wherever it is defined (``FLAT``)."""
    return _canonical(name) in FLAT


def pysr_operators(binary: Iterable[str] | None, unary: Iterable[str] | None) -> list[str]:
    """PySR's ``binary_operators`` and ``unary_operators`` as one list of names, each
    checked to take the number of operands its list says."""
    out: list[str] = []
    for names, arity, key in ((binary, 2, "binary_operators"), (unary, 1, "unary_operators")):
        if isinstance(names, str):
            raise TypeError(f"{key} must be a list of names, got the string {names!r}")
        for raw in names or []:
            op = OPERATORS.get(_canonical(raw))
            if op is not None and op.arity != arity:
                raise ValueError(f"{key}: {raw!r} takes {op.arity} operand(s); "
                                 f"give it in {'binary' if op.arity == 2 else 'unary'}_operators")
            out.append(raw)
    return out


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
    flat = [str(raw) for raw in names if is_flat(raw)]
    if flat:
        warnings.warn(
            f"operators: leaving out {', '.join(flat)}: the gradient of each is zero wherever it "
            "is defined, so it cannot change the direction of a formula's gradient, which is "
            "all this method fits", UserWarning, stacklevel=3)
    for raw in names:
        if _canonical(raw) in FLAT:
            continue
        op = _known("operators", raw)
        if op not in ops:
            ops.append(op)
    if not ops:
        raise ValueError("operators: give at least one operator, e.g. ['+', '*']")
    weights = {}
    for key, value in (complexity or {}).items():
        if int(value) < 1:
            raise ValueError(f"operator_complexity[{key!r}] must be >= 1, got {value!r}")
        weights[_known("operator_complexity", key).name] = value
    resolved = []
    for op in ops:
        w = weights.get(op.name)
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
        op = _known("constraints", key)
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


def resolve_nested_constraints(
    nested: Mapping[str, Mapping[str, int]] | None,
) -> dict[int, dict[int, int]]:
    """PySR's ``nested_constraints``: how often an operator may occur, along any path,
    inside the operand(s) of another, e.g. ``{"sin": {"sin": 0, "cos": 0}, "exp": {"exp": 1}}``
    (no sine or cosine inside a sine; ``exp(exp(x))`` but not ``exp(exp(exp(x)))``).
    Returns ``{outer opcode: {inner opcode: most}}``.

    >>> resolve_nested_constraints({"sin": {"cos": 0}, "^": {"^": 1}})
    {8: {9: 0}, 6: {6: 1}}
    """
    out: dict[int, dict[int, int]] = {}
    for outer, inner in (nested or {}).items():
        if not isinstance(inner, Mapping):
            raise ValueError(f"nested_constraints[{outer!r}] must be a dict of operator names to "
                             f"ints, e.g. {{'sin': 0}}, got {inner!r}")
        limits = out.setdefault(_known("nested_constraints", outer).opcode, {})
        for name, most in inner.items():
            if isinstance(most, bool) or not isinstance(most, numbers.Integral) or most < 0:
                raise ValueError(f"nested_constraints[{outer!r}][{name!r}] must be an int >= 0 "
                                 f"(how often {name} may occur inside {outer}), got {most!r}")
            limits[_known("nested_constraints", name).opcode] = int(most)
    return out
