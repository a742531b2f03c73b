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

    p = sub.add_parser("report", help="show a saved interpretation (report.json) again, or "
                                      "write it as HTML/Markdown")
    p.add_argument("path", help="a report.json written by save_report() or Interpretation.save()")
    p.add_argument("--html", metavar="DIR", help="write DIR/report.html (self-contained)")
    p.add_argument("--md", metavar="DIR", help="write DIR/report.md with its PNG plots")
    p.add_argument("--out", metavar="DIR", help="write report.json, report.md and report.html")
    p.add_argument("--quiet", action="store_true", help="do not print the console report")
    p.set_defaults(func=cmd_report)

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
