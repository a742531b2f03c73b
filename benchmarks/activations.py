"""How closely a trained network's gradient directions follow the truth, by activation.

For each experiment 1-6, activation and seed: the paper benchmark's data, network size and
training (``neuroninterp._paper``), then, at the network's band points (the training inputs
with ``1e-4 <= sigmoid(logit) <= 1 - 1e-4``), the share of points where the network's
gradient has cosine >= 0.999 with the truth's (the paper benchmark's judge), the same share
among the points with |logit| < 1, 1-4 and above 4 (how it changes away from the decision
boundary, where fewer labels constrain the network), and the truth's loss against the
network. No search is run: this measures what any formula search can
hope to find, since a formula that follows the network only passes the judge where the
network follows the truth.

    python benchmarks/activations.py                                  # 6 experiments x 3 x 5 seeds
    python benchmarks/activations.py --experiments 3 4 --seeds 2 --activations elu gelu
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np

ACTIVATIONS = {"elu": "ELU", "gelu": "GELU", "silu": "SiLU"}  # name -> torch.nn class


LOGIT_EDGES = (0.0, 1.0, 4.0, np.inf)  # |logit| ranges of the breakdown


def agreement(number: int, seed: int, activation: str
              ) -> tuple[float, list[float], float, float]:
    """(share of band points passing, the same share per |logit| range of ``LOGIT_EDGES``,
    truth's loss, training seconds) for one network."""
    import torch
    from torch import nn

    from neuroninterp._demo import experiment_data, split, train_torch
    from neuroninterp._paper import COSINE, FULL_EPOCHS, FULL_POINTS, HIDDEN, TRAINING, _gradients
    from neuroninterp.experiments import EXPERIMENTS
    from neuroninterp_torch import module_gradient_set

    e = EXPERIMENTS[number]
    X, y = experiment_data(number, FULL_POINTS, seed)
    train, _ = split(len(X), seed)
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    width = X.shape[1]
    for h in HIDDEN:
        layers += [nn.Linear(width, h), getattr(nn, ACTIVATIONS[activation])()]
        width = h
    model = nn.Sequential(*layers, nn.Linear(width, 1))
    info = train_torch(model, X, y, max_epochs=FULL_EPOCHS, seed=seed, **TRAINING)
    gs = module_gradient_set(model, X[train], feature_names=e.names)
    keep = gs.has_direction
    net = gs.gradients[keep] / np.linalg.norm(gs.gradients[keep], axis=1, keepdims=True)
    cos = np.sum(net * _gradients(e.expr, e.names, gs.X[keep]), axis=1)
    logit = np.abs(np.ravel(gs.values)[keep])
    ranges = [(logit >= lo) & (logit < hi) for lo, hi in zip(LOGIT_EDGES, LOGIT_EDGES[1:])]
    by_logit = [float(np.mean(cos[r] >= COSINE)) if r.any() else float("nan") for r in ranges]
    return float(np.mean(cos >= COSINE)), by_logit, float(np.mean(2 - 2 * cos)), info["seconds"]


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--activations", nargs="+", default=list(ACTIVATIONS),
                        choices=list(ACTIVATIONS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny nets: one thread is fastest

    print("| exp | activation | band points passing (per seed) | at abs(logit) < 1 / 1-4 / > 4 "
          "(per seed) | truth's loss, median | train s |")
    print("|---:|:---|:---|:---|---:|---:|")
    for number in args.experiments:
        for activation in args.activations:
            runs = [agreement(number, seed, activation) for seed in range(args.seeds)]
            shares = ", ".join(f"{100 * r[0]:.0f} %" for r in runs)
            by_logit = ", ".join("/".join(f"{100 * v:.0f}" for v in r[1]) for r in runs)
            print(f"| {number} | {activation} | {shares} | {by_logit} | "
                  f"{statistics.median(r[2] for r in runs):.5f} | "
                  f"{sum(r[3] for r in runs):.0f} |", flush=True)


if __name__ == "__main__":
    main()
