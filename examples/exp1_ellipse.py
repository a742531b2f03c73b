"""Experiment 1 of Wetzel's paper: the class boundary x1^2 + 2 x2^2 = 1 on [-1, 1)^2.

An ELU network learns the classes from 10,000 noisy labels; its logit is explained by
the direction of its input gradient. Expected: x1**2 + 2*x2**2 (exact in the paper).

    python examples/exp1_ellipse.py            # about two minutes
    python examples/exp1_ellipse.py --quick    # seconds
"""

from _common import (
    EXPERIMENTS,
    HIDDEN,
    elu_mlp,
    experiment_data,
    one_thread,
    parse_args,
    search_options,
    show,
    train,
)

from neuroninterp_torch import interpret_module

EXPERIMENT = 1


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    one_thread()
    X, y = experiment_data(EXPERIMENT, args.points, args.seed)   # 10,000 points, 1 % label noise
    model = elu_mlp(X.shape[1], HIDDEN)                          # 5x128 ELU, linear logit
    train(model, X, y, args)                                     # Adam, 80/20, early stopping
    result = interpret_module(model, X, **search_options(args))  # the logit's gradient direction
    show(result, EXPERIMENTS[EXPERIMENT].truth, args)            # formula, rule, fidelity


if __name__ == "__main__":
    main()
