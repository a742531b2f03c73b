"""The live progress line of a search: elapsed time, evaluations per second,
and the current best formula; then how far the simplification of the front is.
Silent when disabled."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.text import Text


class Progress:
    def __init__(self, enabled: bool, names: list[str], budget: float | None) -> None:
        self.enabled = enabled
        self.names = names
        self.budget = budget
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.enabled:
            self._live = Live(Text("starting search ..."), console=Console(stderr=True),
                              refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def update(self, seconds: float, evals: int, hof: Any) -> None:
        if self._live is None:
            return
        best = hof.best()
        formula = "-" if best is None else str(best[1].to_sympy(self.names))
        if len(formula) > 80:
            formula = formula[:77] + "..."
        budget = f"/{self.budget:.0f}" if self.budget else ""
        loss = "-" if best is None else f"{best[0]:.3g}"
        line = Text.assemble(
            ("searching ", "bold"), f"{seconds:5.1f}{budget} s  ",
            f"{evals / max(seconds, 1e-9):8.0f} evals/s  best loss {loss}  ", (formula, "cyan"),
            ("   Ctrl-C stops and keeps the front", "dim"),
        )
        self._live.update(line)

    def simplifying(self, done: int, total: int) -> None:
        if self._live is None:
            return
        self._live.update(Text.assemble(
            ("simplifying ", "bold"), f"{done}/{total} formulas of the front",
            ("   Ctrl-C keeps the rest as found", "dim"),
        ))
