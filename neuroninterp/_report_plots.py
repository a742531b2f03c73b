"""The report's plots, drawn with matplotlib's object API on the Agg canvas
(no pyplot, so no global figure state is touched) and returned as PNG bytes.

- ``pareto``: loss (log axis) against complexity, the chosen formula marked;
- ``relation``: the unit's value against ``T(x)``, the monotone fit and the threshold;
- ``boundary``: for two inputs, the points coloured by the network's class, the
  network's boundary (contour of the values at 0) and the formula's level set
  ``T = c``; for a hidden unit, the points coloured by value with level sets of ``T``.
"""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ._interpretation import Interpretation

PLOT_POINTS = 3000  # most points drawn in a scatter plot
LOSS_FLOOR = 1e-10  # the log axis of the front stops here (the elbow rule's "exact")
DPI = 110
CLASS0, CLASS1 = "#4a7ebb", "#e0703a"
NETWORK, FORMULA, ACCENT = "#1f2933", "#2ee88a", "#c0392b"


@dataclass
class Plot:
    """One figure: a file name (without extension), a title, a caption and PNG bytes."""

    name: str
    title: str
    caption: str
    png: bytes


def make_plots(interp: Interpretation) -> list[Plot]:
    """Every plot that applies to ``interp`` (those needing data only when its
    ``gradient_set`` is present, e.g. after ``interpret`` or from a report.json
    with a stored sample)."""
    plots = []
    if interp.front:
        plots.append(pareto_plot(interp))
    rel = relation_plot(interp)
    if rel is not None:
        plots.append(rel)
    bnd = boundary_plot(interp)
    if bnd is not None:
        plots.append(bnd)
    return plots


# -- the three plots -------------------------------------------------------------------


def pareto_plot(interp: Interpretation) -> Plot:
    from matplotlib.ticker import MaxNLocator

    fig, ax = _figure(9.0, 3.4)
    cx = np.array([c.complexity for c in interp.front], dtype=float)
    raw = np.array([c.loss for c in interp.front], dtype=float)
    loss = np.maximum(raw, LOSS_FLOOR)
    ax.step(cx, loss, where="post", color="#9aa5b1", lw=1.2, zorder=1)
    ax.scatter(cx, loss, s=28, color="#3d4f63", zorder=2, label="front")
    if loss.max() / loss.min() > 10:  # a log axis only when the losses span a decade
        ax.set_yscale("log")
    ax.set_xlim(0, cx.max() + 1)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("complexity")
    ax.set_ylabel("loss  (2 - 2 mean cosine)")
    caption = "Best loss found at each complexity; lower is better."
    if (raw < LOSS_FLOOR).any():
        caption += f" Losses below {LOSS_FLOOR:g} (exact matches) are drawn at {LOSS_FLOOR:g}."
    if interp.best is not None:
        b = interp.best
        bl = max(b.loss, LOSS_FLOOR)
        ax.scatter([b.complexity], [bl], s=220, marker="*", color=ACCENT, zorder=3,
                   edgecolor="white", linewidth=0.8, label="chosen")
        right = b.complexity > 0.6 * cx.max()  # keep the label inside the axes
        ax.annotate(_mathtext(interp, b), (b.complexity, bl), xytext=(-14 if right else 14, 14),
                    ha="right" if right else "left", va="bottom",
                    textcoords="offset points", fontsize=12, color=ACCENT,
                    bbox=dict(boxstyle="round,pad=0.3", fc="white", ec=ACCENT, lw=0.8))
        ax.legend(loc="upper right", frameon=False)
        caption += " The star marks the chosen formula, where the front stops dropping steeply."
    else:
        caption += " No formula was chosen: none matches the unit's gradients well enough."
    return Plot("pareto", "Pareto front", caption, _png(fig))


def relation_plot(interp: Interpretation) -> Plot | None:
    rule, best = interp.rule, interp.best
    if rule is None or best is None or not rule.knots:
        return None
    fig, ax = _figure(6.4, 4.0)
    gs = interp.gradient_set
    shown = ""
    if gs is not None and gs.values is not None:
        sub = gs.subsample(PLOT_POINTS, seed=0)
        values = np.asarray(sub.values)
        with np.errstate(all="ignore"):
            t = best(sub.X)
        ok = np.isfinite(t)
        colors = np.where(values[ok] > 0, CLASS1, CLASS0) if rule.is_logit else "#6b7b8c"
        ax.scatter(t[ok], values[ok], s=10, c=colors, alpha=0.5, lw=0, zorder=2,
                   label="points" if not rule.is_logit else None)
        shown = _shown(interp, len(sub))
    k = np.asarray(rule.knots)
    ax.plot(k[:, 0], k[:, 1], color=NETWORK, lw=1.4, alpha=0.9, zorder=3, label="monotone fit")
    if rule.is_logit:
        ax.axhline(0, color="#888888", lw=0.8, ls=":")
    if rule.threshold is not None:
        ax.axvline(rule.threshold, color=FORMULA, lw=2, ls="--",
                   label=f"threshold c = {rule.threshold:.4g}")
    ax.set_xlabel(r"$T(x)$ = " + _mathtext(interp, best))
    ax.set_ylabel("logit" if rule.is_logit else "unit value")
    ax.legend(loc="best", frameon=False)
    if rule.is_logit:
        caption = ("The network's logit against the formula's value at each point (orange: "
                   "class 1, blue: class 0), with the isotonic fit.")
        if rule.threshold is not None:
            caption += " The threshold c is where the fit crosses 0."
    else:
        caption = "The unit's value against the formula's value, with the isotonic fit."
    return Plot("relation", "The unit as a function of T", caption + shown, _png(fig))


def boundary_plot(interp: Interpretation) -> Plot | None:
    gs = interp.gradient_set
    if gs is None or gs.values is None or gs.n_features != 2 or len(gs) < 3:
        return None
    from matplotlib.lines import Line2D
    from matplotlib.tri import Triangulation

    sub = gs.subsample(PLOT_POINTS, seed=0)
    X, v = sub.X, np.asarray(sub.values)
    fig, ax = _figure(5.6, 5.0)
    n1, n2 = gs.feature_names
    handles = []
    rule, best = interp.rule, interp.best
    if sub.is_logit:
        cls = v > 0
        ax.scatter(X[~cls, 0], X[~cls, 1], s=9, color=CLASS0, alpha=0.55, lw=0)
        ax.scatter(X[cls, 0], X[cls, 1], s=9, color=CLASS1, alpha=0.55, lw=0)
        handles += [Line2D([], [], ls="", marker="o", color=CLASS1, label="network: class 1"),
                    Line2D([], [], ls="", marker="o", color=CLASS0, label="network: class 0")]
        tri = _triangulation(Triangulation, X)
        if tri is not None and v.min() < 0 < v.max():
            ax.tricontour(tri, v, levels=[0.0], colors=NETWORK, linewidths=3.2, zorder=3)
            handles.append(Line2D([], [], color=NETWORK, lw=3.2, label="network boundary"))
    else:
        sc = ax.scatter(X[:, 0], X[:, 1], s=9, c=v, cmap="viridis", lw=0)
        fig.colorbar(sc, ax=ax, label="unit value", shrink=0.8)
    if best is not None:
        levels = _formula_levels(interp)
        if levels:
            lo, hi = X.min(axis=0), X.max(axis=0)
            pad = 0.02 * (hi - lo + 1e-12)
            g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], 240)
            g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], 240)
            G0, G1 = np.meshgrid(g0, g1)
            with np.errstate(all="ignore"):
                T = best(np.c_[G0.ravel(), G1.ravel()]).reshape(G0.shape)
            T = np.ma.masked_invalid(T)
            if T.count() and T.min() < max(levels) and T.max() > min(levels):
                ax.contour(G0, G1, T, levels=sorted(levels), colors=FORMULA, linewidths=2.2,
                           linestyles=[(0, (4, 3))], zorder=4)
                label = "formula: T(x) = c" if rule is not None and rule.threshold is not None \
                    else "formula: level sets of T"
                handles.append(Line2D([], [], color=FORMULA, lw=2.2, ls=(0, (4, 3)), label=label))
    ax.set_xlabel(n1)
    ax.set_ylabel(n2)
    ax.set_aspect("equal", adjustable="datalim")
    if handles:
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2,
                  frameon=False, fontsize=9)
    if sub.is_logit:
        caption = ("The points coloured by the network's class (value > 0), the network's "
                   "decision boundary (solid, drawn from the points' values)")
        caption += (" and the formula's level set T(x) = c (dashed)." if best is not None
                    and rule is not None and rule.threshold is not None else ".")
    else:
        caption = "The points coloured by the unit's value, with level sets of the formula."
    return Plot("boundary", "Decision boundary" if sub.is_logit else "Level sets",
                caption + _shown(interp, len(sub)), _png(fig))


# -- helpers ------------------------------------------------------------------------


def _figure(w: float, h: float) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.grid(True, color="#e6e9ee", lw=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _png(fig: Figure) -> bytes:
    buf = BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, facecolor="white")
    return buf.getvalue()


def _mathtext(interp: Interpretation, candidate: object) -> str:
    """The candidate as matplotlib mathtext, or plain text if mathtext cannot parse it."""
    from matplotlib.mathtext import MathTextParser

    from ._report import display_latex, display_text

    tex = "$" + display_latex(candidate) + "$"  # type: ignore[arg-type]
    try:
        MathTextParser("path").parse(tex)
    except Exception:  # mathtext covers most but not all of sympy's LaTeX
        return display_text(candidate)  # type: ignore[arg-type]
    return tex


def _triangulation(Triangulation: type, X: np.ndarray) -> Any:
    """A Delaunay triangulation of the points, with long-edged triangles masked
    (they bridge gaps such as the inside of a band of points)."""
    try:
        tri = Triangulation(X[:, 0], X[:, 1])
    except (ValueError, RuntimeError):
        return None
    pts = np.c_[tri.x, tri.y]
    t = tri.triangles
    edges = np.stack([np.linalg.norm(pts[t[:, i]] - pts[t[:, (i + 1) % 3]], axis=1)
                      for i in range(3)], axis=1).max(axis=1)
    tri.set_mask(edges > 4 * np.median(edges))
    return tri


def _formula_levels(interp: Interpretation) -> list[float]:
    rule = interp.rule
    if rule is None:
        return []
    if rule.threshold is not None:
        return [rule.threshold]
    if rule.knots:
        k = np.asarray(rule.knots)[:, 0]
        return sorted(set(np.quantile(k, [0.1, 0.3, 0.5, 0.7, 0.9]).tolist()))
    return []


def _shown(interp: Interpretation, n_shown: int) -> str:
    total = interp.stats.get("n_points")
    gs = interp.gradient_set
    if gs is not None and total and len(gs) < int(total):
        return (f" Drawn from the {len(gs):,} of {int(total):,} points stored in report.json"
                f"{' (' + f'{n_shown:,} shown' + ')' if n_shown < len(gs) else ''}.")
    if gs is not None and n_shown < len(gs):
        return f" {n_shown:,} of {len(gs):,} points shown."
    return ""
