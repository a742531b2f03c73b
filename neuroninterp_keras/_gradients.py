"""Per-sample input gradients of one scalar unit, for each Keras 3 backend.

This is the only backend-specific code of the adapter: ``tf.GradientTape`` on
tensorflow, ``jax.vjp`` on jax and ``torch.autograd.grad`` on torch, chosen by
``keras.backend.backend()``. The unit function maps a batch of inputs to one
scalar per sample; since samples do not interact in inference mode, the
gradient of the batch sum is the batch of per-sample gradients. Nothing is
traced, compiled or cached: each call builds and drops its own tape or graph,
and only the input gradient is asked for, so no weight's ``.grad`` is touched.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from ._imports import SUPPORTED_BACKENDS

UnitFunction = Callable[[Any], Any]  # backend tensor (batch, d) -> backend tensor (batch,)

DEFAULT_BATCH = 512


def backend_name() -> str:
    """The running Keras backend, or a clear error when the adapter does not support it."""
    name = keras.backend.backend()
    if name not in SUPPORTED_BACKENDS:
        raise RuntimeError(
            f"neuroninterp_keras computes input gradients on the Keras backends "
            f"{list(SUPPORTED_BACKENDS)}, but Keras runs on {name!r}; set KERAS_BACKEND to one "
            "of them before importing keras"
        )
    return name


def unit_gradients(
    fn: UnitFunction, X: np.ndarray, batch_size: int = DEFAULT_BATCH
) -> tuple[np.ndarray, np.ndarray]:
    """Values ``(n,)`` and input gradients ``(n, d)`` of ``fn`` at the rows of ``X``.

    >>> import keras, numpy as np
    >>> fn = lambda x: keras.ops.sum(x ** 2, axis=1)
    >>> v, g = unit_gradients(fn, np.array([[1.0, 2.0]]))  # doctest: +SKIP
    >>> v.tolist(), g.tolist()  # doctest: +SKIP
    ([5.0], [[2.0, 4.0]])
    """
    step = {"tensorflow": _tensorflow_step, "jax": _jax_step, "torch": _torch_step}[backend_name()]
    dtype = keras.config.floatx()
    values, grads = [], []
    for start in range(0, len(X), batch_size):
        v, g = step(fn, X[start:start + batch_size], dtype)
        values.append(v)
        grads.append(g)
    return (np.concatenate(values).astype(np.float64),
            np.concatenate(grads).astype(np.float64))


def forward(fn: Callable[[Any], Any], X: np.ndarray, batch_size: int = DEFAULT_BATCH) -> np.ndarray:
    """``fn`` evaluated at the rows of ``X`` without gradients, as a numpy array."""
    name = backend_name()
    dtype = keras.config.floatx()
    out = []
    for start in range(0, len(X), batch_size):
        x = keras.ops.convert_to_tensor(X[start:start + batch_size], dtype=dtype)
        if name == "torch":
            import torch

            with torch.no_grad():
                y = fn(x)
        else:
            y = fn(x)
        out.append(np.asarray(keras.ops.convert_to_numpy(y), dtype=np.float64))
    return np.concatenate(out)


def per_sample(y: Any, batch: int) -> Any:
    """Check that a unit returned one scalar per sample; squeeze a trailing 1."""
    shape = tuple(int(s) for s in keras.ops.shape(y))
    if len(shape) == 2 and shape[1] == 1:
        return y[:, 0]
    if shape != (batch,):
        raise ValueError(
            f"the unit must give one scalar per sample, shape ({batch},) for a batch of {batch}, "
            f"but it gave shape {shape}; select one entry (unit=int or index tuple) or make "
            "unit_fn return a 1-D tensor"
        )
    return y


def _tensorflow_step(fn: UnitFunction, batch: np.ndarray, dtype: str):
    import tensorflow as tf

    x = tf.convert_to_tensor(batch, dtype=dtype)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(x)
        y = per_sample(fn(x), len(batch))
    g = tape.gradient(y, x)  # gradient of the sum over the batch
    g = np.zeros(batch.shape) if g is None else g.numpy()
    return np.asarray(y.numpy()), np.asarray(g)


def _jax_step(fn: UnitFunction, batch: np.ndarray, dtype: str):
    import jax
    import jax.numpy as jnp

    x = jnp.asarray(batch, dtype=dtype)
    y, pullback = jax.vjp(lambda t: per_sample(fn(t), len(batch)), x)
    (g,) = pullback(jnp.ones_like(y))
    return np.asarray(y), np.asarray(g)


def _torch_step(fn: UnitFunction, batch: np.ndarray, dtype: str):
    import torch

    x = keras.ops.convert_to_tensor(batch, dtype=dtype).detach().requires_grad_(True)
    with torch.enable_grad():
        y = per_sample(fn(x), len(batch))
        if y.requires_grad:
            (g,) = torch.autograd.grad(y.sum(), x, allow_unused=True)
        else:  # the unit does not depend on the input at all
            g = None
    g = torch.zeros_like(x) if g is None else g
    return y.detach().cpu().numpy(), g.detach().cpu().numpy()
