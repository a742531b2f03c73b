"""Experiment 7 of Wetzel's paper: two features that separate the classes equally well.

Class A: x1 x2 > 1 and x3 x4 > 1; class B: x1 x2 < 1 and x3 x4 < 1, on [0, 2)^4 (other
points are dropped). Either product alone separates the classes. The point of the
experiment: the method reports what *the network* uses - in the paper, x1 x2 + x3 x4 -
while symbolic classification of the labels (the baseline, run here too) picks one
product.

    python examples/exp7_two_products.py            # a few minutes
    python examples/exp7_two_products.py --quick    # seconds
"""

from _common import HIDDEN, elu_mlp, experiment_data, one_thread, parse_args, search_options, show, train

import neuroninterp as ni
from neuroninterp._paper import describe_experiment_7
from neuroninterp._report import display_text
from neuroninterp_torch import interpret_module

EXPERIMENT = 7


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv)
    one_thread()
    X, y = experiment_data(EXPERIMENT, args.points, args.seed)
    print(f"{len(X)} points in class A or B ({int(y.sum())} in A)")
    model = elu_mlp(X.shape[1], HIDDEN)
    train(model, X, y, args)
    result = interpret_module(model, X, **search_options(args))
    show(result, None, args)
    gs = result.gradient_set
    best = result.best
    print(f"network: {describe_experiment_7(best.expr if best else None, gs)} "
          "(cos: mean cosine of the formula with the network's gradients at its band points)")

    baseline = ni.classify(X, y, **search_options(args))
    text = display_text(baseline.best) if baseline.best is not None else "none found"
    print(f"baseline (symbolic classification of the labels): {text}")
    print(f"baseline: {describe_experiment_7(baseline.best.expr if baseline.best else None, gs, False)}")


if __name__ == "__main__":
    main()
