"""The ``neuroninterp`` console script: one entry point, one subcommand per job.

Each subcommand lives in its own function ``cmd_<name>(args)`` registered in
``build_parser``; heavy imports happen inside the subcommand.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neuroninterp",
        description="Explain what a neuron has learned as a closed-form formula.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("truth", help="interpret the exact gradients of a published experiment")
    p.add_argument("experiment", type=int, choices=range(1, 7), help="experiment number 1-6")
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--time-budget", type=float, default=60.0)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_truth)

    # -- further subcommands (report, demo, paper) are registered below --------

    return parser


def cmd_truth(args: argparse.Namespace) -> int:
    import neuroninterp as ni
    from neuroninterp.experiments import EXPERIMENTS

    exp = EXPERIMENTS[args.experiment]
    gs = exp.gradient_set(args.points, seed=args.seed)
    print(f"experiment {exp.number}: exact gradients of {exp.truth} at {len(gs)} points")
    result = ni.interpret(gs, time_budget=args.time_budget, seed=args.seed)
    result.report()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from neuroninterp import __version__

        print(__version__)
        return 0
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
