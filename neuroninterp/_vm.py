"""Compiled evaluator: value and exact input gradient of formulas, and the loss.

A formula is a prefix program: ``code[i]`` is an opcode from ``_ops``,
``arg[i]`` the feature index where ``code[i]`` is a variable, and
``consts[i]`` the number where ``code[i]`` is a constant. The program is run
backwards on a stack; each stack slot holds the values at all points and the
forward-mode gradient (d components) at all points. Loops over points are
innermost so that numba vectorizes them.

Points are stored feature-major: ``Xt`` has shape (d, n). Invalid arithmetic
(division by zero, log of a negative, overflow) gives inf/nan, never an
exception (``error_model="numpy"``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._ops import (
    ABS,
    ACOS,
    ACOSH,
    ADD,
    ASIN,
    ASINH,
    ATAN,
    ATANH,
    CBRT,
    CONST,
    COS,
    COSH,
    CUBE,
    DIV,
    ERF,
    ERFC,
    EXP,
    GAMMA,
    INV,
    LOG,
    LOG1P,
    LOG2,
    LOG10,
    MAX,
    MIN,
    MUL,
    NEG,
    POW,
    RELU,
    SIGMOID,
    SIN,
    SINH,
    SQRT,
    SQUARE,
    SUB,
    TAN,
    TANH,
    VAR,
)

WORST = 4.0  # |u - v|^2 for opposite unit vectors: the value of a point with no usable gradient
# Loss modes. DIRECTION: gradient matching, Ut holds unit target gradients (d, n).
# HINGE: symbolic classification on values, Ut[0] holds labels +-1: mean max(0, 1 - y T).
# AXIAL: gradient matching up to the sign at each point, mean 2 - 2|cos| (the sub-problems of
# ``_decompose``, where the outer function's slope may have either sign).
DIRECTION = 0
HINGE = 1
AXIAL = 2
ERF_SLOPE = 2.0 / math.sqrt(math.pi)  # erf'(x) = ERF_SLOPE * exp(-x**2)
LN2, LN10 = math.log(2.0), math.log(10.0)
_JIT = dict(cache=True, nogil=True, error_model="numpy", fastmath=False)


@njit(**_JIT)
def _digamma(x):  # pragma: no cover - compiled
    """gamma'(x) / gamma(x): reflection below 0, recurrence up to 6, then the asymptotic
    series (error below 1e-12 there)."""
    if x <= 0.0 and x == np.floor(x):
        return np.nan
    out = 0.0
    if x < 0.0:  # psi(x) = psi(1 - x) - pi / tan(pi x)
        out -= np.pi / np.tan(np.pi * x)
        x = 1.0 - x
    while x < 6.0:
        out -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    return out + np.log(x) - 0.5 / x - series


@njit(**_JIT)
def _run(code, arg, consts, Xt, val, grad):  # pragma: no cover - compiled
    """Run one program; the result is left in ``val[0]`` and ``grad[0]``."""
    d, n = Xt.shape
    sp = 0
    for pos in range(code.shape[0] - 1, -1, -1):
        op = code[pos]
        if op == CONST:
            c = consts[pos]
            for i in range(n):
                val[sp, i] = c
            for k in range(d):
                for i in range(n):
                    grad[sp, k, i] = 0.0
            sp += 1
        elif op == VAR:
            j = arg[pos]
            for i in range(n):
                val[sp, i] = Xt[j, i]
            for k in range(d):
                one = 1.0 if k == j else 0.0
                for i in range(n):
                    grad[sp, k, i] = one
            sp += 1
        elif op <= POW or op >= MAX:
            a = sp - 1  # first operand (top of stack)
            b = sp - 2  # second operand, also where the result goes
            if op == ADD:
                for i in range(n):
                    val[b, i] = val[a, i] + val[b, i]
                for k in range(d):
                    for i in range(n):
                        grad[b, k, i] = grad[a, k, i] + grad[b, k, i]
            elif op == SUB:
                for i in range(n):
                    val[b, i] = val[a, i] - val[b, i]
                for k in range(d):
                    for i in range(n):
                        grad[b, k, i] = grad[a, k, i] - grad[b, k, i]
            elif op == MUL:
                for k in range(d):
                    for i in range(n):
                        grad[b, k, i] = grad[a, k, i] * val[b, i] + val[a, i] * grad[b, k, i]
                for i in range(n):
                    val[b, i] = val[a, i] * val[b, i]
            elif op == DIV:
                for k in range(d):
                    for i in range(n):
                        grad[b, k, i] = (grad[a, k, i] * val[b, i] - val[a, i] * grad[b, k, i]) / (
                            val[b, i] * val[b, i]
                        )
                for i in range(n):
                    val[b, i] = val[a, i] / val[b, i]
            elif op == MAX or op == MIN:
                # the larger (smaller) operand's gradient; at a tie the mean of the two, as
                # sympy's Heaviside(0) = 1/2 has it
                sign = 1.0 if op == MAX else -1.0
                for i in range(n):
                    va, vb = val[a, i], val[b, i]
                    wa = 1.0 if sign * (va - vb) > 0.0 else (0.5 if va == vb else 0.0)
                    if va != va or vb != vb:
                        val[b, i] = np.nan
                        wa = np.nan
                    elif wa == 1.0:
                        val[b, i] = va
                    for k in range(d):
                        grad[b, k, i] = wa * grad[a, k, i] + (1.0 - wa) * grad[b, k, i]
            else:  # POW
                for i in range(n):
                    base = val[a, i]
                    ex = val[b, i]
                    v = base**ex
                    dbase = ex * base ** (ex - 1.0)
                    lg = np.log(base) * v
                    for k in range(d):
                        gb = grad[b, k, i]
                        gx = dbase * grad[a, k, i]
                        if gb != 0.0:
                            gx += lg * gb
                        grad[b, k, i] = gx
                    val[b, i] = v
            sp -= 1
        else:
            a = sp - 1
            for i in range(n):
                x = val[a, i]
                if op == NEG:
                    v = -x
                    dv = -1.0
                elif op == SIN:
                    v = np.sin(x)
                    dv = np.cos(x)
                elif op == COS:
                    v = np.cos(x)
                    dv = -np.sin(x)
                elif op == EXP:
                    v = np.exp(x)
                    dv = v
                elif op == LOG:
                    v = np.log(x)
                    dv = 1.0 / x
                elif op == SQRT:
                    v = np.sqrt(x)
                    dv = 0.5 / v
                elif op == SQUARE:
                    v = x * x
                    dv = 2.0 * x
                elif op == CUBE:
                    v = x * x * x
                    dv = 3.0 * x * x
                elif op == TANH:
                    v = np.tanh(x)
                    dv = 1.0 - v * v
                elif op == ABS:
                    v = abs(x)
                    dv = 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)
                elif op == INV:
                    v = 1.0 / x
                    dv = -v * v
                elif op == TAN:
                    v = np.tan(x)
                    dv = 1.0 + v * v
                elif op == ASIN:
                    v = np.arcsin(x)
                    dv = 1.0 / np.sqrt(1.0 - x * x)
                elif op == ACOS:
                    v = np.arccos(x)
                    dv = -1.0 / np.sqrt(1.0 - x * x)
                elif op == ATAN:
                    v = np.arctan(x)
                    dv = 1.0 / (1.0 + x * x)
                elif op == SINH:
                    v = np.sinh(x)
                    dv = np.cosh(x)
                elif op == COSH:
                    v = np.cosh(x)
                    dv = np.sinh(x)
                elif op == ASINH:
                    v = np.arcsinh(x)
                    dv = 1.0 / np.sqrt(x * x + 1.0)
                elif op == ACOSH:
                    v = np.arccosh(x)
                    dv = 1.0 / np.sqrt(x * x - 1.0)
                elif op == ATANH:
                    v = np.arctanh(x)
                    dv = 1.0 / (1.0 - x * x)
                elif op == ERF:
                    v = math.erf(x)
                    dv = ERF_SLOPE * np.exp(-x * x)
                elif op == ERFC:
                    v = math.erfc(x)
                    dv = -ERF_SLOPE * np.exp(-x * x)
                elif op == LOG10:
                    v = np.log10(x)
                    dv = 1.0 / (x * LN10)
                elif op == LOG2:
                    v = np.log2(x)
                    dv = 1.0 / (x * LN2)
                elif op == LOG1P:
                    v = np.log1p(x)
                    dv = 1.0 / (1.0 + x)
                elif op == CBRT:
                    v = np.cbrt(x)
                    dv = 1.0 / (3.0 * v * v)
                elif op == GAMMA:
                    v = math.gamma(x) if x > 0.0 or x != np.floor(x) else np.nan
                    dv = v * _digamma(x)
                elif op == RELU:
                    v = x if x > 0.0 else (0.0 if x <= 0.0 else np.nan)
                    dv = 1.0 if x > 0.0 else (0.5 if x == 0.0 else 0.0)
                elif op == SIGMOID:
                    v = 1.0 / (1.0 + np.exp(-x))
                    dv = v * (1.0 - v)
                else:
                    v = np.nan
                    dv = np.nan
                val[a, i] = v
                for k in range(d):
                    grad[a, k, i] = dv * grad[a, k, i]
    return sp


@njit(**_JIT)
def _scratch(length, d, n):  # pragma: no cover - compiled
    return np.empty((length, n)), np.empty((length, d, n))


@njit(**_JIT)
def _scale(g, i, d):  # pragma: no cover - compiled
    """Largest |component| of gradient ``g[:, i]`` (nan if any is nan): rows are
    divided by it before squaring, so tiny gradients (1e-160) do not underflow."""
    m = 0.0
    for k in range(d):
        a = abs(g[k, i])
        if not a <= m:  # also true for nan
            m = a
    return m


@njit(**_JIT)
def _cosine(g, Ut, i, d):  # pragma: no cover - compiled
    """Cosine between gradient ``g[:, i]`` and the unit target ``Ut[:, i]``; nan
    when the gradient is zero or not finite."""
    m = _scale(g, i, d)
    if not (m > 0.0 and np.isfinite(m)):
        return np.nan
    sq = 0.0
    dot = 0.0
    for k in range(d):
        gk = g[k, i] / m
        sq += gk * gk
        dot += gk * Ut[k, i]
    return min(1.0, max(-1.0, dot / np.sqrt(sq)))


@njit(**_JIT)
def _hinge_from_stack(v0, Ut, w):  # pragma: no cover - compiled
    total = 0.0
    count = 0
    for i in range(v0.shape[0]):
        if not w[i]:
            continue
        if not np.isfinite(v0[i]):
            return np.inf
        count += 1
        margin = 1.0 - Ut[0, i] * v0[i]
        if margin > 0.0:
            total += margin
    if count == 0:
        return np.inf
    return total / count


@njit(**_JIT)
def _loss_from_stack(v0, g0, Ut, w, mode=DIRECTION):  # pragma: no cover - compiled
    if mode == HINGE:
        return _hinge_from_stack(v0, Ut, w)
    d, n = Ut.shape
    total = 0.0
    count = 0
    for i in range(n):
        if not w[i]:
            continue
        count += 1
        cos = _cosine(g0, Ut, i, d)
        if mode == AXIAL:
            cos = abs(cos)
        if np.isfinite(cos) and np.isfinite(v0[i]):
            total += 2.0 - 2.0 * cos
        else:
            total += WORST
    if count == 0:
        return np.inf
    return max(0.0, total / count)  # rounding can leave -1e-16 for a perfect match


@njit(**_JIT)
def evaluate(code, arg, consts, Xt):  # pragma: no cover - compiled
    """Values (n,) and gradients (d, n) of one program at the points ``Xt``."""
    d, n = Xt.shape
    val, grad = _scratch(code.shape[0], d, n)
    _run(code, arg, consts, Xt, val, grad)
    return val[0].copy(), grad[0].copy()


@njit(**_JIT)
def loss(code, arg, consts, Xt, Ut, w, mode=DIRECTION):  # pragma: no cover - compiled
    """Gradient-matching loss of one program: mean |u - v|^2 over points with ``w``
    (or the hinge loss with ``mode=HINGE``)."""
    d, n = Xt.shape
    val, grad = _scratch(code.shape[0], d, n)
    _run(code, arg, consts, Xt, val, grad)
    return _loss_from_stack(val[0], grad[0], Ut, w, mode)


@njit(**_JIT)
def loss_many(codes, args, consts, starts, Xt, Ut, w, mode=DIRECTION):  # pragma: no cover
    """Loss of many programs stored back to back: program p is the slice
    ``starts[p]:starts[p+1]`` of ``codes``, ``args`` and ``consts``."""
    d, n = Xt.shape
    n_prog = starts.shape[0] - 1
    longest = 1
    for p in range(n_prog):
        longest = max(longest, starts[p + 1] - starts[p])
    val, grad = _scratch(longest, d, n)
    out = np.empty(n_prog)
    for p in range(n_prog):
        s, e = starts[p], starts[p + 1]
        _run(codes[s:e], args[s:e], consts[s:e], Xt, val, grad)
        out[p] = _loss_from_stack(val[0], grad[0], Ut, w, mode)
    return out


@njit(**_JIT)
def residuals(code, arg, consts, Xt, Ut, w, mode=DIRECTION):  # pragma: no cover - compiled
    """Residual vector ``v - u`` (d*n entries) whose squared norm / n is the loss
    (with ``mode=HINGE``: sqrt(max(0, 1 - y T)), n entries)."""
    d, n = Xt.shape
    val, grad = _scratch(code.shape[0], d, n)
    _run(code, arg, consts, Xt, val, grad)
    if mode == HINGE:
        hinge = np.zeros(n)
        for i in range(n):
            if w[i]:
                margin = 1.0 - Ut[0, i] * val[0, i]
                hinge[i] = np.sqrt(margin) if margin > 0.0 else (0.0 if margin <= 0.0 else 10.0)
        return hinge
    out = np.zeros(d * n)
    for i in range(n):
        if not w[i]:
            continue
        m = _scale(grad[0], i, d)
        if m > 0.0 and np.isfinite(m) and np.isfinite(val[0, i]):
            sq = 0.0
            for k in range(d):
                gk = grad[0, k, i] / m
                sq += gk * gk
            inv = 1.0 / (m * np.sqrt(sq))
            if mode == AXIAL:
                dot = 0.0
                for k in range(d):
                    dot += grad[0, k, i] * Ut[k, i]
                if dot < 0.0:
                    inv = -inv
            for k in range(d):
                out[k * n + i] = grad[0, k, i] * inv - Ut[k, i]
        else:
            for k in range(d):
                out[k * n + i] = -2.0 * Ut[k, i]
    return out


@njit(**_JIT)
def fit_constants(code, arg, consts, spots, Xt, Ut, w, max_iter, mode=DIRECTION):  # pragma: no cover
    """Levenberg-Marquardt on the residuals ``v - u`` over the constants at
    positions ``spots``, with a forward-difference Jacobian. Returns the fitted
    constants (a copy of ``consts``) and their loss."""
    d, n = Xt.shape
    k = spots.shape[0]
    c = consts.copy()
    r = residuals(code, arg, c, Xt, Ut, w, mode)
    m = r.shape[0]
    cost = np.sum(r * r)
    lam = 1e-3
    rel = 1.0
    J = np.empty((m, k))
    for _ in range(max_iter):
        for j in range(k):
            old = c[spots[j]]
            h = 1e-7 * max(1.0, abs(old))
            c[spots[j]] = old + h
            rj = residuals(code, arg, c, Xt, Ut, w, mode)
            c[spots[j]] = old
            for i in range(m):
                J[i, j] = (rj[i] - r[i]) / h
        A = J.T @ J
        g = J.T @ r
        if not (np.all(np.isfinite(A)) and np.all(np.isfinite(g))):
            break  # no usable step: stop here instead of raising inside LAPACK
        improved = False
        for _attempt in range(8):
            M = A.copy()
            for j in range(k):
                M[j, j] += lam * (A[j, j] + 1e-12)
            step = np.linalg.solve(M, -g)
            trial = c.copy()
            for j in range(k):
                trial[spots[j]] += step[j]
            rt = residuals(code, arg, trial, Xt, Ut, w, mode)
            cost_t = np.sum(rt * rt)
            if cost_t < cost:
                c = trial
                r = rt
                rel = (cost - cost_t) / max(cost, 1e-300)
                cost = cost_t
                lam = max(lam * 0.3, 1e-9)
                improved = True
                break
            lam *= 10.0
        if not improved or rel < 1e-10 or cost < 1e-28:
            break
    count = 0
    for i in range(n):
        if w[i]:
            count += 1
    return c, cost / max(count, 1)
