"""Experiment 5 of Wetzel's paper: the class boundary x1 exp(-(x2^2 + x3^2)/2) = 0.2,
with x1 in [0, 2) and x2, x3 in [-2, 2).

An ELU network learns the classes from 10,000 noisy labels; its logit is explained by
the direction of its input gradient.

Expected: x1*exp(-(x2**2 + x3**2)/2) or an equivalent such as log(x1) - (x2**2 + x3**2)/2; the
paper's search stopped at x1 exp(-0.479 (x2^2 + x3^2)), in a flat part of the front.

    python examples/exp5_gaussian.py            # a few minutes at most
    python examples/exp5_gaussian.py --quick    # seconds
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

EXPERIMENT = 5


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    one_thread()
    X, y = experiment_data(EXPERIMENT, args.points, args.seed)
    model = elu_mlp(X.shape[1], HIDDEN)
    train(model, X, y, args)
    result = interpret_module(model, X, **search_options(args))
    show(result, EXPERIMENTS[EXPERIMENT].truth, args)


if __name__ == "__main__":
    main()
