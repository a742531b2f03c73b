"""The simplest equivalent form of a formula.

Two formulas are equivalent here when their normalized gradient fields agree
at the data points. So besides algebraic simplification (sympy), we may drop
what cannot change the direction of the gradient: additive constants, a
positive overall factor, and a monotone function wrapped around the whole
formula (exp, log, odd powers, sqrt, tanh, 1/T on one-signed T, ...). A
decreasing wrapper flips the sign, so the result stays oriented: it grows
where the unit grows.

Every rewrite is checked numerically on the points: it is kept only if the
signed cosine between the gradients before and after is 1 (to 1e-9) at all
points, or - for rounding constants - if the loss does not get worse by more
than a small tolerance.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.optimize
import sympy

from ._formula import Formula
from ._ops import log1p, log2, log10

SAME_DIRECTION = 1.0 - 1e-9
ALGEBRA_MAX_OPS = 10  # sympy.factor and simplify only below this size: unbounded on larger ones
FACTOR_MAX_OPS = 20  # _factor_small: the size limit of a sum without constants
EXPAND_MAX_TERMS = 500  # no expand or cancel of formulas that would grow beyond this
ALGEBRA_SECONDS = 20.0  # per Simplifier: after this much time in sympy, no more rewrites
REWRITE_SECONDS = 5.0  # one sympy rewrite is stopped after this long (where a timer can stop it)
SIMPLIFY_SECONDS = 40.0  # per Simplifier: after this much time in simplest(), formulas stay as found
UNTAYLOR_BELOW = 1e-4  # untaylor only near-exact formulas (approximants of an exact one)
TAYLOR_SPREAD = 1.0  # untaylor: largest spread of a function's argument (relative for log, powers)
REFIT_MAX_CONSTANTS = 15  # refit leaves longer forms alone: a fit of hundreds ran for minutes
TINY = 1e-9  # tidy_constants also tries constants smaller than this as 0
TAYLOR_ACCURACY = 1e-3  # untaylor's first try: largest error of the quadratic, share of the range
SETTLE_WITHIN = 10.0  # _plainest settles only forms whose loss is within this factor of the best
SMALL = 1e-5  # constants below this are also tried to first order (first_order)
ROUND_WITHIN = 1e-6  # _round: a constant within this share of a short number is that number
COARSE_WITHIN = 1e-4  # ... and, tried as well, within this share of a small fraction (1, 3/2, 1/4)


class Simplifier:
    """Simplifies formulas against a fixed set of points and target directions.

    With ``labels`` given instead (symbolic classification), the formula's
    values matter, not only its direction: nothing is peeled, rewrites must
    keep the values, and the loss is the hinge loss.
    """

    def __init__(self, names: list[str], X: np.ndarray, U: np.ndarray | None = None,
                 labels: np.ndarray | None = None, algebra_seconds: float = ALGEBRA_SECONDS,
                 seconds: float = SIMPLIFY_SECONDS):
        self.names = names
        self.algebra_seconds = algebra_seconds
        self._algebra_spent = 0.0
        self.seconds = seconds
        self._spent = 0.0
        self._deadline = math.inf  # of the simplest() call under way: its loops stop there
        self.skipped = 0  # formulas left as found because ``seconds`` were used up (or interrupted)
        self.interrupted = False
        self._sizes: dict[sympy.Expr, float] = {}
        self.X = X
        self.U = U
        self.labels = labels
        # Features of one sign at every point, as positive (negative) symbols: ``algebra`` also
        # tries its rewrites with them, where sympy may merge powers and drop Abs.
        self._signed: dict[sympy.Symbol, sympy.Symbol] = {}
        for name, column in zip(names, np.asarray(X, dtype=float).T):
            if len(column) and (np.all(column > 0) or np.all(column < 0)):
                sign = {"positive": True} if column[0] > 0 else {"negative": True}
                self._signed[sympy.Symbol(name, real=True)] = sympy.Symbol(name, **sign)
        self._real = {s: r for r, s in self._signed.items()}

    # -- numerical checks --------------------------------------------------------
    def gradient(self, expr: sympy.Expr) -> np.ndarray | None:
        try:
            f = Formula.from_sympy(expr, self.names)
        except (ValueError, TypeError):
            return None
        _, g = f.evaluate(self.X)
        return g

    def loss(self, expr: sympy.Expr) -> float:
        if self.labels is not None:
            v = self.values(expr)
            if v is None or not np.all(np.isfinite(v)):
                return math.inf
            return float(np.maximum(0.0, 1.0 - self.labels * v).mean())
        g = self.gradient(expr)
        if g is None or self.U is None:
            return math.inf
        cos = cosines(g, self.U)
        per_point = np.where(np.isfinite(cos), 2 - 2 * cos, 4.0)
        return float(max(0.0, per_point.mean()))

    def error(self, expr: sympy.Expr) -> float:
        """The share of points whose label the sign of ``expr`` gets wrong (with labels;
        undefined values count as wrong)."""
        v = self.values(expr)
        if v is None or self.labels is None:
            return math.inf
        return float(np.mean(np.sign(v) != self.labels))  # nan != label

    def same_direction(self, a: sympy.Expr, b: sympy.Expr) -> bool:
        if self.labels is not None:  # values must agree, not only directions
            va, vb = self.values(a), self.values(b)
            return va is not None and vb is not None and bool(
                np.allclose(va, vb, rtol=1e-9, atol=1e-12, equal_nan=True))
        ga, gb = self.gradient(a), self.gradient(b)
        if ga is None or gb is None:
            return False
        cos = cosines(ga, gb)
        usable = np.isfinite(cos)
        # b must have a direction wherever a has one, and the cosine must be 1 there.
        flat_b = ~np.isfinite(cosines(gb, gb))
        flat_a = ~np.isfinite(cosines(ga, ga))
        return bool(usable.mean() >= 0.99 and (cos[usable] >= SAME_DIRECTION).all()
                    and (flat_a | ~flat_b).all())

    def values(self, expr: sympy.Expr) -> np.ndarray | None:
        try:
            v, _ = Formula.from_sympy(expr, self.names).evaluate(self.X)
        except (ValueError, TypeError):
            return None
        return v

    # -- the rewrite ----------------------------------------------------------------
    def simplest(self, expr: sympy.Expr, within: float = math.inf) -> sympy.Expr:
        """Algebra, peel, prune and tidy, until nothing changes. Once this simplifier has
        spent ``seconds`` here, formulas are returned as they are (and counted in ``skipped``);
        the call that reaches that point, or that has run for ``within`` seconds, stops
        between its steps with what it has by then."""
        if self._spent > self.seconds or self.interrupted:
            self.skipped += 1
            return expr
        t0 = time.perf_counter()
        self._deadline = t0 + min(self.seconds - self._spent, within)
        try:
            return self._simplest(expr)
        except Exception:  # sympy raises on odd input (Max of a non-real number): left as found
            return expr
        finally:
            self._spent += time.perf_counter() - t0
            self._deadline = math.inf

    def _simplest(self, expr: sympy.Expr) -> sympy.Expr:
        expr = self.one_branch(expr)
        if self.labels is not None:
            return self.tidy_constants(self.prune(self.algebra(expr)), rescale=False)
        expr = self._settle(drop_exact(expr))
        # Functions kept in their Taylor regime (sin(0.002*u + pi/2) for a square of u)
        # give way to their polynomial, which is often the exact formula: first only those
        # their quadratic reproduces closely (so that a 1/x3 beside them stays), then all.
        loss = self.loss(expr)
        polynomials = ([self.untaylor(expr, TAYLOR_ACCURACY), self.untaylor(expr)]
                       if loss < UNTAYLOR_BELOW else [])
        if loss < UNTAYLOR_BELOW and (linear := first_order(expr)) is not None:
            polynomials.append(linear)
        forms: list[sympy.Expr] = []
        for polynomial in polynomials:
            # (an equal form would only be simplified twice)
            forms += [f for f in (polynomial, bounded_expand(polynomial)) if f != expr and f not in forms]
        expr, loss = self._plainest(expr, loss, forms)
        # then logarithms of one base, in what the polynomials left (an atan in its limit
        # would hide that 0.434294*exp(0.693147*log2(x2)) is x2/log(10))
        expr, loss = self._plainest(expr, loss, _logarithms_as(expr))
        # Products of near-1 factors (Taylor-like forms the search finds) become short
        # once expanded and pruned: (1 + a*x1**2)*(1 + 2*a*x2**2) -> x1**2 + 2*x2**2.
        expanded = expr if self._late() else bounded_expand(expr)
        if expanded != expr:
            flat = self.tidy_constants(drop_exact(self.prune(expanded)))
            if _plainness(flat) < _plainness(expr) and self.loss(flat) <= loss + _tolerance(loss):
                expr = flat
        return expr

    def _plainest(self, expr: sympy.Expr, loss: float, forms: list[sympy.Expr]
                  ) -> tuple[sympy.Expr, float]:
        """``expr`` or the plainest of ``forms``, each pruned, refitted and settled first,
        that fits as well (``loss`` is ``expr``'s), with its loss."""
        tol = _tolerance(loss)
        for form in forms:
            if self._late():
                break
            form = self.refit(self.prune(form, max_tries=200))
            # Settling keeps the direction or fits within a tolerance, so a form that fits far
            # worse than expr after its refit cannot win: its sympy rewrites are skipped
            # (seconds for an expanded Taylor polynomial of an exact formula).
            if not self.loss(form) <= SETTLE_WITHIN * (loss + tol):
                continue
            form = self._settle(drop_exact(form))
            form_loss = self.loss(form)
            if _plainness(form) < _plainness(expr) and form_loss <= loss + tol:
                expr, loss = form, form_loss
        return expr, loss

    def _settle(self, expr: sympy.Expr) -> sympy.Expr:
        """Algebra, peel, prune and tidy, until nothing changes."""
        for i in range(6):  # thorough algebra once: sympy's factor and simplify are slow
            if i and self._late():
                break
            new = self.tidy_constants(self.prune(self.strip(self.algebra(expr, thorough=i == 0))))
            if new == expr:
                break
            expr = new
        return expr

    def _late(self) -> bool:
        return self.interrupted or time.perf_counter() > self._deadline

    def interrupt(self) -> None:
        """End the ``simplest`` call under way at its next step, with what it has by then;
        later calls return their formula as it is (Ctrl-C; safe in a signal handler)."""
        self.interrupted = True

    def remaining(self) -> dict[str, Any]:
        """Arguments for a copy of this simplifier (in another process) that has what is
        left of this one's time bounds."""
        return {"names": self.names, "X": self.X, "U": self.U, "labels": self.labels,
                "algebra_seconds": max(0.0, self.algebra_seconds - self._algebra_spent),
                "seconds": max(0.0, self.seconds - self._spent)}

    def refit(self, expr: sympy.Expr) -> sympy.Expr:
        """``expr`` with its constants fitted to the target directions (kept only if
        the loss gets better)."""
        from ._search import Targets, optimize_constants  # late: the search imports much

        if self.U is None:
            return expr
        try:
            f = Formula.from_sympy(expr, self.names)
        except (ValueError, TypeError):
            return expr
        if f.n_constants() > REFIT_MAX_CONSTANTS:  # an expanded polynomial: never the plainest form
            return expr
        targets = Targets(np.ascontiguousarray(self.X.T), np.ascontiguousarray(self.U.T),
                          np.ones(len(self.X), dtype=bool))
        fitted, _ = optimize_constants(f, targets, max_iter=30)
        return expr if fitted is f else fitted.to_sympy(self.names)

    def untaylor(self, expr: sympy.Expr, accuracy: float | None = None) -> sympy.Expr:
        """Replace each function whose argument barely varies over the points by its
        quadratic Taylor polynomial around the argument's mean, and each function whose
        argument sits in a limit (``_limit_form``) by its form there (innermost first).
        With ``accuracy``, a polynomial only where its largest error over the points is at
        most that share of the function's range there; a limit's form is always held to
        that (``TAYLOR_ACCURACY`` by default)."""
        if expr.is_Atom or not expr.free_symbols:
            return expr
        args = [self.untaylor(a, accuracy) for a in expr.args]
        rebuilt = expr.func(*args)  # (sympy may change its type: exp(a + 1) -> E*exp(a))
        t = sympy.Dummy("t")
        if isinstance(expr, sympy.Function) and len(args) == 1:
            arg, shape = args[0], expr.func(t)
            relative = isinstance(expr, sympy.log)
        elif expr.is_Pow and expr.exp.is_Number and not (expr.exp.is_Integer and expr.exp > 0):
            arg, shape, relative = args[0], t**expr.exp, True
        elif expr.is_Pow and (exponent := _exponent(rebuilt)) is not None:  # c**T = exp(T*log(c))
            arg, shape, relative = exponent, sympy.exp(t), False
        elif rebuilt.is_Pow:  # b**T = exp(T*log(b)) where b > 0 (else log(b) has no value)
            arg = self.untaylor(rebuilt.exp * sympy.log(rebuilt.base), accuracy)  # (its log too)
            shape, relative = sympy.exp(t), False
        else:
            return rebuilt
        v = self.values(arg)
        if v is None or not np.all(np.isfinite(v)):
            return rebuilt
        for form, limit in ((_taylor(shape, t, arg, v, relative), accuracy),
                            (_limit_form(shape, arg, v), accuracy or TAYLOR_ACCURACY)):
            if form is not None and (limit is None or self._close(rebuilt, form, limit)):
                return form
        return rebuilt

    def one_branch(self, expr: sympy.Expr) -> sympy.Expr:
        """Each ``Max``/``Min`` with one argument that wins at every point, as that argument,
        and each ``Abs`` of an argument of one sign as the argument or its negative: the same
        values on the points (the search's ``Max(302.09, x1)`` for ``x1`` below 2 is 302.09)."""
        def settle(e: sympy.Expr) -> sympy.Expr:
            found = [self.values(a) for a in e.args]
            values = [v for v in found if v is not None and np.all(np.isfinite(v))]
            if len(values) < len(found):
                return e
            if isinstance(e, sympy.Abs):
                return e.args[0] if np.all(values[0] >= 0) else -e.args[0] if np.all(values[0] <= 0) else e
            wins = np.greater_equal if isinstance(e, sympy.Max) else np.less_equal
            for a, v in zip(e.args, values):
                if all(np.all(wins(v, w)) for w in values):
                    return a
            return e

        return expr.replace(lambda e: isinstance(e, (sympy.Max, sympy.Min, sympy.Abs)), settle)

    def _close(self, exact: sympy.Expr, approximation: sympy.Expr, accuracy: float) -> bool:
        """The largest difference of the two over the points is at most ``accuracy`` times
        the range of ``exact``."""
        a, b = self.values(exact), self.values(approximation)
        if a is None or b is None:
            return False
        with np.errstate(all="ignore"):
            return bool(np.max(np.abs(a - b)) <= accuracy * np.ptp(a))

    def algebra(self, expr: sympy.Expr, thorough: bool = True) -> sympy.Expr:
        """The shortest of a few sympy rewrites that keeps the gradient direction.

        The rewrites see the float constants as symbols: sympy's polynomial
        algorithms turn floats into exact rationals with huge integers, which can
        make factoring run for many minutes even on a short formula. A single rewrite
        is stopped after ``REWRITE_SECONDS`` (``time_limit``): even with symbols, ``cancel``
        once spent over ten minutes in its heuristic gcd. Once the simplifier has spent
        ``algebra_seconds`` in sympy, it stops rewriting."""
        if self._algebra_spent > self.algebra_seconds:
            return expr
        t0 = time.perf_counter()
        floats = sorted(expr.atoms(sympy.Float), key=float)
        symbolic = {f: sympy.Dummy(f"c{i}") for i, f in enumerate(floats)}
        back = {c: f for f, c in symbolic.items()}
        abstract = expr.xreplace(symbolic)
        rewrites = [sympy.powsimp]
        if _expanded_terms(abstract) <= EXPAND_MAX_TERMS:
            rewrites += [sympy.expand, sympy.cancel]
        if thorough and len(rewrites) > 1 and sympy.count_ops(abstract) <= ALGEBRA_MAX_OPS:
            rewrites += [sympy.factor, sympy.simplify]  # thorough, but slow on large formulas
        if len(rewrites) > 1:
            rewrites.append(lambda e: _factor_separately(e, set(symbolic.values())))
        # log(x2**c) -> c*log(x2): only right where x2 > 0, and same_direction checks that
        rewrites.append(lambda e: sympy.expand_log(e, force=True))
        if any(p.base.is_Pow or isinstance(p.base, sympy.exp) for p in abstract.atoms(sympy.Pow)):
            # (c**a)**b -> c**(a*b), where c > 0 too (slow on large formulas: only where it applies)
            rewrites.append(lambda e: sympy.powdenest(e, force=True))
        if any(f.args[0].has(sympy.log) for f in abstract.atoms(sympy.exp)):
            rewrites.append(_powers_of_logs)  # exp(b*log(c)) -> c**b (where c > 0 too)
        if self._signed:
            # with the one-signed features as positive (negative) symbols, sympy drops their Abs
            # and merges powers: sqrt(1/x4)*Abs(x3) -> x3/sqrt(x4), and factor turns
            # x3**3*(x2**2/x3**2 + 1)**(3/2) into (x2**2 + x3**2)**(3/2). (Only as options: it
            # also splits powers of products, sqrt(x1*x2) -> sqrt(x1)*sqrt(x2).)
            signed = [lambda e: e, sympy.together] + (
                [sympy.factor] if sympy.factor in rewrites else [])
            rewrites += [lambda e, r=r: r(e.xreplace(self._signed)).xreplace(self._real) for r in signed]
        options, seen = [expr], {expr}
        for rewrite in rewrites:
            if self._late():
                break
            try:
                # (and not past the bound of simplest())
                with time_limit(min(REWRITE_SECONDS, max(1e-3, self._deadline - time.perf_counter()))):
                    # simplify's trigonometric rewrites are slow with symbols: it gets the floats
                    if rewrite is sympy.simplify:
                        new = sympy.simplify(expr)
                    else:
                        new = rewrite(abstract).xreplace(back)
            except (Exception, TimeUp):  # sympy raises many kinds of errors on odd input
                continue
            if new not in seen:  # (most rewrites leave a formula as it is)
                seen.add(new)
                options.append(new if self.labels is not None else drop_exact(new))
        self._algebra_spent += time.perf_counter() - t0
        options.sort(key=lambda e: (operations(e), len(str(e))))
        for e in options:
            if e == expr or self.same_direction(expr, e):
                return e
        return expr

    def strip(self, expr: sympy.Expr) -> sympy.Expr:
        """Remove, from the outside in, whatever cannot change the gradient direction."""
        for _ in range(20):
            for candidate in self._peel(expr):
                if candidate != expr and self.same_direction(expr, candidate):
                    expr = candidate
                    break
            else:
                return expr
        return expr

    def _peel(self, e: sympy.Expr) -> Iterator[sympy.Expr]:
        if e.is_Add:
            rest = [t for t in e.args if not t.free_symbols]
            if rest:
                yield sympy.Add(*[t for t in e.args if t.free_symbols])
            combined = sympy.logcombine(e, force=True)  # log(x1) + log(u) = log(x1*u), monotone
            if isinstance(combined, sympy.log):
                yield combined.args[0]
        if e.is_Mul:
            coeff, rest = e.as_coeff_Mul()
            if coeff.is_Number and coeff != 1:
                if coeff != -1:
                    yield sympy.sign(coeff) * rest
                # what peels off the rest peels off the product: -asinh(T) -> -T
                yield from (sympy.sign(coeff) * r for r in self._peel(rest))
            # factors that are one-signed functions of the points would change magnitude only
            # if they were constants; non-constant factors are kept.
            flipped = -1 / e  # increasing in e where e keeps one sign: -D/(x1*x2) -> x1*x2/D
            if (_plainness(flipped) < _plainness(e) or (
                    e.could_extract_minus_sign() and sympy.count_ops(flipped) <= sympy.count_ops(e))
                    ) and self._one_signed(e):
                yield flipped
            # a product of exponentials is the exponential of a sum, monotone in the sum:
            # 0.243228**cos(x2)*2.02765**(x1**2) -> -1.41366*cos(x2) + 0.706856*x1**2
            powers = [_exponent(f) for f in e.args if f.free_symbols]
            if len(powers) > 1 and all(p is not None for p in powers):
                yield sympy.Add(*powers)
            if coeff == 1:  # (a coefficient is peeled above, and its rest comes here)
                # a product of powers with one exponent is a power of a product:
                # 0.550565**(x1/x2)/x1**0.596811 -> exp(-x1/x2)/x1
                # (only where that saves operations: x1*exp(-x2**2/2) stays, not x1**2*exp(-x2**2))
                powers = [self._round(p) for p in _common_powers(e)]
                if powers:
                    plain = _plainness(self._round(e))[0]
                    yield from (p for p in powers if _plainness(p)[0] < plain)
        if e.is_Pow:
            base, ex = e.args
            if ex.is_Number:
                yield base  # odd powers, sqrt, positive powers of one-signed bases
                yield -base  # negative powers of one-signed bases, even powers of negative bases
            elif base.is_Number and base.is_positive:  # c**T = exp(T*log(c)), monotone in T
                yield ex
                yield -ex
        if isinstance(e, sympy.Function) and len(e.args) == 1:  # (kept where monotone: strip checks)
            inner = e.args[0]
            yield inner
            yield -inner

    def _one_signed(self, expr: sympy.Expr) -> bool:
        """True when ``expr`` is positive at every point or negative at every point. Where it
        changes sign, ``-1/expr`` has a pole inside the data: its gradient still points along
        ``expr``'s, but its values no longer order the points as ``expr`` does."""
        v = self.values(expr)
        return v is not None and bool(np.all(v > 0) or np.all(v < 0))

    def prune(self, expr: sympy.Expr, max_tries: int = 60) -> sympy.Expr:
        """Drop terms of sums (anywhere in the formula) whose removal does not make
        the loss measurably worse, e.g. ``1e-15*x1/sin(x1)`` left by the search.
        The smallest terms (relative to their sum, at the points) are tried first."""
        base = self.loss(expr)
        tol = _tolerance(base)
        failed: set[tuple[sympy.Expr, sympy.Expr]] = set()
        for _ in range(max_tries):
            if self._late():  # (each try evaluates the formula: seconds, on a large one)
                break
            options = []
            for add in sympy.preorder_traversal(expr):
                if not add.is_Add:
                    continue
                total = self._size(add)
                options += [(self._size(t) / total, add, t) for t in add.args if (add, t) not in failed]
            if not options:
                break
            _, add, term = min(options, key=lambda o: o[0])
            candidate = expr.xreplace({add: add - term})
            if self.labels is not None:  # the term's share of the offset and margin, refitted
                candidate = self._hinge_refit(candidate)
            if candidate.free_symbols and self.loss(candidate) <= base + tol:
                expr = candidate
            else:
                failed.add((add, term))
        return expr

    def _hinge_refit(self, expr: sympy.Expr) -> sympy.Expr:
        """``a*expr + b`` with ``a > 0`` and ``b`` fitted to the hinge loss on the labels (the
        same classifier, with the margin and offset it fits best), or ``expr`` where that
        does not fit better."""
        v = self.values(expr)
        if v is None or not np.all(np.isfinite(v)) or self.labels is None:
            return expr
        y = self.labels

        def hinge(p: np.ndarray) -> float:
            return float(np.maximum(0.0, 1.0 - y * (math.exp(p[0]) * v + p[1])).mean())

        fit = scipy.optimize.minimize(hinge, np.zeros(2), method="Nelder-Mead")
        if not fit.fun < hinge(np.zeros(2)):
            return expr
        return sympy.Float(math.exp(fit.x[0])) * expr + sympy.Float(fit.x[1])

    def _size(self, expr: sympy.Expr) -> float:
        """Mean absolute value at the points (inf where it cannot be evaluated); cached."""
        if expr not in self._sizes:
            v = self.values(expr)
            size = float(np.mean(np.abs(v))) if v is not None else math.inf
            self._sizes[expr] = size if math.isfinite(size) and size > 0 else math.inf
        return self._sizes[expr]

    def tidy_constants(self, expr: sympy.Expr, rescale: bool = True) -> sympy.Expr:
        """Scale so that a coefficient is 1, then round constants to short numbers,
        where the loss does not get measurably worse. Prefers fewer operations,
        then integer coefficients, then shorter text. Phases of sines and cosines are
        first brought into one period (``wrap_phases``)."""
        expr = wrap_phases(expr)
        base_loss = self.loss(expr)
        tol = _tolerance(base_loss)
        # The search often leaves constants that make up for each other, each a little off:
        # x2*((x1 + 0.999962)*(x1 + 1.00004)/(...) - 0.500019) is exact only with 1 and 1/2.
        options = [expr, self._round(expr), self._round(expr, coarse=True)]
        tiny = {f: sympy.Integer(0) for f in expr.atoms(sympy.Float) if abs(f) < TINY}
        if tiny:  # a fitted zero outside a sum, which prune cannot drop: Max(2.4e-20, x2 - x3)
            options.append(self._round(expr.xreplace(tiny)))
        expanded = bounded_expand(expr) if expr.is_Add else expr
        # Rescaling saves at most two operations a term (-2.5*x -> -x), and options with
        # more operations than expr sort after it: past that, rescaled forms cannot win.
        if (expanded.is_Add and rescale and sympy.count_ops(expanded) - 2 * len(expanded.args)
                <= sympy.count_ops(expr)):
            coeffs = {abs(t.as_coeff_Mul()[0]) for t in expanded.args if t.free_symbols}
            options += [self._round(bounded_expand(expanded / c)) for c in coeffs
                        if c.is_Number and c not in (0, 1)]
        options = sorted(dict.fromkeys(options), key=_plainness)  # (roundings often give one form twice)
        for e in options:
            if e == expr or self.loss(e) <= base_loss + tol:
                return e
        return expr

    def _round(self, expr: sympy.Expr, coarse: bool = False) -> sympy.Expr:
        """Constants written as the short numbers they are within ``ROUND_WITHIN`` (a share),
        and with ``coarse``, as the small fractions they are within ``COARSE_WITHIN`` (at most
        12 over at most 4: 57.3675 is within 1e-4 of 631/11, which reads no better)."""
        def nice(x: sympy.Float) -> sympy.Expr:
            v = float(x)

            def close(r: float, share: float = ROUND_WITHIN) -> bool:
                return abs(r - v) <= share * abs(v)

            if coarse:
                small = Fraction(v).limit_denominator(4)
                if abs(small.numerator) <= 12 and close(float(small), COARSE_WITHIN):
                    return sympy.Rational(small.numerator, small.denominator)

            if close(math.e):  # a fitted base of exp: 2.71828**T -> exp(T)
                return sympy.E
            quarters = round(v / (math.pi / 2))  # a phase: cos(x2 - 3.14159) -> -cos(x2)
            if quarters and abs(quarters) <= 4 and close(quarters * math.pi / 2):
                return quarters * sympy.pi / 2
            if abs(v) >= 1e6:  # within 1e-6 of an integer whatever it is: a scale, pulled out later
                return sympy.Float(v, 6)
            for digits in (0, 1):
                if close(round(v, digits)):
                    return sympy.nsimplify(round(v, digits), rational=True)
            fraction = Fraction(v).limit_denominator(12)  # exponents such as 7/3
            if close(float(fraction)):
                return sympy.Rational(fraction.numerator, fraction.denominator)
            # 1.41421 -> sqrt(2), 0.866025 -> sqrt(3)/2 (not 100.96 -> 2*sqrt(308319)/11)
            square = Fraction(v * v).limit_denominator(12)
            if square.numerator <= 12 and close(math.copysign(math.sqrt(square), v)):
                return (1 if v > 0 else -1) * sympy.sqrt(sympy.Rational(square.numerator, square.denominator))
            for digits in (2, 3):
                if close(round(v, digits)):
                    return sympy.Float(round(v, digits), 6)
            return sympy.Float(v, 6)

        def short(x: sympy.Expr) -> bool:  # a fraction, or a float of at most two decimals
            return not x.is_Float or abs(100 * float(x) - round(100 * float(x))) < 1e-6

        def as_power(log_base: float, exponent: sympy.Expr, whole: bool) -> sympy.Expr | None:
            """``exp(log_base*exponent)`` as ``exp`` or a power of ten whose exponent's
            coefficient is a short number, or None: first with ``exponent`` whole (where
            ``whole``), then with its numeric coefficient taken into the logarithm."""
            k, rest = exponent.as_coeff_Mul()
            for factor, remaining in ((1.0, exponent),) * whole + ((float(k), rest),) * (k != 1):
                for new_base, log in ((sympy.E, 1.0), (10, math.log(10))):
                    power = nice(sympy.Float(log_base * factor / log))
                    if not power.is_Float or (new_base == 10 and short(power)):
                        return sympy.Pow(new_base, power * remaining)
            return None

        # a power of a number, or an exponential, whose natural or decimal logarithm is a short
        # number: 0.367879**(x1*x2) -> exp(-x1*x2), 0.891251**x1 -> 10**(-0.05*x1),
        # exp(0.460517*x1) -> 10**(x1/5), 1.8463e11**(0.00443801*x1) -> 10**(0.05*x1) (bases
        # such as 0.5 and 0.707107 are numbers nice() knows: (1/2)**x1 is 2**(-x1))
        bases = {}
        for p in expr.atoms(sympy.Pow, sympy.exp):
            if isinstance(p, sympy.exp):
                found = as_power(1.0, p.args[0], whole=False)
            elif p.base.is_Float and p.base > 0 and p.base != 1:
                found = as_power(math.log(p.base), p.exp, whole=True)
            else:
                continue
            if found is not None:
                bases[p] = found
        return expr.xreplace(bases).xreplace({f: nice(f) for f in expr.atoms(sympy.Float)})


class TimeUp(BaseException):
    """Raised inside a computation that ``time_limit`` stopped. A ``BaseException``, like
    ``KeyboardInterrupt``, so that sympy's own ``except Exception`` blocks let it through."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise ``TimeUp`` in the block once it has run ``seconds`` (a real-time timer,
    SIGALRM). Only the main thread of a process can take the signal, and not every
    platform has it (Windows): elsewhere the block runs without a limit. A timer already
    set by someone else is put back afterwards, less the time spent here."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise TimeUp(f"stopped after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-3))


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine of two (n, d) arrays, in [-1, 1]; nan where a row is zero or
    not finite. Rows are scaled by their largest entry first, so gradients of
    formulas with tiny values (1e-160) do not underflow."""
    with np.errstate(all="ignore"):
        a = a / np.max(np.abs(a), axis=1, keepdims=True)
        b = b / np.max(np.abs(b), axis=1, keepdims=True)
        cos = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return np.clip(cos, -1.0, 1.0)


def _taylor(shape: sympy.Expr, t: sympy.Symbol, arg: sympy.Expr, v: np.ndarray,
            relative: bool) -> sympy.Expr | None:
    """The quadratic Taylor polynomial of ``shape`` (a function of ``t``) around the mean of
    ``arg``'s values ``v``, or None where they spread too far (``TAYLOR_SPREAD``) or ``shape``
    has no real value there (``asin(1.2)``)."""
    a0 = float(np.mean(v))
    spread = float(np.max(np.abs(v - a0)))
    if spread > TAYLOR_SPREAD * (abs(a0) if relative else 1.0):
        return None
    try:
        c = [float(sympy.diff(shape, t, k).subs(t, a0)) / math.factorial(k) for k in range(3)]
    except TypeError:
        return None
    if not all(math.isfinite(ck) for ck in c):
        return None
    if abs(c[2]) * spread < 1e-4 * abs(c[1]):
        c[2] = 0.0  # a linear stretch (exp(1e-5*u)): its square would only add noise
    u = arg - sympy.Float(a0)
    return sympy.Float(c[0]) + sympy.Float(c[1]) * u + sympy.Float(c[2]) * u**2


def first_order(e: sympy.Expr) -> sympy.Expr | None:
    """``e`` to first order in its constants smaller than ``SMALL``, or None where it has none
    or has no value with them at 0. A formula can be exact only because such constants keep
    it in a linear regime: ``x1**1.45e-7*x2/(4.85e-8*x1 + x2)`` is ``1 + 1.45e-7*log(x1) -
    4.85e-8*x1/x2``, which points as ``3*log(x1) - x1/x2`` does. Each factor alone is far
    from its Taylor regime; only the constants are small."""
    small = [f for f in e.atoms(sympy.Float) if 0 < abs(f) < SMALL]
    if not small:
        return None
    eps = [sympy.Dummy() for _ in small]
    symbolic = e.xreplace(dict(zip(small, eps)))
    at_zero = {c: 0 for c in eps}
    linear = symbolic.xreplace(at_zero) + sympy.Add(
        *[f * sympy.diff(symbolic, c).xreplace(at_zero) for f, c in zip(small, eps)])
    if linear.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return None
    return linear


def _limit_form(shape: sympy.Expr, arg: sympy.Expr, v: np.ndarray) -> sympy.Expr | None:
    """What ``shape`` (a function of ``t``) becomes where ``arg``'s values ``v`` sit in one of
    its limits, or None. The search reaches formulas through these as readily as through
    Taylor polynomials: ``asinh(3e6*x1)`` is ``log(x1)`` plus a constant, ``tan(u + 1.5707963)``
    with a tiny ``u`` is ``-1/u``, ``x2**1.8e-8`` is ``1 + 1.8e-8*log(x2)``. Whether the form is
    close enough on the points is the caller's check."""
    sign = 1 if np.all(v > 0) else -1 if np.all(v < 0) else 0
    f = shape.func
    if shape.is_Pow and sign > 0:  # a tiny exponent: t**d = exp(d*log(t)) ~ 1 + d*log(t)
        return 1 + shape.exp * sympy.log(arg)
    if not sign:
        return None
    if f is sympy.tan:  # next to a pole p: tan(t) ~ -1/(t - p)
        poles = np.round(v / math.pi - 0.5)
        if np.ptp(poles) > 0:
            return None
        return -1 / (arg - sympy.Float((poles[0] + 0.5) * math.pi))
    large = {  # (built only for the function at hand)
        sympy.asinh: lambda: sign * sympy.log(2 * sign * arg),
        sympy.acosh: lambda: sympy.log(2 * arg),
        sympy.sinh: lambda: sign * sympy.exp(sign * arg) / 2,
        sympy.cosh: lambda: sympy.exp(sign * arg) / 2,
        sympy.atan: lambda: sign * sympy.pi / 2 - 1 / arg,
    }
    form = large.get(f)
    return form() if form else None


def _exponent(e: sympy.Expr) -> sympy.Expr | None:
    """``T`` for ``exp(T)``, ``T*log(c)`` for ``c**T`` with a positive number ``c``, else None."""
    if isinstance(e, sympy.exp):
        return e.args[0]
    if e.is_Pow and e.base.is_Number and e.base.is_positive:
        return e.exp * sympy.log(e.base)
    return None


def _common_powers(e: sympy.Expr) -> Iterator[sympy.Expr]:
    """For a product ``e`` of factors ``b**k`` (``exp(k*A)`` is ``exp(A)**k``, a factor
    ``b`` is ``b**1``): ``P`` with ``e = P**k`` for each ``k`` other than 1 and -1 among its
    factors, ``1/P`` where ``k`` is negative, so that the result grows where ``e`` grows
    (where ``P`` is positive: ``strip`` checks). An exact ``k`` only where every factor has
    it: ``x1/sqrt(1 - u)`` is not to become ``x1**2/(1 - u)``."""
    parts = []
    for f in e.args:
        if (exponent := _exponent(f)) is not None:  # exp(-2*x1**2 - 2*x2**2): k = -2 twice
            for term in sympy.Add.make_args(exponent):  # (a constant term is a positive factor)
                if term.free_symbols:
                    k, rest = term.as_coeff_Mul()
                    parts.append((sympy.exp(rest), k))
        elif f.is_Pow and f.exp.is_Number:
            parts.append((f.base, f.exp))
        else:
            parts.append((f, sympy.Integer(1)))
    same = len({abs(k) for _, k in parts}) == 1  # exp(-x1/(3*x2))/cbrt(x1): all of power 1/3
    for k in {k for _, k in parts if abs(k) != 1 and (k.is_Float or same)}:
        inner = sympy.Mul(*[b ** (r / k) for b, r in parts])
        yield inner if k > 0 else 1 / inner


def _logarithms_as(e: sympy.Expr) -> list[sympy.Expr]:
    """``e`` with all its logarithms (``log``, ``log10``, ``log2``, ``log1p``) written as one of
    ``log``, ``log10``, ``log2``, each such form once, where ``e`` has a float (another base
    may absorb it) or logarithms of two kinds, or two logarithms other than ``log``
    (``log10(x1) + log10(u)`` is ``x1*u`` once written with ``log``), or a ``log1p``
    (``exp(x5*log1p(x3/x4 - 1))`` is ``(x3/x4)**x5`` once written with ``log``). The search uses
    whichever it drew: ``0.30103*log2(x2/x3)`` is ``log10(x2/x3)``, ``x1 - 2.17147*log(x2)``
    is ``x1 - 5*log10(x2)``, and ``0.434294*exp(0.693147*log2(x2) - x3*x4) + log10(x1)`` reads
    ``x2*exp(-x3*x4) + log(x1)`` (rescaled) once written with ``log``."""
    scale = {sympy.log: 1.0, log10: 1 / math.log(10), log2: 1 / math.log(2)}  # f(a) = scale*log(a)

    def is_log(f: sympy.Expr) -> bool:
        return type(f) in scale or isinstance(f, log1p)

    logs = [f for f in e.atoms(sympy.Function) if is_log(f)]
    kinds = {type(f) for f in logs}
    if not logs or (not any(a.is_Float for a in e.atoms(sympy.Number)) and log1p not in kinds
                    and (kinds == {sympy.log} or len(logs) == 1)):
        return []

    def written_with(head: type) -> sympy.Expr:
        def rewrite(f: sympy.Function) -> sympy.Expr:
            arg = 1 + f.args[0] if isinstance(f, log1p) else f.args[0]
            return head(arg) * sympy.Float(scale.get(type(f), 1.0) / scale[head])
        return e.replace(is_log, rewrite)

    return [f for head in scale if (f := written_with(head)) != e]


def _powers_of_logs(e: sympy.Expr) -> sympy.Expr:
    """Each ``exp(b*log(c))`` written as ``c**b`` (sympy leaves it unless ``c`` is positive)."""
    def power(f: sympy.Expr) -> sympy.Expr:
        for factor in sympy.Mul.make_args(f.args[0]):
            if isinstance(factor, sympy.log):
                return factor.args[0] ** (f.args[0] / factor)
        return f

    return e.replace(lambda a: isinstance(a, sympy.exp), power)


def drop_exact(e: sympy.Expr) -> sympy.Expr:
    """Remove what never changes the gradient direction, anywhere on the domain:
    additive constants and a positive numeric factor of the whole formula
    (also one hidden in float coefficients, e.g. (2e-160*x1 + 1e-162)*exp(x2))."""
    for _ in range(10):
        e = sympy.factor_terms(e)
        if e.is_Add and any(not t.free_symbols for t in e.args):
            e = sympy.Add(*[t for t in e.args if t.free_symbols])
            continue
        # the content of the base of every power, and of the factors of a product:
        # 1/(2*a + 4*b) -> 1/(2*(a + 2*b)), 3.5e-18*(1.7e8*x1 - 1.7e8)**2 -> 0.1*(x1 - 1)**2
        e = e.replace(lambda a: a.is_Pow and a.base.is_Add, lambda p: p.func(_pull_content(p.base), p.exp))
        if e.is_Mul:
            e = sympy.Mul(*[_pull_content(f) for f in e.args])
        e = _pull_content(e)
        if e.is_Mul:  # (a number may be written with operators: log(2)*x2*sin(x1)**2)
            coeff, rest = e.as_independent(*e.free_symbols, as_Add=False)
            if coeff.is_number and coeff.is_extended_real and coeff not in (1, -1) and rest.free_symbols:
                e = rest if coeff > 0 else -rest
                continue
        return e
    return e


def _pull_content(e: sympy.Expr) -> sympy.Expr:
    """Write a sum with float coefficients as (largest |coefficient|) * (sum / it)."""
    if not e.is_Add or not e.atoms(sympy.Float):
        return e
    c = max(abs(t.as_coeff_Mul()[0]) for t in e.args)
    if c == 0 or c == 1:
        return e
    terms = []
    for t in e.args:
        coeff, rest = t.as_coeff_Mul()
        ratio = float(f"{float(coeff / c):.12g}")
        terms.append((sympy.Integer(int(ratio)) if ratio.is_integer() else sympy.Float(ratio)) * rest)
    return sympy.Mul(c, sympy.Add(*terms), evaluate=False)


def wrap_phases(e: sympy.Expr) -> sympy.Expr:
    """``e`` with a constant term beyond one period in a sine's, cosine's or tangent's
    argument brought into [0, period) by whole periods: the same function, and ``sin(x5 - x6 + 3.449)``
    reads better than ``sin(x5 - x6 + 1000996.55)``, whose constant no rounding may touch."""
    def periodic(a: sympy.Expr) -> bool:
        return isinstance(a, (sympy.sin, sympy.cos, sympy.tan)) and a.args[0].free_symbols

    def wrap(f: sympy.Expr) -> sympy.Expr:
        period = math.pi if isinstance(f, sympy.tan) else 2 * math.pi
        c, rest = f.args[0].as_coeff_Add()
        if not c.is_Float or abs(float(c)) < period:
            return f
        return f.func(rest + sympy.Float(float(c) % period))

    return e.replace(periodic, wrap)


def bounded_expand(e: sympy.Expr) -> sympy.Expr:
    """``sympy.expand(e)``, or ``e`` itself when the expansion could grow beyond
    ``EXPAND_MAX_TERMS`` terms or runs longer than ``REWRITE_SECONDS``: expanding a sum of
    floats once ran for many minutes inside ``tidy_constants``."""
    if _expanded_terms(e) > EXPAND_MAX_TERMS:
        return e
    try:
        with time_limit(REWRITE_SECONDS):
            return sympy.expand(e)
    except TimeUp:
        return e


def _expanded_terms(e: sympy.Expr) -> int:
    """An upper bound on the number of terms of any sum in ``sympy.expand(e)``:
    sums add, products multiply, and a sum of t terms to the power n has at most
    comb(t + n - 1, n) terms. Cheap, so that expansions that explode are skipped."""
    def terms(a: sympy.Expr) -> int:
        if a.is_Add:
            return sum(terms(t) for t in a.args)
        if a.is_Mul:
            return math.prod(terms(f) for f in a.args)
        if a.is_Pow and a.exp.is_Integer:
            n = abs(int(a.exp))
            return math.comb(terms(a.base) + n - 1, n)
        return 1

    return max(terms(a) for a in sympy.preorder_traversal(e))


def _factor_separately(e: sympy.Expr, constants: set[sympy.Symbol]) -> sympy.Expr:
    """Factor each group of terms of every sum that shares no feature with the other
    groups, e.g. x3**2 - 2*x3*x4 + x4**2 + x5**2 - 2*x5*x6 + x6**2 -> (x3 - x4)**2 + (x5 - x6)**2.
    The terms without a feature go with the group where that is shortest (or stay apart):
    x3**2 - 2*x3 + 1 + x5**2 -> (x3 - 1)**2 + x5**2, log(1 + (x3 - x4)/x4) -> log(x3/x4).
    Small groups only (``_factor_small``); ``constants`` are not features."""
    def split(add: sympy.Expr) -> sympy.Expr:
        groups: list[tuple[set, list]] = []
        numbers = []
        for term in add.args:
            features = term.free_symbols - constants
            if not features:
                numbers.append(term)
                continue
            joined = [g for g in groups if g[0] & features]
            merged = (features.union(*(g[0] for g in joined)), [term] + [t for g in joined for t in g[1]])
            groups = [g for g in groups if not g[0] & features] + [merged]
        parts = [sympy.Add(*terms) for _, terms in groups]
        factored = [_factor_small(p, constants) for p in parts]
        number = sympy.Add(*numbers)
        options = [sympy.Add(number, *factored)]
        for i, part in enumerate(parts if numbers else []):
            joined = _factor_small(part + number, constants)
            options.append(sympy.Add(*factored[:i], joined, *factored[i + 1:]))
        return min(options, key=sympy.count_ops)

    return e.replace(lambda a: a.is_Add, split)


def _factor_small(e: sympy.Expr, constants: set[sympy.Symbol]) -> sympy.Expr:
    """``sympy.factor(e)`` where ``e`` is small (``ALGEBRA_MAX_OPS``, or ``FACTOR_MAX_OPS``
    without ``constants``: factoring over the integers alone stays fast), with a product of
    powers of a common degree written as one power of a sum, or ``e`` itself, where that is
    shorter: x2**2*x3**2 - 2*x2/x4 + 1/(x3**2*x4**2) -> (x2*x3**2*x4 - 1)**2/(x3**2*x4**2)
    -> (x2*x3 - 1/(x3*x4))**2."""
    if sympy.count_ops(e) > (ALGEBRA_MAX_OPS if e.free_symbols & constants else FACTOR_MAX_OPS):
        return e
    factored = sympy.factor(e)
    options = [factored, e]
    coeff, rest = factored.as_coeff_Mul()
    powers = [f.as_base_exp() for f in sympy.Mul.make_args(rest)]
    if len(powers) > 1 and all(k.is_Integer for _, k in powers):
        n = math.gcd(*(int(k) for _, k in powers))
        if n > 1:
            options.append(coeff * sympy.expand(sympy.Mul(*[b ** (k / n) for b, k in powers])) ** n)
    return min(options, key=sympy.count_ops)


def _tolerance(loss: float) -> float:
    """How much worse than ``loss`` a simpler rewrite may fit: 0.1 %, at least 1e-12."""
    return max(1e-12, 1e-3 * loss)


def operations(e: sympy.Expr) -> int:
    """``sympy.count_ops``, but with a number counted as a number whether it is written as
    a fraction or a float, and ``x**-2.0`` counted like ``x**-2`` (a power and a negation).
    count_ops counts a division in ``3/7`` and the sign of an integer exponent only, so it
    preferred ``x1**0.428571`` to ``x1**(3/7)``, ``0.3999999984*x1`` to ``2*x1/5`` and
    ``x1**-11.9999999999995`` to ``x1**-12``. A power of a float, ``c**T``, counts as
    ``exp(log(c)*T)`` does (one more), so that ``exp(-x1*x2)`` can win over ``0.367879**(x1*x2)``.
    A number written as a power, ``sqrt(2)``, is a number too."""
    fractions = {r: sympy.Float(r) for r in e.atoms(sympy.Rational) if not r.is_Integer}
    fractions |= {p: sympy.Dummy() for p in e.atoms(sympy.Pow) if p.is_number}  # sqrt(2)
    negative = sum(1 for p in e.atoms(sympy.Pow) if p.exp.is_Float and p.exp < 0)
    float_bases = sum(1 for p in e.atoms(sympy.Pow) if p.base.is_Float)
    return int(sympy.count_ops(e.xreplace(fractions))) + negative + float_bases


def _plainness(e: sympy.Expr) -> tuple[int, int, int, int]:
    """Sort key: fewer operations and floats, then fewer floats, then fewer fractions, then
    shorter (``(x1 - x2)**2/(2*x3**2)`` before ``0.5*(x1 - x2)**2/x3**2``). A float is a
    number the reader has to take in, and it counts like an operation: rounding a constant
    can make sympy write out more operations (``sin(atan(u) + 1.5707963)`` becomes
    ``sqrt(u**2 + 1)``, ``(x3/x2)**2.0`` becomes ``x3**2/x2**2``), and that should not keep
    the float."""
    numbers = e.atoms(sympy.Number)
    floats = sum(1 for a in numbers if a.is_Float)
    fractions = sum(1 for a in numbers if a.is_Rational and not a.is_Integer)
    return (operations(e) + floats, floats, fractions, len(str(e)))
