"""Run the Keras adapter's test suite (``keras_suite.py``) once per Keras backend.

Keras chooses its backend when it is imported, so each backend gets its own
Python process with ``KERAS_BACKEND`` set. A backend whose framework is not
importable is skipped. The example script runs under the first available
backend only.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BACKENDS = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}  # backend -> module


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


AVAILABLE = [b for b, m in BACKENDS.items() if _available(m)] if _available("keras") else []


@pytest.mark.slow
@pytest.mark.parametrize("backend", list(BACKENDS))
def test_keras_suite_on_backend(backend):
    if not _available("keras"):
        pytest.skip("keras is not installed")
    if backend not in AVAILABLE:
        pytest.skip(f"the {backend} backend needs {BACKENDS[backend]!r}, which is not installed")
    env = {
        **os.environ,
        "KERAS_BACKEND": backend,
        # the machine running the tests is small and shared: one thread per framework
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
        "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"),
        "NEURONINTERP_KERAS_EXAMPLE": "1" if backend == AVAILABLE[0] else "0",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", str(HERE / "keras_suite.py"), "-q", "-p",
         "no:cacheprovider", "-W", "ignore::DeprecationWarning"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=1200,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f"keras_suite.py failed on the {backend} backend (exit code {proc.returncode}):\n"
        f"{output[-20000:]}"
    )
    assert " passed" in proc.stdout, output[-5000:]
