"""Leaving a model exactly as it was found.

``preserved_state(model)`` records every submodule's train/eval flag and every
parameter's ``requires_grad`` flag and ``.grad`` tensor, and puts them back on
exit, also when an error escapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn


@contextmanager
def preserved_state(model: nn.Module) -> Iterator[None]:
    """Restore train/eval flags, ``requires_grad`` and ``.grad`` of ``model`` on exit.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 1), torch.nn.Dropout()).train()
    >>> with preserved_state(net):
    ...     _ = net.eval()
    >>> net.training, net[1].training
    (True, True)
    """
    training = [(m, m.training) for m in model.modules()]
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    grads = [p.grad for p in params]
    try:
        yield
    finally:
        for m, was_training in training:
            m.training = was_training  # set directly: .train() would recurse into children
        for p, flag, grad in zip(params, flags, grads):
            if p.requires_grad != flag:
                p.requires_grad_(flag)
            if p.grad is not grad:
                p.grad = grad
