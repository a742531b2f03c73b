"""The interpretation report: JSON round trip, console text, Markdown and HTML
files, the "nothing found" case, and the ``neuroninterp report`` command."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from io import BytesIO, StringIO

import numpy as np
import pytest
import sympy
from matplotlib.image import imread
from rich.console import Console

import neuroninterp as ni
from neuroninterp._cli import main
from neuroninterp._report import SCHEMA_VERSION, display_text, report_text
from neuroninterp._report_plots import make_plots
from neuroninterp._rule import fit_rule
from neuroninterp.experiments import EXPERIMENTS

ANSI = re.compile(r"\x1b\[")
NO_COLOR_ENV = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE")


def warm_search() -> None:
    """Compile the search's numba kernels outside any time budget (on a cold cache,
    e.g. a fresh clone, compiling takes longer than the budgets used here)."""
    ni.interpret(EXPERIMENTS[1].gradient_set(50), time_budget=None, max_evals=300, n_jobs=1,
                 progress=False)


@pytest.fixture(scope="module")
def found() -> ni.Interpretation:
    """Exact gradients of experiment 1 with a logit 4 (g - 1): the search finds
    the truth in seconds and the rule's threshold is 1."""
    warm_search()
    e = EXPERIMENTS[1]
    X = e.sample(400, seed=1)
    gs = ni.GradientSet(X, e.gradient(X), 4 * (e.value(X) - 1),
                        description="experiment 1, exact gradients")
    result = ni.interpret(gs, time_budget=20, n_jobs=1, progress=False, seed=0)
    assert result.best is not None and result.rule is not None
    return result


@pytest.fixture(scope="module")
def nothing() -> ni.Interpretation:
    """Random gradient directions and a tiny evaluation budget: nothing fits."""
    rng = np.random.default_rng(0)
    gs = ni.GradientSet(rng.uniform(-1, 1, (300, 2)), rng.normal(size=(300, 2)),
                        rng.normal(size=300), description="random directions")
    result = ni.interpret(gs, max_evals=300, time_budget=None, n_jobs=1, progress=False)
    assert result.best is None and result.front
    return result


@pytest.fixture()
def plain_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NO_COLOR_ENV:
        monkeypatch.delenv(name, raising=False)


# -- JSON ---------------------------------------------------------------------------


def test_json_round_trip_keeps_front_best_rule_and_stats(found, tmp_path):
    path = found.save(tmp_path / "report.json")
    data = json.loads(path.read_text())
    assert data["schema_version"] == SCHEMA_VERSION == 1
    back = ni.Interpretation.load(path)
    assert [c.expr for c in back.front] == [c.expr for c in found.front]
    assert [(c.complexity, c.loss) for c in back.front] == [
        (c.complexity, c.loss) for c in found.front]
    assert back.best is not None and back.best.expr == found.best.expr
    assert back.front.index(back.best) == found.front.index(found.best)
    assert back.rule == found.rule
    assert back.stats == found.stats
    assert back.notes == found.notes and back.description == found.description
    # LaTeX for display is stored with every front member
    assert data["front"][data["best"]]["latex"] == "x_{1}^{2} + 2 x_{2}^{2}"
    # the stored sample lets a loaded report redraw its plots
    assert back.gradient_set is not None and len(back.gradient_set) == len(found.gradient_set)
    np.testing.assert_allclose(back.gradient_set.values, found.gradient_set.values, rtol=1e-6)
    again = back.to_dict()
    assert again["sample"]["X"] == data["sample"]["X"]
    assert {k: v for k, v in again.items() if k != "sample"} == {
        k: v for k, v in data.items() if k != "sample"}


def test_json_round_trip_of_a_front_with_constants(tmp_path):
    names = ["x1", "x2", "x3"]
    texts = ["x1*(x2**2 + 2.62986)/sin(x1)", "-0.0471903*exp(x2*(x1 - 25.3277*x2 + 4.76965))",
             "exp(x1 - x2) - pi*x3", "x1*x2/((x3 - x1)**2 + 1.5e-7)",
             "cbrt(x1 - x2) + log10(x3)*log1p(x2)", "Max(0, x1 - x2) + gamma(x3)*erfc(x1)"]
    front = [ni.Candidate.from_string(t, names, i + 3, 10.0 ** -i) for i, t in enumerate(texts)]
    # the simplifier writes constants as 6-digit Floats that keep more binary digits
    x1 = sympy.Symbol("x1", real=True)
    front.append(ni.Candidate(x1**2 + sympy.Float(2.0426412345, 6) * sympy.sin(x1), 9, 1e-5,
                              names))
    interp = ni.Interpretation(front, front[2], names, {"seconds": 1.5, "stopped": "max_evals"})
    path = interp.save(tmp_path / "r.json")
    back = ni.Interpretation.load(path)
    assert [c.expr for c in back.front] == [c.expr for c in front]
    assert back.best.expr == front[2].expr and back.rule is None and back.gradient_set is None
    # a hand-written report without srepr is read from the formula strings
    data = json.loads(path.read_text())
    for entry in data["front"]:
        del entry["srepr"]
    again = ni.Interpretation.from_dict(data)
    assert [str(c.expr) for c in again.front] == [str(c.expr) for c in front]


def test_newer_schema_or_foreign_json_is_refused(found, tmp_path):
    data = found.to_dict()
    data["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(ValueError, match=r"schema_version 2, newer .*upgrade neuroninterp"):
        ni.Interpretation.from_dict(data)
    with pytest.raises(ValueError, match="not a neuroninterp report"):
        ni.Interpretation.from_dict({"front": []})
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    with pytest.raises(ValueError, match="cannot read an interpretation"):
        ni.Interpretation.load(bad)


# -- console --------------------------------------------------------------------------


def test_console_report_is_plain_text_when_not_a_terminal(found, capsys, plain_env):
    found.report()
    out = capsys.readouterr().out
    assert not ANSI.search(out)
    best = display_text(found.best)
    assert f"T(x) = {best}" in out
    chosen_rows = [line for line in out.splitlines() if line.lstrip().startswith("*")
                   and best in line]
    assert len(chosen_rows) == 1  # the chosen formula is marked in the front table
    assert f"class 1 when {best} > 1.000" in out
    assert "agrees with the network's class on 100.0 %" in out
    assert f"{found.stats['evaluations']:,} evaluations" in out
    assert "stopped because a formula matched the gradients" in out
    for c in found.front:
        assert display_text(c) in out


def test_console_report_is_styled_on_a_terminal(found):
    buf = StringIO()
    found.report(Console(file=buf, force_terminal=True, color_system="standard", width=120))
    assert ANSI.search(buf.getvalue())  # so the plain-text check above can fail
    assert not ANSI.search(report_text(found))


def test_console_report_through_a_pipe_has_no_escapes(found, tmp_path):
    path = found.save(tmp_path / "report.json")
    env = {k: v for k, v in os.environ.items() if k not in NO_COLOR_ENV}
    proc = subprocess.run([sys.executable, "-m", "neuroninterp._cli", "report", str(path)],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "class 1 when" in proc.stdout and display_text(found.best) in proc.stdout
    assert not ANSI.search(proc.stdout)


# -- nothing found ---------------------------------------------------------------------


def test_report_says_plainly_when_nothing_was_found(nothing, tmp_path, plain_env):
    text = report_text(nothing)
    assert "No formula explains this unit well" in text
    assert "T(x) =" not in text and "class 1 when" not in text
    assert not [line for line in text.splitlines() if line.lstrip().startswith("*")]
    nothing.save_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "No formula explains this unit well" in html
    assert 'id="chosen-formula"' not in html and "class 1 when" not in html
    assert 'class="chosen"' not in html
    md = (tmp_path / "report.md").read_text()
    assert "No formula explains this unit well" in md and "Decision rule" not in md
    back = ni.Interpretation.load(tmp_path / "report.json")
    assert back.best is None and len(back.front) == len(nothing.front)


# -- files ------------------------------------------------------------------------------


def _img_sources(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', html)


def _decode_png(src: str) -> np.ndarray:
    assert src.startswith("data:image/png;base64,")
    return imread(BytesIO(base64.b64decode(src.split(",", 1)[1])), format="png")


def test_save_report_writes_json_markdown_and_self_contained_html(found, tmp_path):
    out = found.save_report(tmp_path / "out")
    names = sorted(p.name for p in out.iterdir())
    assert names == ["boundary.png", "pareto.png", "relation.png", "report.html", "report.json",
                     "report.md"]
    md = (out / "report.md").read_text()
    for png in ("pareto.png", "relation.png", "boundary.png"):
        assert f"]({png})" in md
        assert imread(out / png).shape[0] > 100
    assert "$$T(x) = x_{1}^{2} + 2 x_{2}^{2}$$" in md
    html = (out / "report.html").read_text()
    assert "<script" not in html and "<link" not in html and 'src="http' not in html
    srcs = _img_sources(html)
    assert len(srcs) == 3
    for src in srcs:
        img = _decode_png(src)
        assert img.shape[0] > 100 and img.shape[1] > 100 and img.std() > 0.05
    assert '<div class="big" id="chosen-formula"><math' in html
    assert "<msubsup><mi>x</mi><mn>1</mn><mn>2</mn></msubsup>" in html
    assert "class 1 when" in html and 'class="chosen"' in html


def test_loaded_report_without_points_skips_data_plots_and_says_so(found, tmp_path):
    data = found.to_dict()
    data["sample"] = None
    interp = ni.Interpretation.from_dict(data)
    plots = make_plots(interp)
    assert [p.name for p in plots] == ["pareto", "relation"]  # relation from the stored knots
    interp.save_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "Plots of the data are not shown" in html
    assert len(_img_sources(html)) == 2


def test_hidden_unit_report_shows_the_relation_without_a_threshold(tmp_path, plain_env):
    e = EXPERIMENTS[1]
    X = e.sample(500, seed=3)
    g = e.value(X)
    gs = ni.GradientSet(X, e.gradient(X), np.tanh(g - 1), is_logit=False)
    best = ni.Candidate.from_string(e.truth, e.names, 7, 0.0)
    interp = ni.Interpretation([best], best, e.names, {"seconds": 0.5, "stopped": "early_stop"},
                               rule=fit_rule(best, gs), gradient_set=gs)
    text = report_text(interp)
    assert "the unit grows monotonically with x1**2 + 2*x2**2" in text
    assert "class 1" not in text
    interp.save_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "Relation" in html and "class 1 when" not in html
    assert len(_img_sources(html)) == 3  # front, relation, level sets


# -- the command line ---------------------------------------------------------------------


def test_cli_report_prints_and_writes_files(found, tmp_path, capsys, plain_env):
    path = found.save(tmp_path / "report.json")
    rc = main(["report", str(path), "--html", str(tmp_path / "h"), "--md", str(tmp_path / "m")])
    out = capsys.readouterr().out
    assert rc == 0
    assert display_text(found.best) in out and "class 1 when" in out
    assert (tmp_path / "h" / "report.html").stat().st_size > 10_000
    assert (tmp_path / "m" / "report.md").exists() and (tmp_path / "m" / "pareto.png").exists()
    rc = main(["report", str(path), "--out", str(tmp_path / "all"), "--quiet"])
    assert rc == 0 and (tmp_path / "all" / "report.json").exists()
    assert capsys.readouterr().out.strip() == f"wrote {tmp_path / 'all'}"


def test_cli_report_on_a_missing_file_fails_clearly(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err


# -- the page in a real browser ----------------------------------------------------------

CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str | None:
    import shutil

    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _near(img: np.ndarray, hex_color: str, tol: float) -> np.ndarray:
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.abs(img[..., :3] - rgb).max(axis=-1) < tol


def test_html_report_renders_in_headless_chromium(found, tmp_path):
    chromium = _chromium()
    if chromium is None:
        pytest.skip("headless Chromium is not installed (CI installs it: apt-get install chromium)")
    found.save_report(tmp_path / "out")
    url = (tmp_path / "out" / "report.html").resolve().as_uri()
    flags = CHROME_FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,2400", url],
                   capture_output=True, timeout=180, check=False)
    dom = subprocess.run([chromium, *flags, "--dump-dom", url], capture_output=True, text=True,
                         timeout=180, check=False).stdout
    assert shot.exists(), "Chromium wrote no screenshot"

    # the DOM as the browser parsed it: the chosen formula as MathML, the rule, every image
    summary = dom[dom.index('id="summary"'):dom.index("</section>", dom.index('id="summary"'))]
    assert "<math" in summary and "<msubsup>" in summary and "class 1 when" in summary
    assert "T(x) = x1**2 + 2*x2**2" in summary
    srcs = _img_sources(dom)
    assert len(srcs) == 3
    for src in srcs:
        img = _decode_png(src)
        assert min(img.shape[:2]) > 100 and img.std() > 0.05

    # the screenshot: a page with content, the formula's colour in the summary box, and the
    # plots' marks (orange and blue points, the dashed level set, the red star of the front)
    page = imread(shot)
    assert page.shape[:2] == (2400, 1200)
    ink = page[..., :3].min(axis=-1) < 0.85
    assert ink.mean() > 0.015, "the page is mostly blank"
    top = page[:600]
    assert _near(top, "#1b7f4b", 0.12).sum() > 200, "the rule is not visible in the summary"
    assert _near(top, "#1f2933", 0.12).sum() > 500, "the formula is not visible in the summary"
    r, g, b = page[..., 0], page[..., 1], page[..., 2]
    marks = {
        "class-1 points (orange)": (r > 0.75) & (r - b > 0.3) & (g > 0.4) & (g < 0.8),
        "class-0 points (blue)": (b > 0.6) & (b - r > 0.15) & (b > g),
        "formula level set and threshold (green)": _near(page, "#2ee88a", 0.15),
        "chosen point of the front (red star)": _near(page, "#c0392b", 0.1),
    }
    for what, mask in marks.items():
        assert mask[600:].sum() > 100, f"{what} not visible ({mask.sum()} pixels)"
