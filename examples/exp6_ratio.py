"""Experiment 6 of Wetzel's paper: the class boundary
x1 x2 / ((x3 - x4)^2 + (x5 - x6)^2) = 1 on [0, 2)^6.

An ELU network learns the classes from 10,000 noisy labels; its logit is explained by
the direction of its input gradient.

Expected: x1*x2/((x3 - x4)**2 + (x5 - x6)**2). The hardest case: the paper's search failed here
(it found a subtraction instead of the division).

    python examples/exp6_ratio.py            # a few minutes at most
    python examples/exp6_ratio.py --quick    # seconds
"""

from _common import (
    EXPERIMENTS,
    FULL_EPOCHS,
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

EXPERIMENT = 6


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv, epochs=(FULL_EPOCHS, 30))  # six inputs: a longer quick run
    one_thread()
    X, y = experiment_data(EXPERIMENT, args.points, args.seed)
    model = elu_mlp(X.shape[1], HIDDEN)
    train(model, X, y, args)
    result = interpret_module(model, X, **search_options(args))
    show(result, EXPERIMENTS[EXPERIMENT].truth, args)


if __name__ == "__main__":
    main()
