"""The tree passes ruff and mypy (configured in pyproject.toml), as CI requires."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF_PATHS = ["neuroninterp", "neuroninterp_torch", "neuroninterp_keras", "tests", "benchmarks",
              "examples"]


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff():
    if shutil.which("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    paths = [p for p in RUFF_PATHS if (ROOT / p).exists()]
    done = _run(["ruff", "check", *paths])
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy():
    pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[dev]')")
    done = _run([sys.executable, "-m", "mypy"])
    assert done.returncode == 0, done.stdout + done.stderr
