"""The example scripts, the demo and the symbolic-classification baseline, end to end.

Every script in ``examples/`` runs with ``--quick`` in a subprocess (so none can rot) and
must exit 0 and print a formula; ``neuroninterp demo`` must write its report files; the
paper benchmark's quick form must print its table; ``classify`` on experiment 1 data
must return a front and a rule. Each script trains a real (small) network: the module is
marked slow, about 5-10 minutes in all on a CI machine.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

import neuroninterp as ni
from neuroninterp.experiments import EXPERIMENTS

pytest.importorskip("torch")

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_"))
KERAS_EXAMPLES = {p.name for p in EXAMPLES if "keras" in p.name}
TIMEOUT = 600


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("KERAS_BACKEND", "torch")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True,
                          timeout=TIMEOUT)


def printed_formulas(text: str) -> list[sympy.Expr]:
    """The formulas printed after ``formula:`` (e.g. ``formula: x1**2 + 2*x2**2``,
    ``best formula: ...   (mean cosine ...)``, or - when no formula explains the unit well -
    ``closest formula: ...``) that parse and use some input variable."""
    found = []
    for match in re.finditer(r"formula:\s*(.+)", text, flags=re.IGNORECASE):
        candidate = re.split(r"\s{2,}|\s\(mean", match.group(1).strip())[0]
        names = set(re.findall(r"\bx\d+\b", candidate))
        if not names:
            continue
        try:
            expr = sympy.sympify(candidate, locals={n: sympy.Symbol(n, real=True) for n in names})
        except (sympy.SympifyError, SyntaxError, TypeError, ValueError):
            continue
        if isinstance(expr, sympy.Expr) and expr.free_symbols:
            found.append(expr)
    return found


def test_every_experiment_has_an_example():
    names = [p.name for p in EXAMPLES]
    for number in range(1, 9):
        assert any(n.startswith(f"exp{number}_") for n in names), f"no example for experiment {number}"
    assert "hidden_neuron.py" in names and "latent_unit.py" in names
    assert len(KERAS_EXAMPLES) >= 2, f"expected at least two Keras examples, got {KERAS_EXAMPLES}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_runs_quick_and_prints_a_formula(script, tmp_path):
    if script.name in KERAS_EXAMPLES:
        pytest.importorskip("keras")
    proc = _run([sys.executable, str(script), "--quick"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{script.name} failed (exit {proc.returncode}):\n{out[-4000:]}"
    formulas = printed_formulas(proc.stdout)
    assert formulas, f"{script.name} printed no formula:\n{proc.stdout[-3000:]}"


def test_example_help_names_the_options():
    proc = _run([sys.executable, str(ROOT / "examples" / "exp1_ellipse.py"), "--help"], cwd=ROOT)
    assert proc.returncode == 0
    for option in ("--quick", "--seed", "--time-budget", "--out"):
        assert option in proc.stdout


def test_demo_writes_the_report_files(tmp_path):
    out = tmp_path / "demo"
    proc = _run([sys.executable, "-m", "neuroninterp._cli", "demo", "--time-budget", "10",
                 "--epochs", "15", "--n-jobs", "1", "--out", str(out)], cwd=tmp_path)
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-4000:]
    for name in ("report.json", "report.html", "report.md"):
        assert (out / name).is_file(), f"demo did not write {name}:\n{text[-2000:]}"
    assert str(out.resolve()) in proc.stdout  # it says where the files are
    data = json.loads((out / "report.json").read_text())
    assert data  # a real report
    result = ni.Interpretation.load(out / "report.json")
    assert result.front, "the demo's report has an empty front"
    assert set(result.feature_names) == {"x1", "x2"}
    html = (out / "report.html").read_text()
    assert "<html" in html.lower()


def test_demo_rejects_a_bad_time_budget(tmp_path):
    proc = _run([sys.executable, "-m", "neuroninterp._cli", "demo", "--time-budget", "0",
                 "--out", str(tmp_path / "x")], cwd=tmp_path)
    assert proc.returncode == 2
    assert "--time-budget" in proc.stderr and "0" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_paper_benchmark_quick_prints_one_table(tmp_path):
    proc = _run([sys.executable, str(ROOT / "benchmarks" / "paper.py"), "--quick",
                 "--experiments", "1,7", "--seeds", "1", "--n-jobs", "1",
                 "--time-budget", "5"], cwd=tmp_path)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    table = [line for line in proc.stdout.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 2, proc.stdout  # header, rule, one row per (experiment, seed)
    assert "chosen formula" in table[0] and "baseline formula" in table[0]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in table[2:]]
    assert [r[0] for r in rows] == ["1", "7"]
    assert rows[0][4].startswith(("yes", "no")), rows[0]
    assert "uses" in rows[1][4] or rows[1][4] == "no formula", rows[1]
    runs = [line for line in proc.stderr.splitlines() if line.startswith("experiment 1 seed 0:")]
    assert len(runs) == 1 and "evaluations, stopped by" in runs[0], proc.stderr  # search stats


def test_paper_rejects_an_unknown_experiment():
    proc = _run([sys.executable, "-m", "neuroninterp._cli", "paper", "--experiments", "9"],
                cwd=ROOT)
    assert proc.returncode == 2
    assert "9" in proc.stderr and "1, 2" in proc.stderr


def test_classify_on_experiment_1_returns_a_front_and_a_rule():
    e = EXPERIMENTS[1]
    X = e.sample(1500, seed=3)
    y = e.labels(X, seed=3)
    result = ni.classify(X, y, time_budget=10, n_jobs=1, progress=False, seed=0)
    assert result.front, "classify returned an empty front"
    complexities = [c.complexity for c in result.front]
    assert complexities == sorted(complexities)
    best = result.best
    assert best is not None
    # the rule "class 1 when T(x) > 0" separates the noisy labels well
    accuracy = float(np.mean((best(X) > 0) == (y == 1)))
    assert accuracy > 0.9, f"{best} classifies only {accuracy:.3f} of the points correctly"
    assert "T(x) > 0" in result.description
