"""Running the search, and the simplification of its front, in one or several processes.

This process always searches itself. With ``n_jobs > 1`` it also starts
``n_jobs - 1`` workers as fresh interpreters (``python -m
neuroninterp._parallel``), so no user script is re-imported and nothing of
torch, TensorFlow or JAX is forked. Each worker runs its own islands with its
own seed; about twice a second it sends its hall of fame here over a pipe and
receives the merged best formulas back as migrants. With ``n_jobs=1`` nothing
is started and the same seed gives the same front. The front's formulas are then
simplified by this process and ``n_jobs - 1`` fresh helpers (``simplify_all``).

Ctrl-C is handled here only: workers ignore SIGINT and stop when told to, or
when the pipe to this process closes. The first Ctrl-C only raises a flag that
the search checks at each step, so the search never stops half-way through a
compiled call (see ``_CtrlC``); a second one interrupts at once.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _vm
from ._formula import Formula
from ._ops import CONST, MUL, VAR
from ._options import SearchOptions
from ._search import HallOfFame, Search, SearchResult, Targets, grace_seconds

if TYPE_CHECKING:
    import sympy

    from ._simplify import Simplifier

EXCHANGE_SECONDS = 0.5
POLISH_EVERY = 100  # generations of this process between attempts to polish the best formula
POLISH_BELOW = 1e-4  # only formulas with a loss below this (near exact) are polished
FIRST_GENERATIONS = 5  # of this process's islands, before the decomposition
DECOMPOSE_SHARE = 0.25  # most of the time budget (and of max_evals) the decomposition may take
Packed = list[tuple[int, float, list[int], list[int], list[float]]]


def _pack(hof: HallOfFame) -> Packed:
    return [(c, loss, f.code, f.arg, f.val) for c, (loss, f) in hof.entries.items()]


def _unpack(packed: Packed) -> list[tuple[int, float, Formula]]:
    return [(c, loss, Formula(list(code), list(arg), list(val))) for c, loss, code, arg, val in packed]


class _Child:
    """A child interpreter (``python -m neuroninterp._parallel``) reached through two
    pipes. Its first message, the job, can be larger than a pipe's buffer, so it is sent
    from a thread: this process goes on working while the child starts up and reads it."""

    def __init__(self, job: dict[str, Any]) -> None:
        down_r, down_w = os.pipe()  # here -> child
        up_r, up_w = os.pipe()  # child -> here
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "neuroninterp._parallel", str(down_r), str(up_w)],
            pass_fds=(down_r, up_w), stdin=subprocess.DEVNULL,
        )
        os.close(down_r)
        os.close(up_w)
        self.down = Connection(down_w, readable=False)
        self.up = Connection(up_r, writable=False)
        self.finished = False
        self.sending = threading.Thread(target=self.send, args=(job,), daemon=True)
        self.sending.start()

    def send(self, message: Any) -> None:
        try:
            self.down.send(message)
        except OSError:  # the child has gone
            self.finished = True

    def end(self, wait: float = 0.5) -> None:
        """Close the pipes (the child stops when it sees that) and reap the child."""
        for conn in (self.down, self.up):
            conn.close()
        try:
            self.proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Worker(_Child):
    """A search in a child interpreter."""

    def __init__(self, k: int, job: dict[str, Any]) -> None:
        super().__init__(job)
        self.k = k
        self.evals = 0

    def receive(self, timeout: float = 0.0) -> list[tuple[int, float, Formula]]:
        """Formulas the worker sent since the last call (its newest hall of fame)."""
        out: list[tuple[int, float, Formula]] = []
        try:
            while not self.finished and self.up.poll(timeout):
                evals, packed, final = self.up.recv()
                self.evals = evals
                self.finished = final
                out = _unpack(packed)
                timeout = 0.0  # wait only for the first message; then drain what is queued
        except (EOFError, OSError):
            self.finished = True
        return out

    def close(self, wait: float) -> list[tuple[int, float, Formula]]:
        self.sending.join(timeout=wait)
        self.send("stop")
        if not self.evals:  # still starting up: it has nothing to give yet
            wait = 0.0
        deadline = time.perf_counter() + wait
        last: list[tuple[int, float, Formula]] = []
        while not self.finished and time.perf_counter() < deadline:
            last = self.receive(timeout=max(1e-3, deadline - time.perf_counter())) or last
        self.end()
        return last


def warm_up(mode: int) -> None:
    """Run every compiled kernel once on tiny data. On a fresh install numba
    compiles them here (tens of seconds, once; the machine code is cached on
    disk); afterwards this takes milliseconds."""
    from ._search import optimize_constants

    d = 1 if mode else 2
    tiny = Targets(np.ones((2, 3)), np.ones((d, 3)) / np.sqrt(d), np.ones(3, dtype=bool), mode)
    f = Formula([MUL, CONST, VAR], [0, 0, 0], [0.0, 2.0, 0.0])
    tiny.losses([f])
    optimize_constants(f, tiny, max_iter=2)
    f.evaluate(np.ones((3, 2)))


def _worker_main(read_fd: int, write_fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    inbox = Connection(read_fd, writable=False)
    outbox = Connection(write_fd, readable=False)
    job = inbox.recv()
    if "simplify" in job:
        _simplify_main(job, inbox, outbox)
        return
    search = Search(job["targets"], SearchOptions(**job["options"]), job["seed"], job["islands"])
    last = time.perf_counter()
    try:
        while True:
            search.step()
            stop = False
            while inbox.poll():  # cheap; checked every generation so that a stop is quick
                message = inbox.recv()
                if message == "stop":
                    stop = True
                else:
                    search.inject([f for _, _, f in _unpack(message)])
            now = time.perf_counter()
            if stop or now - last >= EXCHANGE_SECONDS:
                last = now
                outbox.send((search.evals, _pack(search.hof), stop))
            if stop:
                return
    except (EOFError, OSError, BrokenPipeError):
        return  # the main process has gone


def search(
    targets: Targets,
    options: SearchOptions,
    on_progress: Callable[[float, int, HallOfFame], None] | None = None,
) -> SearchResult:
    """Search until time budget, evaluation budget, early stop or Ctrl-C."""
    with _CtrlC() as ctrl_c:
        try:
            warm_up(targets.mode)  # compile (or load) the kernels before the clock starts
        except KeyboardInterrupt:  # a second Ctrl-C
            ctrl_c.pressed = True
        if ctrl_c.pressed:  # while compiling: nothing found yet
            return SearchResult(HallOfFame(), 0, 0.0, "interrupted")
        return _search(targets, options, on_progress, ctrl_c)


def _search(targets: Targets, options: SearchOptions,
            on_progress: Callable[[float, int, HallOfFame], None] | None, ctrl_c: _CtrlC) -> SearchResult:
    t0 = time.perf_counter()
    n_workers = options.workers - 1
    islands_here = max(1, options.populations // options.workers)
    here = Search(targets, options, options.seed, islands_here)
    job = {"targets": targets, "options": options.as_dict(), "islands": islands_here}
    workers = [
        Worker(k, dict(job, seed=None if options.seed is None else options.seed + 1000 * (k + 1)))
        for k in range(n_workers)
    ]
    end = math.inf if options.time_budget is None else t0 + options.time_budget
    polish = (_Polisher(targets, options.early_stop, end)
              if targets.mode == _vm.DIRECTION and options.early_stop else None)
    if polish:
        ctrl_c.on_press = polish.simplifier.interrupt
    stopped, solved_at = "time_budget", None
    last_exchange = last_report = 0.0

    def merge(found: list[tuple[int, float, Formula]]) -> None:
        for c, loss, f in found:
            here.hof.offer(c, loss, f)

    try:
        if options.decompose and targets.mode == _vm.DIRECTION:
            _decompose(here, options, t0, stop=lambda: ctrl_c.pressed)
        while True:
            here.step()
            if ctrl_c.pressed:
                raise KeyboardInterrupt
            if polish and here.generation % POLISH_EVERY == 0:
                polish(here)
            now = time.perf_counter() - t0
            if workers and now - last_exchange >= EXCHANGE_SECONDS:
                last_exchange = now
                for w in workers:
                    merge(w.receive())
                migrants = _pack(here.hof)
                for w in workers:
                    if not w.sending.is_alive():
                        w.send(migrants)
            evals = here.evals + sum(w.evals for w in workers)
            exact = None if options.early_stop is None else here.hof.simplest_below(options.early_stop)
            if exact is not None:
                solved_at = now if solved_at is None else solved_at
                if now >= solved_at + grace_seconds(solved_at, exact):
                    stopped = "early_stop"
                    break
            if options.time_budget is not None and now >= options.time_budget:
                break
            if options.max_evals is not None and evals >= options.max_evals:
                stopped = "max_evals"
                break
            if on_progress and now - last_report > 0.25:
                last_report = now
                on_progress(now, evals, here.hof)
    except KeyboardInterrupt:
        stopped = "interrupted"
    finally:
        for w in workers:
            try:
                merge(w.close(wait=1.0))
            except KeyboardInterrupt:
                w.proc.kill()
    evals = here.evals + sum(w.evals for w in workers)
    return SearchResult(here.hof, evals, time.perf_counter() - t0, stopped, solved_at)


def _decompose(here: Search, options: SearchOptions, t0: float, stop: Callable[[], bool]) -> None:
    """Solve separable pairs first (``_decompose``) and offer the composed formulas to
    this process's hall of fame and islands; workers meanwhile search as usual. A few
    generations of the islands come first, so that a Ctrl-C during the decomposition
    (``stop()`` turns true) still leaves a front."""
    from ._decompose import Decomposer

    for _ in range(FIRST_GENERATIONS):
        here.step()
    budget = options.time_budget if options.time_budget is not None else 60.0
    evals = math.inf if options.max_evals is None else DECOMPOSE_SHARE * options.max_evals
    decomposer = Decomposer(here.all, options, options.seed, t0 + DECOMPOSE_SHARE * budget, evals, stop)
    # within max_size and the constraints, which composing a pair's formula may break
    found = [(here.grammar.size(f), f) for f in decomposer.run() if here.grammar.allowed(f)]
    here.evals += decomposer.evals
    for size, f in found:
        here.hof.offer(size, here.all.loss(f), f)
    here.inject([f for _, f in found])


def _simplify_main(job: dict[str, Any], inbox: Connection, outbox: Connection) -> None:
    """A helper of ``simplify_all``: simplify each formula it is sent, until the pipe closes."""
    from ._simplify import Simplifier

    simp = Simplifier(**job["simplify"])
    try:
        outbox.send("ready")
        while True:  # until the pipe closes
            i, expr = inbox.recv()
            skipped = simp.skipped
            outbox.send((i, simp.simplest(expr), simp.skipped > skipped))
    except (EOFError, OSError, BrokenPipeError):
        return  # the main process has gone or is done


def simplify_all(exprs: list[sympy.Expr], simp: Simplifier, workers: int = 1,
                 on_progress: Callable[[int, int], None] | None = None) -> list[sympy.Expr]:
    """``simp.simplest`` of each formula, shared with ``workers - 1`` helper processes
    (``on_progress(done, total)`` is called as each is done, from either of two threads).

    The formulas are handed out in order, one at a time, to this process and to each
    helper as it becomes free, so where the time bound of ``simp`` is reached the last
    formulas (the front's most complex) are the ones left as found, as in one process.
    Each helper gets what is left of that bound. The first Ctrl-C ends the simplification
    at its next step (``simp.interrupted``): what is not simplified by then stays as found.
    """
    shared = _Shared(exprs, simp, on_progress)
    helpers = [_Child({"simplify": simp.remaining()}) for _ in range(min(workers, len(exprs)) - 1)]
    feeding = threading.Thread(target=shared.feed, args=(helpers,), daemon=True)
    feeding.start()
    with _CtrlC(on_press=simp.interrupt):
        try:
            while (i := shared.take()) is not None:
                shared.done(i, simp.simplest(exprs[i]))
            feeding.join()
        except KeyboardInterrupt:  # a second Ctrl-C: stop at once
            simp.interrupt()
    feeding.join(timeout=1.0)
    for h in helpers:  # a helper holds nothing that needs a clean exit
        h.proc.kill()
        h.end()
    simp.skipped += shared.skipped
    return shared.out


class _Shared:
    """What ``simplify_all``'s two threads share: the formulas still to do, and the results.
    This process's thread simplifies; the other one (``feed``) serves the helpers."""

    def __init__(self, exprs: list[sympy.Expr], simp: Simplifier,
                 on_progress: Callable[[int, int], None] | None) -> None:
        self.out = list(exprs)
        self.simp = simp
        self.todo = list(range(len(exprs)))[::-1]  # popped from the end: in order
        self.lock = threading.Lock()
        self.skipped = 0  # formulas the helpers left as found
        self.n_done = 0
        self.on_progress = on_progress

    def take(self) -> int | None:
        with self.lock:
            return self.todo.pop() if self.todo and not self.simp.interrupted else None

    def done(self, i: int, expr: sympy.Expr) -> None:
        with self.lock:
            self.out[i] = expr
            self.n_done += 1
            n_done = self.n_done
        if self.on_progress is not None:
            self.on_progress(n_done, len(self.out))

    def put_back(self, i: int) -> None:
        with self.lock:
            self.todo.append(i)

    def feed(self, helpers: list[_Child]) -> None:
        """Give each helper a formula whenever it is free (or has started up) and keep its
        results; ends when no helper works on a formula and none is left to give."""
        child: dict[Any, _Child] = {h.up: h for h in helpers}  # by its pipe
        busy: dict[Any, int | None] = dict.fromkeys(child)  # its formula; None: starting up
        while busy and not self.simp.interrupted:
            if not self.todo and all(i is None for i in busy.values()):
                return  # the ones still starting up would get nothing
            for conn in wait(list(busy), timeout=0.05):
                i, h = busy.pop(conn), child[conn]
                try:
                    message = h.up.recv()
                except (EOFError, OSError):  # the helper died
                    if i is not None:
                        self.put_back(i)
                    continue
                if i is not None:
                    _, expr, skipped = message
                    self.skipped += skipped
                    self.done(i, expr)
                if (j := self.take()) is not None:
                    h.sending.join()  # (it has read the job: at once)
                    h.send((j, self.out[j]))
                    busy[conn] = j


class _Polisher:
    """Simplifies the best formula while the search runs, when it is close to exact
    but not exact. Search formulas often imitate a polynomial with a function held
    in its Taylor regime; the simplifier turns those into the polynomial, refitted,
    and an exact result enters the hall of fame, so that ``early_stop`` can end the
    search instead of the time budget. A polish ends with the search's time budget
    (``end``, a ``time.perf_counter`` time) or at Ctrl-C (``simplifier.interrupt``)."""

    def __init__(self, targets: Targets, early_stop: float, end: float = math.inf) -> None:
        from ._simplify import Simplifier  # late: workers never polish

        self.early_stop = early_stop
        self.end = end
        rows = slice(0, min(targets.n, 300))
        self.names = [f"x{i + 1}" for i in range(targets.Xt.shape[0])]
        self.simplifier = Simplifier(self.names, targets.Xt[:, rows].T, targets.Ut[:, rows].T)
        self.tried: set[tuple] = set()

    def __call__(self, search: Search) -> None:
        best = search.hof.best()
        left = self.end - time.perf_counter()
        if best is None or not self.early_stop < best[0] < POLISH_BELOW or left <= 0:
            return
        formula = best[1]
        key = (tuple(formula.code), tuple(formula.arg))  # each skeleton once
        if key in self.tried:
            return
        self.tried.add(key)
        try:
            simpler = Formula.from_sympy(self.simplifier.simplest(formula.to_sympy(self.names), within=left),
                                         self.names)
        except Exception:  # sympy raises many kinds of errors on odd input; polishing is optional
            return
        if search.grammar.allowed(simpler):  # a rewrite may leave max_size or the constraints
            search.hof.offer(search.grammar.size(simpler), search.all.loss(simpler), simpler)


class _CtrlC:
    """While the search runs, the first Ctrl-C only sets ``pressed``; the search
    loops check it between steps and end with the front found so far. Raising
    KeyboardInterrupt from the handler instead would let it land inside a
    compiled numba call, which turns it into a SystemError (when numba is
    loading a kernel) or swallows it (in its compiler). A second Ctrl-C goes to
    the previous handler, normally a KeyboardInterrupt at once. Installed only
    in the main thread."""

    def __init__(self, on_press: Callable[[], None] | None = None) -> None:
        self.pressed = False
        self.on_press = on_press
        self.previous: Any = None

    def __enter__(self) -> _CtrlC:
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.pressed:
            self.pressed = True
            if self.on_press is not None:
                self.on_press()
        elif callable(self.previous):
            self.previous(signum, frame)
        elif self.previous != signal.SIG_IGN:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


if __name__ == "__main__":
    _worker_main(int(sys.argv[1]), int(sys.argv[2]))
