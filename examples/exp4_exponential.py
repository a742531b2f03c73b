"""Experiment 4 of Wetzel's paper: the class boundary exp(x1 - x2) - pi x3 = 1 on [-1, 1)^3.

An ELU network learns the classes from 10,000 noisy labels; its logit is explained by
the direction of its input gradient.

Expected: exp(x1 - x2) - pi*x3, or a formula with the same level sets near the boundary (the
paper found it only up to a monotone map).

    python examples/exp4_exponential.py            # a few minutes at most
    python examples/exp4_exponential.py --quick    # seconds
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

EXPERIMENT = 4


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
