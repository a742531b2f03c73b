"""Experiment 2 of Wetzel's paper: the class boundary x1^2 + 3 x1 x2 + 2 x2^2 = 5 on [-2, 0)^2.

An ELU network learns the classes from 10,000 noisy labels; its logit is explained by
the direction of its input gradient.

Expected: x1**2 + 3*x1*x2 + 2*x2**2 or an equivalent form. The paper's network gave only the
linear approximation -0.712 x1 + x2: near the boundary the conic is almost straight.

    python examples/exp2_quadratic_form.py            # a few minutes at most
    python examples/exp2_quadratic_form.py --quick    # seconds
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

EXPERIMENT = 2


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
