"""Fixtures shared by the PyTorch adapter tests (helpers live in torch_helpers.py)."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")

from torch_helpers import bce, elu_mlp, train  # noqa: E402

from neuroninterp.experiments import EXPERIMENTS  # noqa: E402


@pytest.fixture(scope="session")
def exp1_data():
    exp = EXPERIMENTS[1]
    X = exp.sample(3000, seed=1)
    return X, exp.labels(X, seed=2)


@pytest.fixture(scope="session")
def exp1_net(exp1_data):
    """A 2x64 ELU logit network trained on experiment 1 (x1^2 + 2 x2^2 > 1), ~2 s."""
    X, y = exp1_data
    return train(elu_mlp(2, 1), X, y, bce, epochs=60).eval()


@pytest.fixture(scope="session")
def warm_search():
    """Compile the search's numba kernels once, outside any time budget: on a cold cache
    (a fresh clone) compiling would otherwise eat the first search's time_budget."""
    import neuroninterp as ni

    ni.interpret(EXPERIMENTS[1].gradient_set(50), time_budget=None, max_evals=300, n_jobs=1,
                 progress=False)
