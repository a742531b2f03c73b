"""Soft import of Keras 3: the adapter needs it, the core never does.

Importing ``neuroninterp_keras`` without Keras 3 fails here, at once, with a
message that says how to install it.
"""

from __future__ import annotations

INSTALL_HINT = "pip install 'neuroninterp[keras]' plus one backend (torch, jax or tensorflow)"

try:
    import keras
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"neuroninterp_keras needs Keras 3, which could not be imported ({err}). "
        f"Install it with: {INSTALL_HINT}"
    ) from err

if not str(getattr(keras, "__version__", "0")).startswith("3"):  # pragma: no cover
    raise ImportError(
        f"neuroninterp_keras needs Keras 3, found keras {keras.__version__}. "
        f"Install it with: {INSTALL_HINT}"
    )

SUPPORTED_BACKENDS = ("torch", "jax", "tensorflow")
