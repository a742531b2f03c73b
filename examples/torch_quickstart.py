"""Train a small PyTorch classifier on experiment 1 (label: x1^2 + 2 x2^2 > 1) and
ask neuroninterp what its logit computes - once after training with
``interpret_module``, once from gradients collected during training with
``NeuronProbe``.

    python examples/torch_quickstart.py --time-budget 20
"""

from __future__ import annotations

import argparse

import torch
from torch import nn

from neuroninterp.experiments import EXPERIMENTS
from neuroninterp_torch import NeuronProbe, interpret_module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--time-budget", type=float, default=20.0)
    parser.add_argument("--quick", action="store_true",
                        help="a short run for CI: fewer points and epochs, a 5 s search")
    args = parser.parse_args()

    exp = EXPERIMENTS[1]
    if args.quick:
        args.points, args.epochs, args.time_budget = 1500, 20, 5.0
    X = exp.sample(args.points, seed=1)
    y = exp.labels(X, seed=2)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 64), nn.ELU(), nn.Linear(64, 64), nn.ELU(),
                        nn.Linear(64, 1))
    model = nn.Sequential(net, nn.Sigmoid())  # predicts probabilities; the logit is interpreted
    Xt = torch.tensor(X, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.float32)[:, None]
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    with NeuronProbe(model, max_rows=3000) as probe:
        for epoch in range(args.epochs):
            for step, idx in enumerate(torch.randperm(len(Xt)).split(100)):
                optimizer.zero_grad()
                nn.functional.binary_cross_entropy(model(Xt[idx]), yt[idx]).backward()
                optimizer.step()
                if epoch >= args.epochs - 15 and step % 3 == 0:  # the trained network only
                    probe.collect(Xt[idx])
        print(f"truth: {exp.truth}\n\n== NeuronProbe (collected during training) ==")
        show(probe.interpret(time_budget=args.time_budget))

    print("\n== interpret_module (after training) ==")
    show(interpret_module(model, X, time_budget=args.time_budget))


def show(result) -> None:
    """Print the report and the chosen formula (or the closest one, said as such)."""
    result.report()
    if result.best is not None:
        print(f"formula: {result.best}")
    elif result.front:
        print(f"closest formula: {result.front[-1]}  (mean cosine {result.front[-1].mean_cosine:.3f})")


if __name__ == "__main__":
    main()
