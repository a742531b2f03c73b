"""neuroninterp_torch: explain a unit of a PyTorch model as a closed-form formula.

>>> from neuroninterp_torch import interpret_module
>>> result = interpret_module(model, X, time_budget=30)   # doctest: +SKIP
>>> result.report()                                        # doctest: +SKIP

``interpret_module`` explains one unit from a set of points; ``NeuronProbe``
collects gradients during a training loop; ``neuroninterp_torch.lightning``
has a Lightning callback. Importing this package without PyTorch raises an
ImportError saying how to install it.
"""

from . import _imports  # noqa: F401  (fails early, with an install hint, without torch)
from ._gradients import UnitGradients
from ._interpret_module import interpret_module, module_gradient_set
from ._probe import NeuronProbe
from ._state import preserved_state
from ._units import class_boundary

__all__ = [
    "NeuronProbe",
    "UnitGradients",
    "class_boundary",
    "interpret_module",
    "module_gradient_set",
    "preserved_state",
]
