"""How fast the gradient-matching loss is evaluated, on one core.

Prints a table of formula evaluations per second (value, exact input gradient
and loss at N points) for a 10-node formula over d = 3 features:
``_vm.loss`` (one program per call), ``_vm.loss_many`` (200 programs per call)
and, for comparison, a plain per-node numpy evaluator written here. Time is
this process's CPU time, so other programs on a shared machine slow the
measurement less; each one runs for ``--seconds`` in ten slices and reports
the fastest slice.

    NUMBA_NUM_THREADS=1 python benchmarks/eval_speed.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core, before numba is imported

import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from neuroninterp import _vm  # noqa: E402
from neuroninterp._formula import Formula  # noqa: E402
from neuroninterp._ops import (  # noqa: E402
    ABS,
    ADD,
    CONST,
    COS,
    CUBE,
    DIV,
    EXP,
    INV,
    LOG,
    MUL,
    NEG,
    POW,
    SIN,
    SQRT,
    SQUARE,
    SUB,
    TANH,
    VAR,
)

FORMULA = "x1*x1 + 2*x2*x2 + sin(x3)"
NAMES = ["x1", "x2", "x3"]
BATCH = 200


def numpy_loss(code: list[int], arg: list[int], val: list[float], X: np.ndarray,
               U: np.ndarray) -> float:
    """Value and gradient node by node with numpy arrays, then the loss: the
    straightforward way to do what ``_vm.loss`` does."""
    n, d = X.shape
    stack: list[tuple[np.ndarray, np.ndarray]] = []
    for pos in range(len(code) - 1, -1, -1):
        op = code[pos]
        if op == CONST:
            stack.append((np.full(n, val[pos]), np.zeros((n, d))))
        elif op == VAR:
            g = np.zeros((n, d))
            g[:, arg[pos]] = 1.0
            stack.append((X[:, arg[pos]].copy(), g))
        elif op in (ADD, SUB, MUL, DIV, POW):
            a, ga = stack.pop()
            b, gb = stack.pop()
            if op == ADD:
                stack.append((a + b, ga + gb))
            elif op == SUB:
                stack.append((a - b, ga - gb))
            elif op == MUL:
                stack.append((a * b, ga * b[:, None] + a[:, None] * gb))
            elif op == DIV:
                stack.append((a / b, (ga * b[:, None] - a[:, None] * gb) / (b * b)[:, None]))
            else:
                v = a**b
                stack.append((v, (b * a ** (b - 1))[:, None] * ga + (np.log(a) * v)[:, None] * gb))
        else:
            x, gx = stack.pop()
            if op == NEG:
                v, dv = -x, -np.ones(n)
            elif op == SIN:
                v, dv = np.sin(x), np.cos(x)
            elif op == COS:
                v, dv = np.cos(x), -np.sin(x)
            elif op == EXP:
                v = np.exp(x)
                dv = v
            elif op == LOG:
                v, dv = np.log(x), 1.0 / x
            elif op == SQRT:
                v = np.sqrt(x)
                dv = 0.5 / v
            elif op == SQUARE:
                v, dv = x * x, 2.0 * x
            elif op == CUBE:
                v, dv = x * x * x, 3.0 * x * x
            elif op == TANH:
                v = np.tanh(x)
                dv = 1.0 - v * v
            elif op == ABS:
                v, dv = np.abs(x), np.sign(x)
            elif op == INV:
                v = 1.0 / x
                dv = -v * v
            else:
                raise ValueError(f"unknown opcode {op}")
            stack.append((v, dv[:, None] * gx))
    value, grad = stack.pop()
    norms = np.linalg.norm(grad, axis=1)
    good = (norms > 0) & np.isfinite(norms) & np.isfinite(value)
    per_point = np.full(n, 4.0)
    per_point[good] = np.sum((grad[good] / norms[good, None] - U[good]) ** 2, axis=1)
    return float(per_point.mean())


def rate(run: Callable[[], object], evals_per_call: int, seconds: float,
         slices: int = 10) -> float:
    """Formula evaluations per CPU second of ``run``, measured for about ``seconds``
    of CPU time in ``slices`` equal slices; the fastest slice counts (the least
    disturbed by other processes on a shared machine)."""
    run()  # warm up (the JIT compiles or loads its cache here)
    best = 0.0
    for _ in range(slices):
        calls = 0
        start = time.process_time()
        while True:
            run()
            calls += 1
            elapsed = time.process_time() - start
            if elapsed >= seconds / slices:
                break
        best = max(best, calls * evals_per_call / elapsed)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    args = parser.parse_args()

    f = Formula.from_sympy(FORMULA, NAMES)
    assert len(f) == 10, len(f)
    code, arg, val = f.arrays()
    codes = np.tile(code, BATCH)
    argss = np.tile(arg, BATCH)
    vals = np.tile(val, BATCH)
    starts = np.arange(BATCH + 1, dtype=np.int64) * len(f)

    rng = np.random.default_rng(0)
    rows: list[tuple[str, int, float]] = []
    for n in (25, 100, 1000):
        X = rng.uniform(-1, 1, size=(n, 3))
        U = rng.normal(size=(n, 3))
        U /= np.linalg.norm(U, axis=1, keepdims=True)
        Xt, Ut = np.ascontiguousarray(X.T), np.ascontiguousarray(U.T)
        w = np.ones(n, dtype=bool)
        one = _vm.loss(code, arg, val, Xt, Ut, w)
        many = _vm.loss_many(codes, argss, vals, starts, Xt, Ut, w)
        reference = numpy_loss(f.code, f.arg, f.val, X, U)
        assert np.allclose(many, one) and np.isclose(one, reference), (one, many[0], reference)

        rows.append(("_vm.loss (1 program per call)", n, rate(
            lambda Xt=Xt, Ut=Ut, w=w: _vm.loss(code, arg, val, Xt, Ut, w), 1, args.seconds)))
        rows.append((f"_vm.loss_many ({BATCH} programs per call)", n, rate(
            lambda Xt=Xt, Ut=Ut, w=w: _vm.loss_many(codes, argss, vals, starts, Xt, Ut, w),
            BATCH, args.seconds)))
        if n == 100:
            rows.append(("numpy, node by node", n, rate(
                lambda X=X, U=U: numpy_loss(f.code, f.arg, f.val, X, U), 1, args.seconds)))

    print(f"Gradient-loss evaluations per CPU second, one core (NUMBA_NUM_THREADS="
          f"{os.environ['NUMBA_NUM_THREADS']}), formula {FORMULA} ({len(f)} nodes, d = 3)")
    print()
    print("| evaluator | N points | evaluations per CPU second |")
    print("|---|---:|---:|")
    for name, n, r in rows:
        print(f"| {name} | {n} | {r:,.0f} |")


if __name__ == "__main__":
    main()
