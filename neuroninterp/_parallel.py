"""Running the search in one or several processes.

With ``n_jobs=1`` the search runs here (deterministic for a given seed). With
more, each worker process runs its own islands with its own seed, and this
process merges their halls of fame and sends the best formulas back to all
workers as migrants.
"""

from __future__ import annotations

from collections.abc import Callable

from ._gradient_set import GradientSet
from ._options import SearchOptions
from ._search import HallOfFame, SearchResult, run_search


def search(
    gs: GradientSet,
    options: SearchOptions,
    on_progress: Callable[[float, int, HallOfFame], None] | None = None,
) -> SearchResult:
    return run_search(gs, options, on_progress)
