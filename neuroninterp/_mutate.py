"""Random formulas and the variation operators of the evolutionary search:
mutations, crossover and constant folding on prefix programs.

Every function takes the search's one seeded ``random.Random`` and returns
a new ``Formula`` (inputs are never modified).
"""

from __future__ import annotations

import math
import random

import numpy as np

from . import _vm
from ._formula import ARITY_LIST, Formula
from ._ops import CONST, MUL, VAR


class Grammar:
    """What a formula may contain: the operators, their complexities, the
    number of features, the size limit, per operator the largest complexity
    of each operand (``limits[opcode]``, one entry per operand, -1: any), and per
    operator how often others may occur inside it (``nesting[outer][inner]``)."""

    def __init__(self, opcodes: list[int], weights: dict[int, int], n_features: int, max_size: int,
                 limits: dict[int, tuple[int, ...]] | None = None,
                 nesting: dict[int, dict[int, int]] | None = None):
        self.unary = [c for c in opcodes if ARITY_LIST[c] == 1]
        self.binary = [c for c in opcodes if ARITY_LIST[c] == 2]
        self.weights = weights
        self.n_features = n_features
        self.max_size = max_size
        self.limits = limits or {}
        self.nesting = nesting or {}
        self._inner = sorted({c for inner in self.nesting.values() for c in inner})

    def size(self, f: Formula) -> int:
        w = self.weights
        return sum(w.get(c, 1) for c in f.code)

    def allowed(self, f: Formula) -> bool:
        """Within the size limit, no operand larger than its operator's limit, and no
        operator nested inside another more often than ``nesting`` allows."""
        if not self.limits and not self.nesting:
            return self.size(f) <= self.max_size
        w, inner = self.weights, self._inner
        # per finished subtree (last one on top): its complexity, and for each operator of
        # ``inner`` the most times it occurs along one path down the subtree
        sizes: list[int] = []
        depths: list[list[int]] = []
        for c in reversed(f.code):
            arity = ARITY_LIST[c]
            operands = [sizes.pop() for _ in range(arity)]  # first operand first
            limit = self.limits.get(c)
            if limit and any(0 <= most < size for most, size in zip(limit, operands)):
                return False
            sizes.append(w.get(c, 1) + sum(operands))
            if inner:
                below = [max(d) for d in zip(*(depths.pop() for _ in range(arity)))] or [0] * len(inner)
                for op, most in self.nesting.get(c, {}).items():
                    if below[inner.index(op)] > most:
                        return False
                depths.append([d + (op == c) for d, op in zip(below, inner)])
        return sizes[0] <= self.max_size

    # -- random pieces -------------------------------------------------------
    def leaf(self, rng: random.Random) -> Formula:
        if rng.random() < 0.8:
            return Formula([VAR], [rng.randrange(self.n_features)], [0.0])
        return Formula([CONST], [0], [_random_constant(rng)])

    def random_tree(self, rng: random.Random, size: int) -> Formula:
        """A random formula of about ``size`` nodes."""
        code: list[int] = []
        arg: list[int] = []
        val: list[float] = []

        def grow(budget: int) -> None:
            if budget <= 1 or (not self.unary and budget == 2):
                leaf = self.leaf(rng)
                code.extend(leaf.code)
                arg.extend(leaf.arg)
                val.extend(leaf.val)
                return
            use_unary = self.unary and (not self.binary or budget == 2 or rng.random() < 0.25)
            if use_unary:
                code.append(rng.choice(self.unary))
                arg.append(0)
                val.append(0.0)
                grow(budget - 1)
            else:
                code.append(rng.choice(self.binary))
                arg.append(0)
                val.append(0.0)
                left = rng.randrange(1, budget - 1) if budget > 2 else 1
                grow(left)
                grow(max(1, budget - 1 - left))

        grow(max(1, size))
        return Formula(code, arg, val)

    # -- mutations -------------------------------------------------------------
    def mutate(self, f: Formula, rng: random.Random) -> Formula:
        """One random edit, chosen with fixed weights among the applicable ones."""
        has_const = CONST in f.code
        has_op = len(f.code) > 1
        kinds = [
            (self.tweak_constant, 3.0 if has_const else 0.0),
            (self.change_operator, 2.0 if has_op else 0.0),
            (self.change_leaf, 1.5),
            (self.insert_node, 2.5),
            (self.delete_node, 1.5 if has_op else 0.0),
            (self.replace_subtree, 1.0),
            (self.swap_operands, 0.5 if has_op else 0.0),
            (self.self_product, 0.7 if MUL in self.binary else 0.0),
            (self.echo, 0.7 if self.n_features > 1 and VAR in f.code else 0.0),
        ]
        edit = rng.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        return edit(f, rng)

    def tweak_constant(self, f: Formula, rng: random.Random) -> Formula:
        spots = [i for i, c in enumerate(f.code) if c == CONST]
        if not spots:
            return f.copy()
        out = f.copy()
        i = spots[rng.randrange(len(spots))]
        r = rng.random()
        if r < 0.1:
            out.val[i] = -out.val[i]
        elif r < 0.2:
            out.val[i] = _random_constant(rng)
        else:
            out.val[i] = out.val[i] * math.exp(rng.gauss(0.0, 0.5))
        return out

    def change_operator(self, f: Formula, rng: random.Random) -> Formula:
        spots = [i for i, c in enumerate(f.code) if c not in (CONST, VAR)]
        if not spots:
            return self.change_leaf(f, rng)
        out = f.copy()
        i = spots[rng.randrange(len(spots))]
        pool = self.unary if ARITY_LIST[f.code[i]] == 1 else self.binary
        out.code[i] = rng.choice(pool)
        return out

    def change_leaf(self, f: Formula, rng: random.Random) -> Formula:
        spots = [i for i, c in enumerate(f.code) if c in (CONST, VAR)]
        i = spots[rng.randrange(len(spots))]
        return splice(f, i, f.subtree_end(i), self.leaf(rng))

    def insert_node(self, f: Formula, rng: random.Random) -> Formula:
        """Wrap a random subtree S into op(S), op(S, leaf) or op(leaf, S)."""
        i = rng.randrange(len(f.code))
        end = f.subtree_end(i)
        sub = Formula(f.code[i:end], f.arg[i:end], f.val[i:end])
        if self.unary and (not self.binary or rng.random() < 0.3):
            new = _join(rng.choice(self.unary), [sub])
        else:
            other = self.leaf(rng) if rng.random() < 0.7 else self.random_tree(rng, 3)
            parts = [sub, other] if rng.random() < 0.5 else [other, sub]
            new = _join(rng.choice(self.binary), parts)
        return splice(f, i, end, new)

    def delete_node(self, f: Formula, rng: random.Random) -> Formula:
        """Replace an operator node by one of its operands."""
        spots = [i for i, c in enumerate(f.code) if c not in (CONST, VAR)]
        if not spots:
            return self.change_leaf(f, rng)
        i = spots[rng.randrange(len(spots))]
        children = _children(f, i)
        s, e = children[rng.randrange(len(children))]
        keep = Formula(f.code[s:e], f.arg[s:e], f.val[s:e])
        return splice(f, i, f.subtree_end(i), keep)

    def self_product(self, f: Formula, rng: random.Random) -> Formula:
        """Replace a random subtree S by S * S (squares without a square operator)."""
        i = rng.randrange(len(f.code))
        end = f.subtree_end(i)
        sub = Formula(f.code[i:end], f.arg[i:end], f.val[i:end])
        return splice(f, i, end, _join(MUL, [sub, sub]))

    def echo(self, f: Formula, rng: random.Random) -> Formula:
        """Replace a random subtree S by S op S', S' a copy of S over other features:
        the same structure repeated for another feature or group of features, as in
        (x3 - x4)**2 + (x5 - x6)**2 or m1*v1**2 + m2*v2**2. The features of S are
        shifted by one common offset, or (half of the time) mapped at random."""
        i = rng.randrange(len(f.code))
        end = f.subtree_end(i)
        if VAR not in f.code[i:end]:
            return self.insert_node(f, rng)
        d = self.n_features
        if rng.random() < 0.5:
            shift = rng.randrange(1, d)
            new_feature = {j: (j + shift) % d for j in range(d)}
        else:
            new_feature = {j: rng.randrange(d) for j in range(d)}
        copy = Formula(f.code[i:end], [new_feature[a] if c == VAR else a for c, a in
                                       zip(f.code[i:end], f.arg[i:end])], f.val[i:end])
        sub = Formula(f.code[i:end], f.arg[i:end], f.val[i:end])
        return splice(f, i, end, _join(rng.choice(self.binary), [sub, copy]))

    def replace_subtree(self, f: Formula, rng: random.Random) -> Formula:
        i = rng.randrange(len(f.code))
        return splice(f, i, f.subtree_end(i), self.random_tree(rng, rng.randrange(1, 6)))

    def swap_operands(self, f: Formula, rng: random.Random) -> Formula:
        spots = [i for i, c in enumerate(f.code) if ARITY_LIST[c] == 2]
        if not spots:
            return self.change_operator(f, rng)
        i = spots[rng.randrange(len(spots))]
        (s1, e1), (s2, e2) = _children(f, i)
        def swap(seq: list) -> list:
            return seq[:s1] + seq[s2:e2] + seq[s1:e1] + seq[e2:]

        return Formula(swap(f.code), swap(f.arg), swap(f.val))

    def crossover(self, a: Formula, b: Formula, rng: random.Random) -> Formula:
        """Replace a random subtree of ``a`` with a random subtree of ``b``."""
        i = rng.randrange(len(a.code))
        j = rng.randrange(len(b.code))
        end = b.subtree_end(j)
        return splice(a, i, a.subtree_end(i), Formula(b.code[j:end], b.arg[j:end], b.val[j:end]))


def splice(f: Formula, start: int, end: int, new: Formula) -> Formula:
    """``f`` with positions ``start:end`` (one subtree) replaced by ``new``."""
    return Formula(
        f.code[:start] + new.code + f.code[end:],
        f.arg[:start] + new.arg + f.arg[end:],
        f.val[:start] + new.val + f.val[end:],
    )


def _join(op: int, parts: list[Formula]) -> Formula:
    code, arg, val = [op], [0], [0.0]
    for p in parts:
        code += p.code
        arg += p.arg
        val += p.val
    return Formula(code, arg, val)


def _children(f: Formula, i: int) -> list[tuple[int, int]]:
    out = []
    s = i + 1
    for _ in range(ARITY_LIST[f.code[i]]):
        e = f.subtree_end(s)
        out.append((s, e))
        s = e
    return out


def _random_constant(rng: random.Random) -> float:
    return rng.gauss(0.0, 2.0)


_ONE_POINT = np.zeros((1, 1))


def fold_constants(f: Formula) -> Formula:
    """Replace every operator whose operands are all constants by its value."""
    n = len(f.code)
    if sum(1 for c in f.code if c == CONST) < 2:
        return f
    is_const = [False] * n
    ends = [0] * n
    # Walk backwards: a node is constant when all its children are.
    stack: list[int] = []  # start positions of finished subtrees
    for i in range(n - 1, -1, -1):
        c = f.code[i]
        ar = ARITY_LIST[c]
        if ar == 0:
            is_const[i] = c == CONST
            ends[i] = i + 1
        else:
            kids = [stack.pop() for _ in range(ar)]
            is_const[i] = all(is_const[k] for k in kids)
            ends[i] = ends[kids[-1]]
        stack.append(i)
    code: list[int] = []
    arg: list[int] = []
    val: list[float] = []
    i = 0
    while i < n:
        if is_const[i] and ARITY_LIST[f.code[i]] > 0:
            sub = Formula(f.code[i:ends[i]], f.arg[i:ends[i]], f.val[i:ends[i]])
            c_, a_, v_ = sub.arrays()
            value = float(_vm.evaluate(c_, a_, v_, _ONE_POINT)[0][0])
            code.append(CONST)
            arg.append(0)
            val.append(value)
            i = ends[i]
        else:
            code.append(f.code[i])
            arg.append(f.arg[i])
            val.append(f.val[i])
            i += 1
    return Formula(code, arg, val)
