"""Variation operators of the search: every edit gives a valid program."""

from __future__ import annotations

import random

import numpy as np
import sympy

from neuroninterp._formula import Formula
from neuroninterp._mutate import Grammar, fold_constants
from neuroninterp._ops import OPERATORS

NAMES = ["x1", "x2", "x3", "x4"]
OPS = [OPERATORS[o].opcode for o in ["+", "-", "*", "/", "sin", "exp"]]


def test_every_edit_gives_a_valid_program() -> None:
    g = Grammar(OPS, {}, len(NAMES), 30)
    rng = random.Random(0)
    X = np.random.default_rng(0).normal(size=(20, len(NAMES)))
    f = g.random_tree(rng, 5)
    edits = [g.mutate, g.echo, g.self_product, g.insert_node, g.delete_node, g.change_operator,
             g.change_leaf, g.swap_operands, g.replace_subtree, g.tweak_constant]
    for step in range(2000):
        edit = edits[step % len(edits)]
        child = fold_constants(edit(f, rng))
        assert child.subtree_end(0) == len(child.code)  # one complete prefix program
        value, grad = child.evaluate(X)
        assert value.shape == (20,) and grad.shape == (20, len(NAMES))
        f = child if g.size(child) <= 30 else g.random_tree(rng, 5)


def test_echo_repeats_a_subtree_over_other_features() -> None:
    g = Grammar(OPS, {}, len(NAMES), 30)
    start = Formula.from_sympy(sympy.sympify("x1*x2"), NAMES)
    seen = set()
    for seed in range(300):
        child = g.echo(start, random.Random(seed))
        seen.add(str(child.to_sympy(NAMES)))
    # the whole product, joined to a copy over shifted features, is among the results
    assert "x1*x2 + x2*x3" in seen or "x1*x2 + x3*x4" in seen
    assert all(len(s) > 0 for s in seen)


def test_constraints_bound_the_size_of_an_operand() -> None:
    ops = OPS + [OPERATORS["pow"].opcode]
    pow_, sin = OPERATORS["pow"].opcode, OPERATORS["sin"].opcode
    g = Grammar(ops, {sin: 2}, len(NAMES), 12, limits={pow_: (-1, 1), sin: (3,)})

    def allowed(text: str) -> bool:
        return g.allowed(Formula.from_sympy(sympy.sympify(text, evaluate=False), NAMES))

    assert allowed("(x1 + x2*x3)**x4") and allowed("x1**2.5") and allowed("sin(x1*x2)")
    assert not allowed("x1**(x2 + 1)")  # an exponent of complexity 3
    assert not allowed("sin(x1*x2 + x3)")  # an argument of complexity 5
    assert allowed("sin(x1)*sin(x2)*sin(x3)") and not allowed("sin(x1)*sin(x2)*sin(x3)*x4")  # 13 > 12
    free = Grammar(ops, {}, len(NAMES), 30)
    assert free.allowed(Formula.from_sympy(sympy.sympify("x1**(x2 + 1)"), NAMES))


def test_nested_constraints_bound_how_often_an_operator_occurs_inside_another() -> None:
    ops = OPS + [OPERATORS[o].opcode for o in ("cos", "pow")]
    sin, cos, exp, pow_ = (OPERATORS[o].opcode for o in ("sin", "cos", "exp", "pow"))
    g = Grammar(ops, {}, len(NAMES), 30, nesting={sin: {sin: 0, cos: 0}, exp: {exp: 1}, pow_: {exp: 0}})

    def allowed(text: str) -> bool:
        return g.allowed(Formula.from_sympy(sympy.sympify(text, evaluate=False), NAMES))

    assert allowed("sin(x1 + exp(x2))*sin(x3)") and allowed("cos(sin(x1))")
    assert not allowed("sin(x1 + cos(x2))") and not allowed("x4 + sin(x1*sin(x2))")
    assert allowed("exp(x1 + exp(x2)*exp(x3))")  # one exp along each path inside the outer one
    assert not allowed("exp(x1 + exp(x2*exp(x3)))")  # two along one path
    assert allowed("exp(x1)*x2**x3")  # beside a power, not inside either operand
    assert not allowed("x1**exp(x2)") and not allowed("(x1*exp(x2))**x3")
