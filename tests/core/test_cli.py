"""The console script: ``--version`` and the ``truth`` subcommand (exact
gradients of a published experiment in, the recovered formula out)."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import sympy

import neuroninterp as ni
from neuroninterp._cli import main
from neuroninterp.experiments import EXPERIMENTS, equivalent


def _printed_formulas(text: str, names: list[str]) -> list[sympy.Expr]:
    """Every table cell or text field of ``text`` that parses as a formula over ``names``."""
    symbols = {n: sympy.Symbol(n, real=True) for n in names}
    found = []
    for line in text.splitlines():
        for cell in re.split(r"[│┃|]|\s{2,}|=", line):
            cell = cell.strip(" *")
            if not cell or not any(n in cell for n in names):
                continue
            try:
                expr = sympy.sympify(cell, locals=symbols)
            except (sympy.SympifyError, SyntaxError, TypeError, ValueError):
                continue
            if isinstance(expr, sympy.Expr) and expr.free_symbols <= set(symbols.values()):
                found.append(expr)
    return found


def test_version_in_process(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == ni.__version__


def test_version_as_a_program():
    done = subprocess.run(
        [sys.executable, "-m", "neuroninterp._cli", "--version"],
        capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ni.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", ni.__version__)


def test_truth_rejects_an_unknown_experiment(capsys):
    with pytest.raises(SystemExit) as err:
        main(["truth", "9"])
    assert err.value.code == 2
    assert "invalid choice: 9" in capsys.readouterr().err


def test_truth_prints_the_formula_of_experiment_1():
    exp = EXPERIMENTS[1]
    done = subprocess.run(
        [sys.executable, "-m", "neuroninterp._cli", "truth", "1", "--time-budget", "20",
         "--points", "500", "--n-jobs", "1"],
        capture_output=True, text=True, timeout=180,
    )
    assert done.returncode == 0, done.stderr
    assert "experiment 1" in done.stdout
    printed = _printed_formulas(done.stdout, exp.names)
    X = exp.sample(500, seed=1)
    matches = [e for e in printed if equivalent(e, exp.expr, exp.names, X)[0]]
    assert matches, f"no formula equivalent to {exp.truth} in the output:\n{done.stdout}"


def test_interpret_recovers_experiment_1():
    exp = EXPERIMENTS[1]
    gs = exp.gradient_set(500, seed=0)
    result = ni.interpret(gs, time_budget=20, n_jobs=1, progress=False, seed=0)
    assert result.best is not None
    X = exp.sample(1000, seed=2)
    ok, fraction, ops = equivalent(result.best.expr, exp.expr, exp.names, X)
    assert ok, (result.best.expr, fraction, ops)
    assert result.best.loss < 1e-6 and result.best.mean_cosine > 0.999999
    assert [c.complexity for c in result.front] == sorted(c.complexity for c in result.front)
    losses = [c.loss for c in result.front]
    assert all(b < a for a, b in zip(losses, losses[1:]))  # each member beats the simpler ones
    assert result.stats["seconds"] < 20 + 5
    np.testing.assert_allclose(
        result.best.gradient(X)[:, 1] * X[:, 0], 2 * result.best.gradient(X)[:, 0] * X[:, 1],
        rtol=1e-9, atol=1e-12,
    )  # the gradient of x1^2 + 2 x2^2 is (2 x1, 4 x2): g2 * x1 == 2 * g1 * x2 at every point
