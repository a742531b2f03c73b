"""neuroninterp: explain what a neuron has learned as a closed-form formula.

The neuron's input-gradient direction is matched by symbolic regression: the
result is the simplest formula whose level sets are the neuron's.

>>> import neuroninterp as ni
>>> from neuroninterp.experiments import EXPERIMENTS
>>> gs = EXPERIMENTS[1].gradient_set(500)            # exact gradients of x1^2 + 2 x2^2
>>> result = ni.interpret(gs, time_budget=30)        # doctest: +SKIP
>>> result.best.expr                                  # doctest: +SKIP
x1**2 + 2*x2**2
"""

from ._gradient_set import GradientReservoir, GradientSet
from ._interpret import classify, interpret
from ._interpretation import Candidate, Interpretation
from ._options import SearchOptions

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "GradientReservoir",
    "GradientSet",
    "Interpretation",
    "SearchOptions",
    "classify",
    "interpret",
    "__version__",
]
