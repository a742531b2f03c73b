"""The Markdown report: ``report.md`` with its plots as PNG files beside it.

Formulas appear twice: as ``$...$`` LaTeX (rendered by GitHub, GitLab,
Jupyter and most Markdown viewers) and as plain code that Python/sympy parse.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from ._report import display_latex, display_text, nothing_found, rule_lines, search_summary

if TYPE_CHECKING:
    from ._interpretation import Interpretation
    from ._report_plots import Plot


def write_markdown(interp: Interpretation, path: str | os.PathLike, plots: list[Plot]) -> Path:
    """Write ``path`` (e.g. ``out/report.md``) and one ``<name>.png`` per plot beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for p in plots:
        (path.parent / f"{p.name}.png").write_bytes(p.png)
    path.write_text(render_markdown(interp, plots), encoding="utf-8")
    return path


def render_markdown(interp: Interpretation, plots: list[Plot]) -> str:
    lines = ["# What this unit computes", ""]
    if interp.description:
        lines += [f"_{interp.description}_", ""]
    best = interp.best
    if best is None:
        lines += ["> **No formula explains this unit well.**", ">",
                  f"> {nothing_found(interp)}", ""]
    else:
        lines += [
            "The unit is a monotone function of",
            "",
            f"$$T(x) = {display_latex(best)}$$",
            "",
            f"`T(x) = {best.expr}`  (complexity {best.complexity}, mean cosine "
            f"{best.mean_cosine:.5f})",
            "",
        ]
        rule = interp.rule
        if rule is not None and rule.threshold is not None:
            from ._rule import format_number

            op = ">" if rule.increasing else "<"
            lines += [f"**Decision rule:** class 1 when "
                      f"${display_latex(best)} {op} {format_number(rule.threshold)}$", ""]
        for label, text in rule_lines(interp):
            if label == "Rule" and rule is not None and rule.threshold is not None:
                continue
            lines.append(f"- **{label}:** {text}")
        lines.append("")
    lines += [f"**Search:** {search_summary(interp.stats)}", ""]
    if plots:
        lines += ["## Plots", ""]
        for p in plots:
            lines += [f"### {p.title}", "", f"![{p.title}]({p.name}.png)", "", p.caption, ""]
    elif interp.gradient_set is None:
        lines += ["_Plots of the data are not shown: the points were not available._", ""]
    lines += ["## Pareto front", "", "| | complexity | loss | mean cosine | formula |",
              "|---|---:|---:|---:|---|"]
    for c in interp.front:
        mark = "**chosen**" if c is interp.best else ""
        lines.append(f"| {mark} | {c.complexity} | {c.loss:.3e} | {c.mean_cosine:.5f} | "
                     f"`{display_text(c)}` |")
    lines.append("")
    if interp.notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in interp.notes] + [""]
    return "\n".join(lines)
