"""Recovery benchmark of the search on exact (or noisy) gradients of the
published experiments 1-6.

For each experiment and seed: 1000 uniform points of the domain, the truth's
exact unit gradients (optionally plus Gaussian noise per component,
renormalized), ``neuroninterp.interpret`` with default operators. The chosen
formula is *equivalent* when, at 2000 fresh uniform points, the signed cosine
between its gradient and the truth's is >= 0.9999 (0.999 with noise) at
>= 99 % of the points, and its ``sympy.count_ops`` is at most 3 above the
truth's.

    python benchmarks/search_recovery.py                       # 6 experiments x 10 seeds
    python benchmarks/search_recovery.py --noise 0.05          # noisy targets
    python benchmarks/search_recovery.py --experiments 1 6 --seeds 3
"""

from __future__ import annotations

import argparse
import statistics

import neuroninterp as ni
from neuroninterp.experiments import EXPERIMENTS, equivalent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--experiments", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument("--time-budget", type=float, default=60.0)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--n-jobs", type=int, default=None)
    args = parser.parse_args()
    cosine = 0.999 if args.noise else 0.9999

    print(f"# search recovery: {args.points} points, time_budget={args.time_budget:g} s, "
          f"noise={args.noise:g}, cosine >= {cosine}, n_jobs={args.n_jobs or 'all cores'}\n")
    print("| exp | seed | equivalent | chosen formula | seconds | stopped |")
    print("|----:|-----:|:----------:|:---------------|--------:|:--------|")
    summary = []
    for number in args.experiments:
        exp = EXPERIMENTS[number]
        times, wins = [], 0
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            gs = exp.gradient_set(args.points, seed=seed, noise=args.noise)
            result = ni.interpret(gs, seed=seed, time_budget=args.time_budget,
                                  n_jobs=args.n_jobs, progress=False)
            fresh = exp.sample(2000, seed=10_000 + seed)
            ok = result.best is not None and equivalent(
                result.best.expr, exp.expr, exp.names, fresh, cosine=cosine)[0]
            wins += ok
            times.append(result.stats["seconds"])
            print(f"| {number} | {seed} | {'yes' if ok else 'no'} | `{result.best}` | "
                  f"{result.stats['seconds']:.1f} | {result.stats['stopped']} |", flush=True)
        summary.append((number, exp.truth, wins, len(times), statistics.median(times)))
    print("\n| exp | truth | equivalent | median search seconds |")
    print("|----:|:------|-----------:|----------------------:|")
    for number, truth, wins, n, med in summary:
        print(f"| {number} | `{truth}` | {wins}/{n} | {med:.1f} |")


if __name__ == "__main__":
    main()
