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
    p.add_argument("--n-jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.set_defaults(func=cmd_truth)

    # -- further subcommands (report, demo, paper) are registered below --------

    p = sub.add_parser("report", help="show a saved interpretation (report.json) again, or "
                                      "write it as HTML/Markdown")
    p.add_argument("path", help="a report.json written by save_report() or Interpretation.save()")
    p.add_argument("--html", metavar="DIR", help="write DIR/report.html (self-contained)")
    p.add_argument("--md", metavar="DIR", help="write DIR/report.md with its PNG plots")
    p.add_argument("--out", metavar="DIR", help="write report.json, report.md and report.html")
    p.add_argument("--quiet", action="store_true", help="do not print the console report")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="the main job end to end: train a small torch classifier on "
                                    "experiment 1, explain its logit, write the report")
    p.add_argument("--out", metavar="DIR", default="neuroninterp-demo",
                   help="directory for report.json/.md/.html (default ./neuroninterp-demo)")
    p.add_argument("--time-budget", type=float, default=30.0, help="search seconds (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=40, help="most training epochs (default 40)")
    p.add_argument("--n-jobs", type=int, default=None,
                   help="search worker processes (default: all cores)")
    p.set_defaults(func=cmd_demo)

    from ._paper import FULL_BUDGET, FULL_EPOCHS, FULL_POINTS, QUICK_BUDGET, QUICK_EPOCHS, QUICK_POINTS

    p = sub.add_parser("paper", help="benchmark: experiments 1-8 for several seeds, network "
                                     "interpretation vs symbolic classification, one table")
    p.add_argument("--experiments", type=_int_list, default=list(range(1, 9)),
                   help="comma-separated experiment numbers 1-8 (default: all)")
    p.add_argument("--seeds", type=int, default=5,
                   help="seeds per experiment, 0..N-1 (default 5)")
    p.add_argument("--seed-list", type=_int_list, help="explicit seeds, e.g. 3,4 (replaces --seeds)")
    p.add_argument("--time-budget", type=float,
                   help="search seconds for the network and the baseline each "
                        f"(default {FULL_BUDGET:g}, quick {QUICK_BUDGET:g})")
    p.add_argument("--points", type=int,
                   help=f"samples per experiment (default {FULL_POINTS}, quick {QUICK_POINTS})")
    p.add_argument("--epochs", type=int,
                   help=f"most training epochs (default {FULL_EPOCHS}, quick {QUICK_EPOCHS})")
    p.add_argument("--n-jobs", type=int, help="search worker processes (default: all cores)")
    p.add_argument("--no-baseline", action="store_true", help="skip symbolic classification")
    p.add_argument("--quick", action="store_true",
                   help="a smoke run: few points and epochs, a short search")
    p.set_defaults(func=cmd_paper)

    return parser


def cmd_truth(args: argparse.Namespace) -> int:
    import neuroninterp as ni
    from neuroninterp.experiments import EXPERIMENTS

    exp = EXPERIMENTS[args.experiment]
    gs = exp.gradient_set(args.points, seed=args.seed)
    print(f"experiment {exp.number}: exact gradients of {exp.truth} at {len(gs)} points")
    result = ni.interpret(gs, time_budget=args.time_budget, seed=args.seed, n_jobs=args.n_jobs)
    result.report()
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from neuroninterp import Interpretation

    path = Path(args.path)
    if not path.is_file():
        print(f"neuroninterp report: no such file {str(path)!r} (give a report.json)",
              file=sys.stderr)
        return 2
    try:
        interp = Interpretation.load(path)
    except (ValueError, KeyError, TypeError) as err:
        print(f"neuroninterp report: cannot read {path}: {err}", file=sys.stderr)
        return 2
    if not args.quiet:
        interp.report()
    written = []
    if args.out:
        written.append(interp.save_report(args.out))
    if args.html or args.md:
        from neuroninterp._report_plots import make_plots

        plots = make_plots(interp)
        if args.html:
            from neuroninterp._report_html import write_html

            written.append(write_html(interp, Path(args.html) / "report.html", plots))
        if args.md:
            from neuroninterp._report_md import write_markdown

            written.append(write_markdown(interp, Path(args.md) / "report.md", plots))
    for w in written:
        print(f"wrote {w}")
    return 0


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") \
            from None
    if not values:
        raise argparse.ArgumentTypeError(f"expected at least one integer, got {text!r}")
    return values


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("neuroninterp demo trains a PyTorch network and needs torch: "
              'pip install -e ".[torch]"', file=sys.stderr)
        return 2
    if not args.time_budget > 0:
        print(f"neuroninterp demo: --time-budget must be a positive number of seconds, got "
              f"{args.time_budget}", file=sys.stderr)
        return 2
    if args.epochs < 1:
        print(f"neuroninterp demo: --epochs must be >= 1, got {args.epochs}", file=sys.stderr)
        return 2
    from neuroninterp._demo import run_demo

    run_demo(args.out, time_budget=args.time_budget, seed=args.seed, epochs=args.epochs,
             n_jobs=args.n_jobs)
    return 0


def cmd_paper(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        print("neuroninterp paper trains PyTorch networks and needs torch: "
              'pip install -e ".[torch]"', file=sys.stderr)
        return 2
    from neuroninterp._paper import run_from_args

    return run_from_args(args)


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
