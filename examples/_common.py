"""What the example scripts share: the data of each published experiment, a small
PyTorch trainer, the command-line options and the printout.

Every script trains a network on one experiment of Wetzel's paper and interprets
one of its units; ``--quick`` runs a small version in seconds (used by the tests).

>>> X, y = experiment_data(1, n=1000)          # 1000 points of x1^2 + 2 x2^2 > 1
>>> model = elu_mlp(2, (128, 128))
>>> info = train_torch(model, X, y)             # doctest: +SKIP
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import numpy as np

from neuroninterp.experiments import EXPERIMENTS, equivalent  # noqa: F401 (for the scripts)

QUICK_POINTS = 3_000


# -- data and training ----------------------------------------------------------------------
# The data of each experiment and the torch trainer are the package's own (the demo and the
# paper benchmark train with them too), so every script here trains the same way:
#   experiment_data(number, n, seed) -> X, y     labelled as in the paper (7, 8: A vs B)
#   elu_mlp(n_in, hidden, n_out, dropout)        Linear-ELU blocks, linear output
#   train_torch(model, X, y, loss="bce"|"mse")   80/20 split, Adam, ReduceLROnPlateau(0.5),
#                                                early stopping, best weights restored
from neuroninterp._demo import elu_mlp, experiment_data, split, train_torch  # noqa: E402,F401

# The paper benchmark's points, network (5x128 ELU), training settings and most epochs, so a
# script's result matches the benchmark's row for the same seed.
from neuroninterp._paper import FULL_EPOCHS, FULL_POINTS, HIDDEN, TRAINING  # noqa: E402,F401


def one_thread() -> None:
    """Use one torch thread: fastest for these small networks, and it never oversubscribes
    a busy machine (two threads on two shared cores can be many times slower)."""
    import torch

    torch.set_num_threads(1)


def train(model: Any, X: np.ndarray, y: np.ndarray, args: argparse.Namespace,
          **options: Any) -> dict[str, Any]:
    """``train_torch`` with the script's epochs and seed and the paper benchmark's settings
    (batch 128, Adam 3e-3, weight decay 1e-5, patience 30; ``options`` override them),
    printing what it did."""
    info = train_torch(model, X, y, max_epochs=args.epochs, seed=args.seed,
                       **{**TRAINING, **options})
    acc = f", validation accuracy {info['val_accuracy']:.4f}" if "val_accuracy" in info else ""
    print(f"trained {info['epochs']} epochs in {info['seconds']:.1f} s: validation loss "
          f"{info['val_loss']:.4g}{acc}", flush=True)
    return info


# -- command line and printout ------------------------------------------------------------


def parse_args(description: str, argv: list[str] | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None,
               epochs: tuple[int, int] = (FULL_EPOCHS, 15),
               budget: tuple[float, float] = (60.0, 8.0)) -> argparse.Namespace:
    """The options every example takes; ``--quick`` fills in small defaults.
    ``epochs``, ``budget``: the default most epochs and search seconds (full, quick)."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true",
                   help="small and fast: fewer points and epochs, a short search (for CI)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--points", type=int, help=f"samples drawn (default {FULL_POINTS}, quick "
                                              f"{QUICK_POINTS})")
    p.add_argument("--epochs", type=int,
                   help=f"most training epochs (default {epochs[0]}, quick {epochs[1]})")
    p.add_argument("--time-budget", type=float,
                   help=f"search seconds (default {budget[0]:g}, quick {budget[1]:g})")
    p.add_argument("--n-jobs", type=int, help="search worker processes (default: all cores, "
                                              "quick 1)")
    p.add_argument("--out", help="also write the report files (report.json/.md/.html) here")
    if extra is not None:
        extra(p)
    args = p.parse_args(argv)
    if args.points is None:
        args.points = QUICK_POINTS if args.quick else FULL_POINTS
    if args.epochs is None:
        args.epochs = epochs[1] if args.quick else epochs[0]
    if args.time_budget is None:
        args.time_budget = budget[1] if args.quick else budget[0]
    if args.n_jobs is None and args.quick:
        args.n_jobs = 1
    return args


def search_options(args: argparse.Namespace) -> dict[str, Any]:
    """The search options the scripts pass on (``interpret_module`` / ``InterpretCallback``)."""
    return {"time_budget": args.time_budget, "seed": args.seed, "n_jobs": args.n_jobs}


def show(result: Any, truth: str | None = None, args: argparse.Namespace | None = None) -> bool:
    """Print the chosen formula, the rule and its fidelity (and, given the truth, whether
    the formula is equivalent to it at the network's band points). Returns that verdict
    (True when there is no truth to compare with)."""
    import sympy

    from neuroninterp._report import display_text

    print()
    result.report()
    print()
    best = result.best
    print(f"formula: {display_text(best) if best is not None else 'none found'}")
    if best is None:
        if result.front:
            closest = max(result.front, key=lambda c: c.mean_cosine)
            print(f"closest formula: {display_text(closest)}   (mean cosine "
                  f"{closest.mean_cosine:.3f}: too low to count as an explanation)")
        for note in result.notes:
            print(f"  note: {note}")
        return False
    rule = result.rule
    if rule is not None:
        print(f"rule: {rule.text(display_text(best))}")
        if rule.fidelity is not None:
            print(f"fidelity: {rule.fidelity:.4f} (share of {rule.n_points} points where the rule "
                  "and the network agree)")
        elif rule.spearman is not None:
            print(f"rank correlation with the unit: {rule.spearman:.4f}")
    ok = True
    if truth is not None and result.gradient_set is not None:
        names = result.feature_names
        symbols = {n: sympy.Symbol(n, real=True) for n in names}
        expr = sympy.sympify(truth, locals=symbols)
        ok, passing, _ = equivalent(best.expr, expr, names, result.gradient_set.X,
                                    cosine=0.999, fraction=0.99)
        print(f"equivalent to {truth}: {'yes' if ok else 'no'} (gradient cosine >= 0.999 at "
              f"{100 * passing:.1f} % of the points searched)")
    if args is not None and args.out:
        print(f"report files: {result.save_report(args.out)}")
    return ok
