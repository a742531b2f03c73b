"""neuroninterp_keras: explain a unit of a Keras 3 model as a closed-form formula.

>>> from neuroninterp_keras import InterpretCallback
>>> cb = InterpretCallback(X_train, time_budget=30)          # doctest: +SKIP
>>> model.fit(X_train, y_train, epochs=20, callbacks=[cb])  # doctest: +SKIP
>>> cb.result.report()                                       # doctest: +SKIP

Works on the torch, jax and tensorflow backends (``KERAS_BACKEND``). Importing
this package without Keras 3 raises an ImportError saying how to install it.
"""

from . import _imports  # noqa: F401  (fails early, with an install hint, without keras)
from ._callback import InterpretCallback
from ._gradients import unit_gradients

__all__ = ["InterpretCallback", "unit_gradients"]
