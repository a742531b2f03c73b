"""The evolutionary search for formulas whose gradient direction matches the unit's.

Islands of formulas evolve by regularized evolution (a child replaces the
oldest member), scored on mini-batches by the gradient-matching loss with a
parsimony pressure. A hall of fame keeps, for each complexity, the best formula
confirmed on all points; its members migrate back into the islands.
Constants of promising formulas are fitted by Levenberg-Marquardt on the
residual vector of direction differences.

``_parallel.search`` drives one ``Search`` here and, with ``n_jobs > 1``, more
in worker processes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import numpy as np

from . import _vm
from ._formula import Formula
from ._gradient_set import GradientSet
from ._mutate import Grammar, fold_constants
from ._ops import CONST
from ._options import SearchOptions

PARSIMONY = 0.04  # log-loss penalty per unit of complexity in tournaments
TOURNAMENT = 6
CHILDREN_PER_GENERATION = 0.25  # fraction of an island replaced each generation
ADAPTIVE_PARSIMONY = 20.0  # log-loss penalty for a size that holds all of the population
FROM_HALL_OF_FAME = 0.05  # chance that a child's parent is a hall-of-fame member
FIT_CHILD_CONSTANTS = 0.5  # chance that a new child's constants are fitted before scoring
SECOND_MUTATION = 0.4  # chance of a second edit: paths through a worse intermediate
RESTART_EVERY = 150  # generations between fresh restarts of one island
ISOLATION = 100  # generations a restarted island receives no migrants
CHILD_FIT_POINTS = 64  # constants of children (and tournament winners) are fitted on this many points
HOF_FIT_POINTS = 128  # constants of hall-of-fame candidates are fitted on this many points
EPS = 1e-14  # floor of the loss inside logarithms
SIMPLE_EXACT = 16  # early stop: exact formulas above this complexity get a much longer grace


@dataclass
class Targets:
    """The points and unit target directions the loss is computed on."""

    Xt: np.ndarray  # (d, n)
    Ut: np.ndarray  # (d, n) unit target gradients; (1, n) labels +-1 in HINGE mode
    w: np.ndarray  # (n,) bool
    mode: int = _vm.DIRECTION

    @classmethod
    def from_gradient_set(cls, gs: GradientSet) -> Targets:
        keep = gs.has_direction
        return cls(
            np.ascontiguousarray(gs.X[keep].T),
            np.ascontiguousarray(gs.gradients[keep].T),
            np.ones(int(keep.sum()), dtype=bool),
        )

    @property
    def n(self) -> int:
        return self.Xt.shape[1]

    def take(self, rows: np.ndarray) -> Targets:
        return Targets(np.ascontiguousarray(self.Xt[:, rows]),
                       np.ascontiguousarray(self.Ut[:, rows]), self.w[rows], self.mode)

    def losses(self, formulas: list[Formula]) -> np.ndarray:
        codes: list[int] = []
        args: list[int] = []
        vals: list[float] = []
        starts = [0]
        for f in formulas:
            codes += f.code
            args += f.arg
            vals += f.val
            starts.append(len(codes))
        return _vm.loss_many(
            np.asarray(codes, dtype=np.int64), np.asarray(args, dtype=np.int64),
            np.asarray(vals, dtype=np.float64), np.asarray(starts, dtype=np.int64),
            self.Xt, self.Ut, self.w, self.mode,
        )

    def loss(self, f: Formula) -> float:
        code, arg, val = f.arrays()
        return float(_vm.loss(code, arg, val, self.Xt, self.Ut, self.w, self.mode))


def optimize_constants(f: Formula, t: Targets, max_iter: int = 30) -> tuple[Formula, float]:
    """Fit the constants of ``f`` to ``t`` (Levenberg-Marquardt, compiled);
    returns the better of the fitted and the original formula, with its loss."""
    spots = [i for i, c in enumerate(f.code) if c == CONST]
    code, arg, val = f.arrays()
    before = t.loss(f)
    if not spots:
        return f, before
    try:
        fitted, _ = _vm.fit_constants(code, arg, val, np.asarray(spots, dtype=np.int64),
                                      t.Xt, t.Ut, t.w, max_iter, t.mode)
    except Exception as err:  # a failed LAPACK solve surfaces as a generic error
        if isinstance(err.__context__, KeyboardInterrupt) or isinstance(err.__cause__, KeyboardInterrupt):
            raise KeyboardInterrupt from None  # Ctrl-C arrived while numba built the error
        return f, before
    if not np.all(np.isfinite(fitted)):
        return f, before
    out = Formula(list(f.code), list(f.arg), [float(v) for v in fitted])
    after = t.loss(out)
    return (out, after) if after < before else (f, before)


@dataclass
class HallOfFame:
    """The best formula at each complexity, confirmed on all points."""

    entries: dict[int, tuple[float, Formula]] = field(default_factory=dict)

    def loss_at(self, complexity: int) -> float:
        e = self.entries.get(complexity)
        return e[0] if e else math.inf

    def offer(self, complexity: int, loss: float, f: Formula) -> bool:
        if math.isfinite(loss) and loss < self.loss_at(complexity):
            self.entries[complexity] = (loss, f)
            return True
        return False

    def simplest_below(self, loss: float) -> int | None:
        """The smallest complexity whose formula's loss is at most ``loss``, or None."""
        return min((c for c, (f_loss, _) in self.entries.items() if f_loss <= loss), default=None)

    def best(self) -> tuple[float, Formula] | None:
        if not self.entries:
            return None
        return min(self.entries.values(), key=lambda e: e[0])

    def front(self) -> list[tuple[int, float, Formula]]:
        """Entries that beat every simpler entry, by complexity."""
        out = []
        best = math.inf
        for c in sorted(self.entries):
            loss, f = self.entries[c]
            if loss < best:
                out.append((c, loss, f))
                best = loss
        return out


@dataclass
class Member:
    formula: Formula
    size: int
    loss: float = math.inf  # on the current mini-batch
    born: int = 0
    fitness: float = math.inf  # log-loss plus parsimony; lower is better

    def set_loss(self, loss: float, crowding: float = 0.0) -> None:
        self.loss = loss if math.isfinite(loss) else math.inf
        self.fitness = (math.log(self.loss + EPS) + PARSIMONY * self.size + crowding
                        if math.isfinite(loss) else math.inf)


def _fitness(m: Member) -> float:
    return m.fitness


class Island:
    def __init__(self, members: list[Member], isolated_until: int = 0):
        self.members = members
        self.isolated_until = isolated_until  # no migrants or hall-of-fame parents before this generation


class Search:
    """One process's share of the search: some islands and a hall of fame."""

    def __init__(self, targets: Targets, options: SearchOptions, seed: int | None, n_islands: int):
        self.opt = options
        self.all = targets
        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(self.rng.getrandbits(64))  # for index samples only
        weights = {op.opcode: op.complexity for op in options.resolved}
        self.grammar = Grammar([op.opcode for op in options.resolved], weights,
                               targets.Xt.shape[0], options.max_size, options.limits, options.nesting)
        self.hof = HallOfFame()
        self.evals = 0
        self.generation = 0
        self.optimized: set[tuple] = set()
        self.batch = targets
        self.crowding = [0.0] * (options.max_size + 2)
        self.new_batch()
        self.islands: list[Island] = []
        self.islands = [self._new_island() for _ in range(n_islands)]
        self._count_sizes()

    # -- data ------------------------------------------------------------------
    def new_batch(self) -> None:
        n = self.all.n
        size = min(n, self.opt.batch_size)
        if size < n:
            self.batch = self.all.take(np.sort(self.np_rng.permutation(n)[:size]))
        else:
            self.batch = self.all
        self.fit_batch = self.batch.take(np.arange(min(self.batch.n, CHILD_FIT_POINTS)))

    def _score(self, members: list[Member]) -> None:
        losses = self.batch.losses([m.formula for m in members])
        self.evals += len(members)
        crowd = self.crowding
        for m, loss in zip(members, losses.tolist()):
            m.set_loss(loss, crowd[m.size] if m.size < len(crowd) else 0.0)

    def _count_sizes(self) -> None:
        """Adaptive parsimony (as in PySR): sizes that are common in the
        populations are penalized, so every complexity keeps being explored."""
        counts = [0] * (self.grammar.max_size + 2)
        for island in self.islands:
            for m in island.members:
                counts[min(m.size, len(counts) - 1)] += 1
        total = max(1, sum(counts))
        self.crowding = [ADAPTIVE_PARSIMONY * c / total for c in counts]

    def _new_island(self) -> Island:
        g = self.grammar
        members = []
        for _ in range(self.opt.population_size):
            for _ in range(10):  # a few tries at a tree within the constraints
                f = g.random_tree(self.rng, self.rng.randrange(1, 8))
                if g.allowed(f):
                    break
            else:
                f = g.leaf(self.rng)
            members.append(Member(f, g.size(f)))
        self._score(members)
        return Island(members)

    # -- selection ---------------------------------------------------------------
    def tournament(self, island: Island) -> Member:
        ms = island.members
        n = len(ms)
        rand = self.rng.randrange
        return min((ms[rand(n)] for _ in range(TOURNAMENT)), key=_fitness)

    # -- one generation ------------------------------------------------------------
    def make_child(self, island: Island) -> Member | None:
        g = self.grammar
        entries = self.hof.entries
        for _ in range(8):
            if entries and self.rng.random() < FROM_HALL_OF_FAME and \
                    island.isolated_until <= self.generation:
                parent = self.rng.choice(list(entries.values()))[1]
            else:
                parent = self.tournament(island).formula
            r = self.rng.random()
            if r < 0.12:
                child = g.crossover(parent, self.tournament(island).formula, self.rng)
            elif r < 0.16:
                child = g.random_tree(self.rng, self.rng.randrange(1, 10))
            else:
                child = g.mutate(parent, self.rng)
                if self.rng.random() < SECOND_MUTATION:
                    child = g.mutate(child, self.rng)
            child = fold_constants(child)
            if g.allowed(child):
                if child.n_constants() and self.rng.random() < FIT_CHILD_CONSTANTS:
                    child, _ = optimize_constants(child, self.fit_batch, max_iter=6)
                return Member(child, g.size(child), born=self.generation)
        return None

    def step(self) -> None:
        """One generation on every island, then hall-of-fame bookkeeping."""
        self.generation += 1
        if self.generation % 4 == 0:
            self.new_batch()
            self._count_sizes()
            for island in self.islands:
                self._score(island.members)
        n_children = max(1, int(CHILDREN_PER_GENERATION * self.opt.population_size))
        for island in self.islands:
            children = [c for c in (self.make_child(island) for _ in range(n_children)) if c]
            if not children:
                continue
            self._score(children)
            island.members.sort(key=lambda m: m.born)
            island.members[: len(children)] = children
            self._consider(children)
            self._tune_constants(island)
        if self.generation % 10 == 0:
            self.migrate()
        if self.generation % RESTART_EVERY == 0 and len(self.islands) > 1:
            self.restart_island()

    def restart_island(self) -> None:
        """Start one island afresh (round robin) and keep it apart for a while, so
        that a new family of formulas can grow outside the dominant basin."""
        k = (self.generation // RESTART_EVERY) % len(self.islands)
        island = self._new_island()
        island.isolated_until = self.generation + ISOLATION
        self.islands[k] = island

    def _consider(self, members: list[Member]) -> None:
        """Confirm promising members on all points and offer them to the hall of fame."""
        hopeful = [m for m in members
                   if math.isfinite(m.loss) and m.loss < 1.5 * self.hof.loss_at(m.size) + 1e-12]
        if not hopeful:
            return
        full = self.all.losses([m.formula for m in hopeful])
        self.evals += len(hopeful)
        for m, loss in zip(hopeful, full):
            f, loss = m.formula, float(loss)
            if f.n_constants() and loss < 2 * self.hof.loss_at(m.size):
                skeleton = (tuple(f.code), tuple(f.arg))
                if skeleton not in self.optimized:
                    self.optimized.add(skeleton)
                    f, loss = optimize_constants(f, self._fit_sample(), max_iter=20)
                    loss = self.all.loss(f)
                    self.evals += 1
                    m.formula = f
            self.hof.offer(m.size, loss, f)

    def _fit_sample(self) -> Targets:
        n = self.all.n
        if n <= HOF_FIT_POINTS:
            return self.all
        return self.all.take(np.sort(self.np_rng.permutation(n)[:HOF_FIT_POINTS]))

    def _tune_constants(self, island: Island) -> None:
        m = self.tournament(island)
        if not m.formula.n_constants():
            return
        f, _ = optimize_constants(m.formula, self.fit_batch, max_iter=10)
        if f is not m.formula:
            m.formula = f
            self._score([m])
            self._consider([m])

    def open_islands(self) -> list[Island]:
        return [i for i in self.islands if i.isolated_until <= self.generation] or self.islands

    def migrate(self) -> None:
        entries = list(self.hof.entries.values())
        for island in self.open_islands():
            for _ in range(2):
                i = self.rng.randrange(len(island.members))
                if entries and self.rng.random() < 0.6:
                    f = entries[self.rng.randrange(len(entries))][1]
                else:
                    other = self.islands[self.rng.randrange(len(self.islands))]
                    f = self.tournament(other).formula
                island.members[i] = Member(f.copy(), self.grammar.size(f), born=self.generation)
            self._score(island.members)

    def inject(self, formulas: list[Formula]) -> None:
        """Offer formulas found elsewhere (other workers) to islands and hall of fame."""
        members = [Member(f, self.grammar.size(f), born=self.generation) for f in formulas]
        if not members:
            return
        targets = self.open_islands()
        for m in members:
            island = targets[self.rng.randrange(len(targets))]
            island.members[self.rng.randrange(len(island.members))] = m
        self._score(members)  # before _consider, which skips members without a loss
        self._consider(members)


@dataclass
class SearchResult:
    hof: HallOfFame
    evals: int
    seconds: float
    stopped: str
    solved_at: float | None = None


def grace_seconds(solved_at: float, complexity: int) -> float:
    """How long the search goes on after the first formula below ``early_stop``, when the
    simplest such formula has ``complexity``, to give simpler exact formulas a chance
    (approximants such as ``sin(0.004*x1 - c)`` for a square can also pass ``early_stop``).
    Past ``SIMPLE_EXACT`` an exact formula is often a stand-in that a function of one
    feature allows (``x1*c**(d**x2)`` and towers of it for ``x1*exp(g(x2))``), and the search
    goes on far longer: in practice until its time budget, unless a simple exact one appears."""
    if complexity <= SIMPLE_EXACT:
        return 0.5 * solved_at + 1.0
    return 3.0 * solved_at + 10.0
