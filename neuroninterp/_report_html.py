"""The self-contained HTML report: one file, no network access needed.

Formulas are MathML (sympy's presentation printer), which browsers render
natively; plots are PNGs embedded as base64 data URLs; the style sheet is
inline. Layout: a title, a summary box with the formula and the rule in large
type and the fidelity numbers, the plots, the Pareto front table, the search
details and notes.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import sympy

from ._report import display_expr, nothing_found, stop_reason

if TYPE_CHECKING:
    from ._interpretation import Candidate, Interpretation
    from ._report_plots import Plot

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --accent:#1b7f4b; --soft:#f3f8f5;
        --warn:#b42318; --warnsoft:#fef3f2; }
* { box-sizing: border-box; }
body { margin:0; background:#f7f8fa; color:var(--ink);
       font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 48px; }
h1 { font-size: 30px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 21px; margin: 36px 0 12px; padding-bottom: 6px;
     border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); margin: 0 0 22px; }
.summary { background: white; border: 1px solid var(--line); border-left: 6px solid var(--accent);
           border-radius: 10px; padding: 22px 28px; box-shadow: 0 1px 3px rgba(0,0,0,.05); }
.summary.none { border-left-color: var(--warn); background: var(--warnsoft); }
.summary .label { text-transform: uppercase; font-size: 12.5px; letter-spacing: .08em;
                  color: var(--muted); font-weight: 600; margin-top: 4px; }
.summary .big { font-size: 36px; margin: 4px 0 2px; color: var(--ink);
                overflow-x: auto; overflow-y: hidden; }
.summary .rule { font-size: 28px; margin: 4px 0 10px; color: var(--accent);
                 overflow-x: auto; overflow-y: hidden; }
.summary .code { font: 13px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; color: var(--muted);
                 margin-bottom: 12px; word-break: break-all; }
.summary .headline { font-size: 22px; font-weight: 650; color: var(--warn); margin: 0 0 6px; }
math { font-family: "Latin Modern Math", "STIX Two Math", "Cambria Math", math; }
.summary math[display="block"] { display: inline math; math-style: normal; }
.metrics { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.metric { background: var(--soft); border-radius: 8px; padding: 10px 16px; flex: 1 1 0;
          min-width: 150px; }
.none .metric { background: white; }
.metric .v { font-size: 24px; font-weight: 650; }
.metric .k { font-size: 13px; color: var(--muted); }
.plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 18px; }
figure { margin: 0; background: white; border: 1px solid var(--line); border-radius: 10px;
         padding: 14px; }
figure h3 { font-size: 16px; margin: 0 0 8px; }
figure img { display: block; width: 100%; height: auto; }
figure.pareto { margin-bottom: 16px; }
figcaption { color: var(--muted); font-size: 14px; margin-top: 8px; }
table { border-collapse: collapse; width: 100%; background: white; border: 1px solid var(--line);
        border-radius: 10px; overflow: hidden; }
th, td { padding: 8px 12px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: middle; }
th { background: #f1f3f5; font-size: 13px; text-transform: uppercase; letter-spacing: .05em;
     color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.formula { font-size: 17px; }
tr.chosen td { background: var(--soft); font-weight: 600; }
tr.chosen td:first-child { box-shadow: inset 4px 0 0 var(--accent); }
.tag { display: inline-block; font-size: 12px; background: var(--accent); color: white;
       border-radius: 999px; padding: 1px 9px; margin-left: 8px; vertical-align: middle; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 6px 18px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; }
.notes li { margin: 4px 0; }
.muted { color: var(--muted); }
details { margin-top: 12px; } summary { cursor: pointer; color: var(--muted); }
pre { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 10px;
      overflow-x: auto; font-size: 13px; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"""


def write_html(interp: Interpretation, path: str | os.PathLike, plots: list[Plot]) -> Path:
    """Write the self-contained page to ``path`` and return it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(interp, plots), encoding="utf-8")
    return path


def render_html(interp: Interpretation, plots: list[Plot]) -> str:
    """The page as a string."""
    from . import __version__

    e = html.escape
    title = "What this unit computes"
    sub = [interp.description] if interp.description else []
    sub.append(f"neuroninterp {__version__}")
    sub.append(_dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>neuroninterp report{': ' + e(interp.description) if interp.description else ''}"
        "</title>",
        f"<style>{CSS}</style></head><body><main>",
        f"<h1>{title}</h1>",
        f'<p class="sub">{" &middot; ".join(e(s) for s in sub)}</p>',
        _summary(interp),
    ]
    data_plots = [p for p in plots if p.name != "pareto"]
    if data_plots or interp.gradient_set is None:
        parts.append("<h2>The unit and the formula on the data</h2>")
    if data_plots:
        order = {"boundary": 0, "relation": 1}
        data_plots.sort(key=lambda p: order.get(p.name, 2))
        parts.append('<section class="plots">')
        parts += [_figure(p) for p in data_plots]
        parts.append("</section>")
    if interp.gradient_set is None:
        parts.append('<p class="muted">Plots of the data are not shown: this report was made '
                     "without the points (no gradient set in memory and none stored in "
                     "report.json).</p>")
    parts.append("<h2>Pareto front</h2>")
    parts += [_figure(p, "pareto") for p in plots if p.name == "pareto"]
    parts.append(_front_table(interp))
    parts.append(_search_section(interp))
    if interp.notes:
        parts.append('<h2>Notes</h2><ul class="notes">')
        parts += [f"<li>{e(n)}</li>" for n in interp.notes]
        parts.append("</ul>")
    parts.append(
        "<footer>The formula T is determined up to a monotone map: its level sets are the "
        "unit's level sets. Loss = 2 &minus; 2 &times; mean cosine between the formula's and "
        "the unit's input-gradient directions.</footer>"
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)


# -- pieces --------------------------------------------------------------------------


def mathml(expr: sympy.Expr, display: bool = False, prefix: str = "", suffix: str = "") -> str:
    """``expr`` (constants rounded) as a ``<math>`` element, with optional MathML
    ``prefix``/``suffix`` markup inside it (e.g. ``T(x) =`` or ``> c``)."""
    mode = ' display="block"' if display else ""
    return (f'<math xmlns="http://www.w3.org/1998/Math/MathML"{mode}>{prefix}'
            f"{mathml_body(expr)}{suffix}</math>")


def mathml_body(expr: sympy.Expr) -> str:
    """sympy's presentation MathML of ``expr`` (constants rounded), tidied for
    browsers: a power of a subscripted symbol becomes one ``msubsup`` (so
    ``x1**2`` sets the 2 above the 1), and numeric subscripts are ``mn``."""
    import xml.etree.ElementTree as ET

    from sympy.printing.mathml import mathml as _mathml

    raw = _mathml(display_expr(expr), printer="presentation")
    xml = re.sub(r"&([A-Za-z][A-Za-z0-9]*);", _numeric_entity, raw)
    try:
        root = ET.fromstring(f"<mrow>{xml}</mrow>")
    except ET.ParseError:  # keep sympy's markup as it is
        return raw
    for parent in root.iter():
        for i, child in enumerate(list(parent)):
            if child.tag == "msup" and len(child) == 2 and child[0].tag == "msub" \
                    and len(child[0]) == 2:
                merged = ET.Element("msubsup")
                merged.extend([child[0][0], child[0][1], child[1]])
                parent.remove(child)
                parent.insert(i, merged)
    for el in root.iter("mo"):
        if el.text == "-":
            el.text = "\u2212"  # a true minus sign
    for el in root.iter("mi"):
        if el.text == "\u2147":  # sympy's exponential e: draw it as an upright e
            el.text = "e"
            el.set("mathvariant", "normal")
    for sub in root.iter():
        if sub.tag in ("msub", "msubsup") and len(sub) >= 2 and sub[1].tag == "mi" \
                and (sub[1].text or "").isdigit():
            sub[1].tag = "mn"
    return "".join(ET.tostring(child, encoding="unicode") for child in root)


def _numeric_entity(m: re.Match) -> str:
    name = m.group(1)
    if name in ("lt", "gt", "amp", "quot", "apos"):
        return m.group(0)
    text = html.unescape(m.group(0))
    if text == m.group(0):  # unknown entity: drop the ampersand's meaning
        return "&amp;" + name + ";"
    return "".join(f"&#{ord(ch)};" for ch in text)


def _figure(p: Plot, cls: str = "") -> str:
    e = html.escape
    data = base64.b64encode(p.png).decode("ascii")
    return (f'<figure id="plot-{e(p.name)}" class="{cls}"><h3>{e(p.title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{e(p.title)}">'
            f"<figcaption>{e(p.caption)}</figcaption></figure>")


def _t_of_x() -> str:
    return "<mi>T</mi><mo>(</mo><mi>x</mi><mo>)</mo>"


def _summary(interp: Interpretation) -> str:
    e = html.escape
    best = interp.best
    if best is None:
        top = max((c.mean_cosine for c in interp.front), default=None)
        metrics = []
        if top is not None:
            metrics.append(_metric(f"{top:.3f}", "best mean cosine on the front"))
        metrics.append(_metric(f"{len(interp.front)}", "formulas on the front"))
        return (
            '<section class="summary none" id="summary">'
            '<p class="headline">No formula explains this unit well</p>'
            f"<p>{e(nothing_found(interp, headline=False))}</p>"
            f'<div class="metrics">{"".join(metrics)}</div></section>'
        )
    out = [
        '<section class="summary" id="summary">',
        '<div class="label">The unit is a monotone function of</div>',
        f'<div class="big" id="chosen-formula">'
        f'{mathml(best.expr, True, prefix=_t_of_x() + "<mo>=</mo>")}</div>',
        f'<div class="code" title="full precision, as Python/sympy">as code: T(x) = '
        f"{e(str(best.expr))}</div>",
    ]
    rule = interp.rule
    metrics = []
    if rule is not None:
        out.append('<div class="label">Decision rule</div>' if rule.is_logit
                   else '<div class="label">Relation</div>')
        if rule.threshold is not None:
            from ._rule import format_number

            op = "&gt;" if rule.increasing else "&lt;"
            prefix = '<mtext>class 1 when</mtext><mspace width="0.6em"/>'
            suffix = f"<mo>{op}</mo><mn>{format_number(rule.threshold)}</mn>"
            out.append(f'<div class="rule" id="rule">'
                       f"{mathml(best.expr, True, prefix=prefix, suffix=suffix)}</div>")
        else:
            out.append(f'<div class="rule" id="rule" style="font-size:20px">'
                       f"{e(rule.text('T(x)'))}</div>")
        if rule.fidelity is not None:
            metrics.append(_metric(f"{100 * rule.fidelity:.1f} %",
                                   f"agreement with the network ({rule.n_points:,} points)"))
        if rule.spearman is not None:
            metrics.append(_metric(f"{rule.spearman:.3f}", "rank correlation of T with the unit"))
    metrics.append(_metric(f"{best.mean_cosine:.4f}", "mean cosine of gradient directions"))
    metrics.append(_metric(f"{best.complexity}", "complexity"))
    out.append(f'<div class="metrics">{"".join(metrics)}</div>')
    if rule is not None and rule.n_nonfinite:
        out.append(f'<p class="muted">{rule.n_nonfinite} points were left out of the rule '
                   "because T(x) is not finite there.</p>")
    out.append("</section>")
    return "\n".join(out)


def _metric(value: str, key: str) -> str:
    return (f'<div class="metric"><div class="v">{html.escape(value)}</div>'
            f'<div class="k">{html.escape(key)}</div></div>')


def _front_table(interp: Interpretation) -> str:
    if not interp.front:
        return "<p>The front is empty.</p>"
    rows = []
    for c in interp.front:
        chosen = c is interp.best
        tag = '<span class="tag">chosen</span>' if chosen else ""
        cls = ' class="chosen"' if chosen else ""
        rows.append(
            f"<tr{cls}>"
            f'<td class="num">{c.complexity}</td><td class="num">{c.loss:.3e}</td>'
            f'<td class="num">{c.mean_cosine:.5f}</td>'
            f'<td class="formula" title="{html.escape(str(c.expr))}">{_inline(c)}{tag}</td></tr>'
        )
    return (
        '<p class="muted">The best formula found at each complexity, each better than every '
        "simpler one.</p>"
        '<table id="front"><thead><tr><th>complexity</th><th>loss</th><th>mean cosine</th>'
        "<th>formula</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _inline(c: Candidate) -> str:
    return mathml(c.expr)


def _search_section(interp: Interpretation) -> str:
    e = html.escape
    s = interp.stats
    items: list[tuple[str, str]] = []
    if "seconds" in s:
        items.append(("Search time", f"{float(s['seconds']):.1f} s"))
    if "evaluations" in s:
        items.append(("Evaluations", f"{int(s['evaluations']):,}"))
    items.append(("Stopped because", stop_reason(s)))
    if "n_points" in s:
        items.append(("Points", f"{int(s['n_points']):,}"))
    if s.get("n_dropped"):
        items.append(("Non-finite rows dropped", f"{int(s['n_dropped']):,}"))
    if "simplify_seconds" in s:
        items.append(("Simplifying the front", f"{float(s['simplify_seconds']):.1f} s"))
    dl = "".join(f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items)
    opts = s.get("options")
    extra = ""
    if opts:
        import json

        extra = (f"<details><summary>Search options</summary><pre>{e(json.dumps(opts, indent=2))}"
                 "</pre></details>")
    return f"<h2>Search</h2><dl>{dl}</dl>{extra}"
