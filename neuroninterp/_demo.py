"""End-to-end runs on the published experiments: their labelled data, a small ELU
classifier trained with PyTorch, and the ``neuroninterp demo`` job built from them
(train on experiment 1, explain the logit, write the report files).

The examples and the paper benchmark train their networks with the same functions.
torch is imported inside the functions: importing this module stays light.

>>> X, y = experiment_data(1, n=1000)
>>> X.shape, sorted(set(y.tolist()))
((1000, 2), [0.0, 1.0])
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .experiments import EXPERIMENTS

if TYPE_CHECKING:
    from ._interpretation import Interpretation

DEMO_OUT = "neuroninterp-demo"
DEMO_EXPERIMENT = 1


# -- data ----------------------------------------------------------------------------------


def experiment_data(number: int, n: int = 10_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform points of experiment ``number`` (1-8) and their 0/1 labels, as in the paper.

    Experiments 1-6: label ``g(x) * N(1, 0.01) > t``. Experiments 7 and 8: class A (label 1)
    and class B (label 0) by their two-feature definitions; points in neither class are
    dropped, so fewer than ``n`` rows come back.

    >>> X, y = experiment_data(7, n=1000)
    >>> len(X) < 1000, bool(((X[:, 0] * X[:, 1] > 1) == (y == 1)).all())
    (True, True)
    """
    if number not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {sorted(EXPERIMENTS)}, got {number!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of points, got {n!r}")
    e = EXPERIMENTS[number]
    X = e.sample(n, seed=seed)
    if e.threshold is not None:
        return X, e.labels(X, seed=seed)
    a, b = two_features(number, X)
    class_a, class_b = a & b, ~a & ~b
    keep = class_a | class_b
    return X[keep], class_a[keep].astype(np.float64)


def two_features(number: int, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two boolean features that define the classes of experiments 7 and 8.

    Experiment 7: ``x1 x2 > 1`` and ``x3 x4 > 1``. Experiment 8: ``x1 x2 + x3 > 2`` and
    ``sin(x2 x3) > 0.5``. Class A is both true, class B both false (for experiment 7
    "both false" means ``x1 x2 < 1`` and ``x3 x4 < 1``, which equals "not > 1" up to a
    set of measure zero)."""
    X = np.asarray(X, dtype=np.float64)
    if number == 7:
        return X[:, 0] * X[:, 1] > 1, X[:, 2] * X[:, 3] > 1
    if number == 8:
        return X[:, 0] * X[:, 1] + X[:, 2] > 2, np.sin(X[:, 1] * X[:, 2]) > 0.5
    raise ValueError(f"only experiments 7 and 8 are defined by two features, got {number!r}")


def split(n: int, seed: int | None = 0, train_fraction: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """A seeded split of ``range(n)`` into (train, validation) indices, 80/20 by default."""
    order = np.random.default_rng(seed).permutation(n)
    cut = int(round(train_fraction * n))
    return order[:cut], order[cut:]


# -- training ------------------------------------------------------------------------------


def elu_mlp(n_in: int, hidden: tuple[int, ...] = (128, 128), n_out: int = 1,
            dropout: float = 0.0) -> Any:
    """A plain ELU network (``torch.nn.Sequential``): Linear-ELU(-Dropout) blocks and a
    linear output, the logit. Smooth activations give smooth input gradients."""
    from torch import nn

    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ELU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def train_torch(
    model: Any, X: np.ndarray, y: np.ndarray, *, loss: str = "bce", max_epochs: int = 100,
    batch_size: int = 128, lr: float = 3e-3, weight_decay: float = 1e-5, patience: int = 10,
    seed: int = 0, on_epoch: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train ``model`` on an 80/20 split of ``(X, y)``: Adam, ReduceLROnPlateau(0.5),
    early stopping on the validation loss, best weights restored, eval mode at the end.

    ``loss``: ``"bce"`` (the model outputs logits, ``y`` holds 0/1 labels) or ``"mse"``.
    ``on_epoch(epoch, validation_loss)`` is called after every epoch. Returns a dict with
    ``seconds``, ``epochs``, ``val_loss`` and, for ``"bce"``, ``val_accuracy``.

    >>> model = elu_mlp(2, (64, 64))                               # doctest: +SKIP
    >>> train_torch(model, *experiment_data(1))["val_accuracy"]    # doctest: +SKIP
    0.991
    """
    import torch

    if loss not in ("bce", "mse"):
        raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")
    torch.manual_seed(seed)
    start = time.perf_counter()
    train, val = split(len(X), seed)
    Xt = torch.as_tensor(np.asarray(X), dtype=torch.float32)
    yt = torch.as_tensor(np.asarray(y), dtype=torch.float32).reshape(len(Xt), -1)
    loss_fn = torch.nn.BCEWithLogitsLoss() if loss == "bce" else torch.nn.MSELoss()
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    shuffle = torch.Generator().manual_seed(seed)
    train_rows = torch.as_tensor(train)
    best, best_state, waited, epoch = float("inf"), None, 0, 0
    for epoch in range(1, max_epochs + 1):
        model.train()
        rows = train_rows[torch.randperm(len(train_rows), generator=shuffle)]
        for i in range(0, len(rows), batch_size):
            b = rows[i:i + batch_size]
            opt.zero_grad()
            loss_fn(model(Xt[b]), yt[b]).backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(model(Xt[val]), yt[val]))
        schedule.step(val_loss)
        if on_epoch is not None:
            on_epoch(epoch, val_loss)
        if val_loss < best - 1e-6:
            best, best_state, waited = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    info: dict[str, Any] = {"seconds": time.perf_counter() - start, "epochs": epoch,
                            "val_loss": best}
    if loss == "bce":
        with torch.no_grad():
            hits = (model(Xt[val]) > 0).float() == yt[val]
        info["val_accuracy"] = float(hits.float().mean())
    return info


# -- the demo ------------------------------------------------------------------------------


def run_demo(
    out: str | Path = DEMO_OUT, time_budget: float = 30.0, seed: int = 0, n_points: int = 10_000,
    epochs: int = 40, n_jobs: int | None = None, progress: bool | None = None,
    echo: Callable[[str], None] = print,
) -> tuple[Interpretation, Path]:
    """The main job end to end: data of experiment 1 (``x1^2 + 2 x2^2 > 1``), a 2x128 ELU
    classifier trained with PyTorch, its logit explained, the report printed and written
    to ``out`` (report.json, report.md with plots, report.html). Returns the
    interpretation and the report directory.

    >>> result, path = run_demo("demo-out", time_budget=10)   # doctest: +SKIP
    >>> print(result.best)                                    # doctest: +SKIP
    x1**2 + 2*x2**2
    """
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny net: one thread is fastest and never oversubscribes
    try:
        return _demo(out, time_budget, seed, n_points, epochs, n_jobs, progress, echo)
    finally:
        torch.set_num_threads(threads)


def _demo(out: str | Path, time_budget: float, seed: int, n_points: int, epochs: int,
          n_jobs: int | None, progress: bool | None, echo: Callable[[str], None],
          ) -> tuple[Interpretation, Path]:
    import torch

    from neuroninterp_torch import interpret_module

    e = EXPERIMENTS[DEMO_EXPERIMENT]
    X, y = experiment_data(DEMO_EXPERIMENT, n_points, seed)
    echo(f"Experiment {e.number}: {len(X):,} points on [-1, 1)^2, class 1 where "
         f"{e.truth} > {e.threshold:g} (1 % label noise).")
    echo("Training a 2x128 ELU classifier (Adam, 80/20 split, early stopping) ...")
    torch.manual_seed(seed)
    model = elu_mlp(X.shape[1], (128, 128))
    info = train_torch(model, X, y, max_epochs=epochs, batch_size=128, lr=3e-3,
                       weight_decay=1e-5, patience=6, seed=seed)
    echo(f"  {info['epochs']} epochs in {info['seconds']:.1f} s, validation accuracy "
         f"{100 * info['val_accuracy']:.1f} %.")
    echo(f"Explaining the network's logit by its input-gradient direction "
         f"(search budget {time_budget:g} s) ...")
    result = interpret_module(model, X, feature_names=e.names, time_budget=time_budget,
                              seed=seed, n_jobs=n_jobs, progress=progress)
    result.description = (f"logit of a 2x128 ELU classifier trained on experiment {e.number} "
                          f"(truth: {e.truth} > {e.threshold:g})")
    result.report()
    path = result.save_report(out)
    echo("")
    echo(f"The truth is {e.truth}; any formula with the same gradient direction "
         "(a scaled or shifted copy, a monotone function of it) is the same answer.")
    echo(f"Report files in {path.resolve()}: report.html (open it in a browser), report.md, "
         "report.json.")
    return result, path
