"""A hidden neuron: what does a one-unit bottleneck inside a regression network encode?

The network regresses y = sin(z), z = x1 x2 + x3, on [-0.7, 0.7]^3, through a layer of a
single unit named "bottleneck". Everything the output needs must pass through that unit,
so it encodes z - through some monotone distortion the network chose. Explained by its
input-gradient direction (``layer="bottleneck"``), the unit reads x1*x2 + x3. No band
filter applies: the unit is not a classifier logit.

    python examples/hidden_neuron.py            # about two minutes
    python examples/hidden_neuron.py --quick    # seconds
"""

from collections import OrderedDict

import numpy as np
from _common import one_thread, parse_args, search_options, show, train
from torch import nn

from neuroninterp_torch import interpret_module

TRUTH = "x1*x2 + x3"


def bottleneck_net(width: int = 64) -> nn.Sequential:
    return nn.Sequential(OrderedDict([
        ("encoder1", nn.Linear(3, width)), ("act1", nn.ELU()),
        ("encoder2", nn.Linear(width, width)), ("act2", nn.ELU()),
        ("bottleneck", nn.Linear(width, 1)),  # the one unit we explain
        ("decoder1", nn.Linear(1, width)), ("act3", nn.ELU()),
        ("decoder2", nn.Linear(width, width)), ("act4", nn.ELU()),
        ("output", nn.Linear(width, 1)),
    ]))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv, epochs=(100, 15))
    one_thread()
    X = np.random.default_rng(args.seed).uniform(-0.7, 0.7, size=(args.points, 3))
    y = np.sin(X[:, 0] * X[:, 1] + X[:, 2])
    model = bottleneck_net()
    train(model, X, y, args, loss="mse", weight_decay=0.0, lr=3e-3)
    result = interpret_module(model, X, layer="bottleneck", unit=0, **search_options(args))
    show(result, TRUTH, args)


if __name__ == "__main__":
    main()
