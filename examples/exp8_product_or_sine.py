"""Experiment 8 of Wetzel's paper: which of two features does the network use?

Class A: x1 x2 + x3 > 2 and sin(x2 x3) > 0.5; class B: both false, on [0, 2)^3 (other
points are dropped). The paper's network used roughly x1 x2 + x3 + sin(x2 x3). Printed
here: the formula found, and how well the network's gradient directions agree with the
paper's formula and with each class feature alone (mean cosine at its band points).

    python examples/exp8_product_or_sine.py            # a few minutes
    python examples/exp8_product_or_sine.py --quick    # seconds
"""

from _common import HIDDEN, elu_mlp, experiment_data, one_thread, parse_args, search_options, show, train

from neuroninterp._paper import describe_experiment_8
from neuroninterp_torch import interpret_module

EXPERIMENT = 8


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    one_thread()
    X, y = experiment_data(EXPERIMENT, args.points, args.seed)
    print(f"{len(X)} points in class A or B ({int(y.sum())} in A)")
    model = elu_mlp(X.shape[1], HIDDEN)
    train(model, X, y, args)
    result = interpret_module(model, X, **search_options(args))
    show(result, None, args)
    best = result.best
    print(f"network: {describe_experiment_8(best.expr if best else None, result.gradient_set)}")


if __name__ == "__main__":
    main()
