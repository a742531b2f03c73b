"""Soft import of PyTorch: the adapter needs it, the core never does.

Importing ``neuroninterp_torch`` without torch installed fails here, at once,
with a message that says how to install it.
"""

from __future__ import annotations

INSTALL_HINT = "pip install 'neuroninterp[torch]'"

try:
    import torch  # noqa: F401
    from torch import nn  # noqa: F401
except ImportError as err:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        f"neuroninterp_torch needs PyTorch, which could not be imported ({err}). "
        f"Install it with: {INSTALL_HINT}"
    ) from err
