"""Experiment 3 of the paper with Keras: what does a classifier of
x1^2 + sin(x2 + x3) > 1 on [-2, 0)^3 use?

Trains a small ELU network (80/20 split) with ``model.fit`` and interprets its
logit with ``neuroninterp_keras.InterpretCallback`` when training ends. Runs on
any Keras 3 backend (KERAS_BACKEND=torch|jax|tensorflow; torch if unset).

    python examples/exp3_keras.py            # 10,000 points, about 2 minutes
    python examples/exp3_keras.py --quick    # a smoke run for CI, about 30 s
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import keras  # noqa: E402
from keras import layers  # noqa: E402

from neuroninterp.experiments import EXPERIMENTS, equivalent  # noqa: E402
from neuroninterp_keras import InterpretCallback  # noqa: E402


def build_model(width: int) -> keras.Model:
    """Two ELU layers and a sigmoid output: the callback interprets the logit before it."""
    return keras.Sequential([
        keras.Input((3,), name="x"),
        layers.Dense(width, activation="elu", name="hidden1"),
        layers.Dense(width, activation="elu", name="hidden2"),
        layers.Dense(1, activation="sigmoid", name="class1"),
    ], name="exp3_classifier")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="less data, fewer epochs and a short search (for CI)")
    parser.add_argument("--points", type=int, default=None, help="samples (default 10,000)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs (default 60)")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="seconds for the symbolic search (default 60)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="search worker processes (default: all cores; 1 in --quick)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-dir", default=None, help="write report files there")
    a = parser.parse_args(argv)
    points = a.points or (3000 if a.quick else 10_000)
    epochs = a.epochs or (8 if a.quick else 60)
    budget = a.time_budget or (8.0 if a.quick else 60.0)

    exp = EXPERIMENTS[3]
    keras.utils.set_random_seed(a.seed)
    X = exp.sample(points, seed=a.seed).astype("float32")
    y = exp.labels(X, seed=a.seed + 1).astype("float32")
    n_train = int(0.8 * points)
    X_train, y_train, X_val, y_val = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    print(f"experiment 3: {exp.truth} > {exp.threshold} on [-2, 0)^3, {points} points "
          f"({n_train} train / {points - n_train} validation), keras backend "
          f"{keras.backend.backend()}")

    model = build_model(32 if a.quick else 64)
    model.compile(keras.optimizers.Adam(0.003), "binary_crossentropy", metrics=["accuracy"])
    interpret = InterpretCallback(
        X_train, time_budget=budget, seed=a.seed, n_jobs=a.n_jobs or (1 if a.quick else None),
        progress=False if a.quick else None, report_dir=a.report_dir,
    )
    callbacks = [
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=4),
        # EarlyStopping restores the best weights in on_train_end: list it BEFORE the
        # interpretation callback, so that the restored weights are the ones explained.
        keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True),
        interpret,
    ]
    t0 = time.perf_counter()
    model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=epochs, batch_size=100,
              verbose=0 if a.quick else 2, callbacks=callbacks)
    seconds = time.perf_counter() - t0
    _, accuracy = model.evaluate(X_val, y_val, verbose=0)
    print(f"validation accuracy {accuracy:.4f}; training and interpretation took {seconds:.0f} s")

    if interpret.error is not None:
        print(f"the interpretation failed: {interpret.error}")
        return 1
    result = interpret.result
    if result is None or result.best is None:
        print("no formula explains the logit well; try a longer --time-budget or more epochs")
        return 0
    points_used = result.gradient_set.X
    ok, passing, _ = equivalent(result.best.expr, exp.expr, exp.names, points_used,
                                cosine=0.999, fraction=0.95)
    print(f"best formula: {result.best}   (mean cosine {result.best.mean_cosine:.5f})")
    print(f"same level sets as the truth {exp.truth}: {'yes' if ok else 'no'} "
          f"({100 * passing:.1f} % of the band points agree)")
    if a.report_dir:
        print(f"report files in {a.report_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
