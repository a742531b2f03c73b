"""Experiment 3 of Wetzel's paper: the class boundary x1^2 + sin(x2 + x3) = 1 on [-2, 0)^3.

An ELU network learns the classes from 10,000 noisy labels; its logit is explained by
the direction of its input gradient.

Expected: x1**2 + sin(x2 + x3) (exact in the paper). The Keras version of this experiment is
exp3_keras.py.

    python examples/exp3_sine.py            # a few minutes at most
    python examples/exp3_sine.py --quick    # seconds
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

EXPERIMENT = 3


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
