"""Rendering an Interpretation: the console report, the JSON form
(``report.json``), and ``save_report``, which writes JSON, Markdown and HTML.

The plots live in ``_report_plots``, the pages in ``_report_html`` and
``_report_md``; the wording they share (formula display, stop reasons, the
"nothing found" message) lives here, so every medium says the same thing.
"""

from __future__ import annotations

import math
import os
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from ._ops import SYMPY_FUNCTIONS

if TYPE_CHECKING:
    from ._interpretation import Candidate, Interpretation

SCHEMA_VERSION = 1
SAMPLE_POINTS = 500  # points of the gradient set stored in report.json for redrawing plots
DISPLAY_DIGITS = 4  # significant figures of constants in displayed formulas

STOP_REASONS = {
    "time_budget": "the time budget was used up",
    "early_stop": "a formula matched the gradients to within early_stop",
    "max_evals": "the evaluation limit (max_evals) was reached",
    "interrupted": "the search was interrupted",
}


# -- shared wording -------------------------------------------------------------


def display_expr(expr: sympy.Expr) -> sympy.Expr:
    """The expression as shown to people: constants rounded to 4 significant figures."""
    from ._rule import rounded

    return rounded(expr, DISPLAY_DIGITS)


def display_text(candidate: Candidate) -> str:
    """A candidate as one line of text, constants rounded (``x1**2 + 2.044*x2**2``)."""
    return sympy.sstr(display_expr(candidate.expr))


def display_latex(candidate: Candidate) -> str:
    return sympy.latex(display_expr(candidate.expr))


def stop_reason(stats: dict[str, Any]) -> str:
    reason = stats.get("stopped")
    if reason is None:
        return "unknown"
    return STOP_REASONS.get(str(reason), str(reason))


NOTHING_HEADLINE = "No formula explains this unit well."


def nothing_found(interp: Interpretation, headline: bool = True) -> str:
    """The plain statement made when ``best`` is None (without its first
    sentence when ``headline`` is False)."""
    from ._interpret import USEFUL_MEAN_COSINE

    if not interp.front:
        return "The search found no formula at all, so this unit is not explained."
    top = max(c.mean_cosine for c in interp.front)
    detail = (
        f"The best mean cosine on the front is {top:.3f}, below the {USEFUL_MEAN_COSINE} a "
        "useful formula needs, so none of the formulas listed is the answer."
    )
    return f"{NOTHING_HEADLINE} {detail}" if headline else detail


def search_summary(stats: dict[str, Any]) -> str:
    """One line: time, evaluations, why the search stopped, points."""
    parts = []
    if "seconds" in stats:
        parts.append(f"{float(stats['seconds']):.1f} s")
    if "evaluations" in stats:
        parts.append(f"{int(stats['evaluations']):,} evaluations")
    parts.append(f"stopped because {stop_reason(stats)}")
    if "n_points" in stats:
        pts = f"{int(stats['n_points']):,} points"
        if "n_directed" in stats and stats["n_directed"] != stats["n_points"]:
            pts += f" ({int(stats['n_directed']):,} with a gradient direction)"
        parts.append(pts)
    return ", ".join(parts)


def rule_lines(interp: Interpretation) -> list[tuple[str, str]]:
    """(label, text) pairs for the rule and fidelity, in plain words."""
    rule = interp.rule
    if rule is None or interp.best is None:
        if interp.best is not None:
            return [("Rule", "not fitted (the gradient set has no unit values)")]
        return []
    out = [("Rule", rule.text(display_text(interp.best)))]
    if rule.fidelity is not None:
        out.append(("Fidelity", f"the rule agrees with the network's class on "
                                f"{100 * rule.fidelity:.1f} % of {rule.n_points:,} points"))
    if rule.spearman is not None:
        out.append(("Rank correlation", f"{rule.spearman:.4f} (Spearman, T(x) vs the unit's "
                                        "value)"))
    if rule.n_nonfinite:
        out.append(("Dropped", f"{rule.n_nonfinite} points where T(x) is not finite"))
    return out


# -- console -----------------------------------------------------------------------


def print_report(interp: Interpretation, console: Any = None) -> None:
    """Print the report: a rich table on a terminal, plain text otherwise.

    >>> import neuroninterp as ni
    >>> best = ni.Candidate.from_string("x1**2", ["x1"], 3, 1e-3)
    >>> ni.Interpretation([best], best, ["x1"]).report()  # doctest: +ELLIPSIS
    neuroninterp report...
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(highlight=False, width=120)  # a file or pipe: no need to wrap at 80
    title = "neuroninterp report" + (f": {interp.description}" if interp.description else "")
    console.print(Text(title, style="bold"))

    table = Table(title="Pareto front (simplest formula at each complexity)", title_justify="left",
                  show_edge=False, header_style="bold")
    table.add_column("", width=1)
    table.add_column("complexity", justify="right")
    table.add_column("loss", justify="right")
    table.add_column("mean cosine", justify="right")
    table.add_column("formula", overflow="fold")
    for c in interp.front:
        chosen = c is interp.best
        table.add_row("*" if chosen else "", str(c.complexity), f"{c.loss:.3e}",
                      f"{c.mean_cosine:.5f}", display_text(c),
                      style="bold green" if chosen else None)
    if interp.front:
        console.print(table)
        if interp.best is not None:
            console.print(Text("  * the chosen formula (elbow of the front)", style="dim"))
    console.print()

    labels: list[tuple[str, str, str | None]] = []
    if interp.best is None:
        console.print(Text(nothing_found(interp), style="bold red"))
    else:
        labels.append(("Formula", f"T(x) = {display_text(interp.best)}", "bold green"))
        labels.append(("", f"complexity {interp.best.complexity}, mean cosine "
                           f"{interp.best.mean_cosine:.5f}", None))
        labels += [(a, b, "bold" if a == "Rule" else None) for a, b in rule_lines(interp)]
    labels.append(("Search", search_summary(interp.stats), None))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, text, style in labels:
        grid.add_row(label, Text(text, style=style or ""))
    console.print(grid)
    for note in interp.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def report_text(interp: Interpretation, width: int = 100) -> str:
    """The console report as plain text (no ANSI escapes)."""
    from rich.console import Console

    buf = StringIO()
    print_report(interp, Console(file=buf, width=width, force_terminal=False, color_system=None,
                                 highlight=False))
    return buf.getvalue()


# -- JSON --------------------------------------------------------------------------


def interpretation_to_dict(interp: Interpretation) -> dict[str, Any]:
    """Everything the reports need, JSON-able (see README "report.json")."""
    from . import __version__

    best = None
    if interp.best is not None:
        best = next(i for i, c in enumerate(interp.front) if c is interp.best)
    sample = None
    gs = interp.gradient_set
    if gs is not None:
        sub = gs.subsample(SAMPLE_POINTS, seed=0)
        sample = {
            "X": _round_rows(sub.X),
            "gradients": _round_rows(sub.gradients),
            "values": None if sub.values is None else _round_list(sub.values),
            "is_logit": bool(sub.is_logit),
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"neuroninterp {__version__}",
        "description": interp.description,
        "feature_names": list(interp.feature_names),
        "front": [
            {
                "formula": str(c.expr),
                "srepr": sympy.srepr(c.expr),
                "latex": display_latex(c),
                "complexity": int(c.complexity),
                "loss": _jsonable(c.loss),
                "mean_cosine": _jsonable(c.mean_cosine),
            }
            for c in interp.front
        ],
        "best": best,
        "rule": None if interp.rule is None else interp.rule.to_dict(),
        "stats": _jsonable(interp.stats),
        "notes": list(interp.notes),
        "sample": sample,
    }


def interpretation_from_dict(data: dict[str, Any]) -> Interpretation:
    """Rebuild an Interpretation from ``interpretation_to_dict``'s output.

    A stored point sample becomes the ``gradient_set`` (so plots can be redrawn);
    a newer schema version is refused with a clear message.
    """
    from ._gradient_set import GradientSet
    from ._interpretation import Interpretation
    from ._rule import Rule

    if not isinstance(data, dict) or "schema_version" not in data:
        raise ValueError("not a neuroninterp report: the JSON has no 'schema_version' field")
    version = data["schema_version"]
    if not isinstance(version, int) or version < 0:
        raise ValueError(f"schema_version must be a non-negative integer, got {version!r}")
    if version > SCHEMA_VERSION:
        raise ValueError(
            f"this report has schema_version {version}, newer than this neuroninterp reads "
            f"(up to {SCHEMA_VERSION}); upgrade neuroninterp to read it"
        )
    names = list(data["feature_names"])
    front = [_candidate(c, names) for c in data["front"]]
    index = data.get("best")
    if index is not None and not (isinstance(index, int) and 0 <= index < len(front)):
        raise ValueError(f"'best' must index the front (0..{len(front) - 1}) or be null, "
                         f"got {index!r}")
    best = None if index is None else front[index]
    rule = data.get("rule")
    gs = None
    sample = data.get("sample")
    if sample:
        gs = GradientSet(np.asarray(sample["X"], dtype=float),
                         np.asarray(sample["gradients"], dtype=float),
                         None if sample.get("values") is None else np.asarray(sample["values"]),
                         names, is_logit=bool(sample.get("is_logit")),
                         description=data.get("description", ""))
    return Interpretation(
        front, best, names, dict(data.get("stats") or {}),
        rule=None if rule is None else Rule.from_dict(rule),
        notes=list(data.get("notes") or []),
        description=str(data.get("description", "")),
        gradient_set=gs,
    )


def _candidate(entry: dict[str, Any], names: list[str]) -> Candidate:
    """A front entry back as a Candidate. ``srepr`` restores the expression
    exactly (constants keep their binary value and precision); without it (a
    hand-written file) the ``formula`` string is parsed."""
    from ._interpretation import Candidate

    loss = math.inf if entry.get("loss") is None else float(entry["loss"])
    text = entry.get("srepr")
    if text:
        expr = sympy.sympify(text, locals=SYMPY_FUNCTIONS)
        allowed = {sympy.Symbol(n, real=True) for n in names}
        if isinstance(expr, sympy.Expr) and expr.free_symbols <= allowed:
            return Candidate(expr, int(entry["complexity"]), loss, list(names))
    return Candidate.from_string(entry["formula"], names, entry["complexity"], loss)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        x = float(obj)
        return x if math.isfinite(x) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def _round_list(a: np.ndarray) -> list[float]:
    return [float(f"{x:.7g}") for x in np.asarray(a, dtype=float)]


def _round_rows(a: np.ndarray) -> list[list[float]]:
    return [_round_list(row) for row in np.asarray(a, dtype=float)]


# -- files -------------------------------------------------------------------------


def save_report(interp: Interpretation, directory: str | os.PathLike) -> Path:
    """Write ``report.json``, ``report.md`` (with its PNG plots beside it) and a
    self-contained ``report.html`` into ``directory``; return the directory.

    >>> path = result.save_report("out")  # doctest: +SKIP
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    interp.save(directory / "report.json")
    from ._report_html import write_html
    from ._report_md import write_markdown
    from ._report_plots import make_plots

    plots = make_plots(interp)
    write_markdown(interp, directory / "report.md", plots)
    write_html(interp, directory / "report.html", plots)
    return directory
