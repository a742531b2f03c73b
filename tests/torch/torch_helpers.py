"""Helpers for the PyTorch adapter tests: small ELU networks trained in the test
on data made in the test, and a snapshot of a model's state to check that the
adapter leaves it exactly as it was."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

FAST = {"n_jobs": 1, "progress": False}


def train(net, X, y, loss_fn, epochs: int, lr: float = 3e-3, batch: int = 100, seed: int = 0,
          on_step: Callable | None = None, decay_every: int | None = None):
    """Adam on mini-batches; ``on_step(epoch, step, xb)`` is called after each optimizer step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny nets: one thread is fastest and kind to a shared machine
    try:
        torch.manual_seed(seed)
        Xt = torch.as_tensor(X, dtype=torch.float32)
        yt = torch.as_tensor(y)
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.StepLR(opt, decay_every or epochs + 1, 0.3)
        gen = torch.Generator().manual_seed(seed)
        net.train()
        for epoch in range(epochs):
            perm = torch.randperm(len(Xt), generator=gen)
            for step, i in enumerate(range(0, len(Xt), batch)):
                idx = perm[i:i + batch]
                opt.zero_grad()
                loss_fn(net(Xt[idx]), yt[idx]).backward()
                opt.step()
                if on_step is not None:
                    on_step(epoch, step, Xt[idx])
            sched.step()
    finally:
        torch.set_num_threads(threads)
    return net


def elu_mlp(d_in: int, d_out: int, width: int = 64, seed: int = 0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d_in, width), nn.ELU(), nn.Linear(width, width), nn.ELU(),
                         nn.Linear(width, d_out))


def bce(out, target):
    return nn.functional.binary_cross_entropy_with_logits(out[:, 0], target.float())


class State:
    """Everything the adapter promises not to change: weights and buffers, every
    submodule's training flag, every parameter's requires_grad and .grad."""

    def __init__(self, model) -> None:
        self.model = model
        self.tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.training = [m.training for m in model.modules()]
        self.flags = [p.requires_grad for p in model.parameters()]
        self.grads = [p.grad for p in model.parameters()]
        self.grad_values = [None if g is None else g.clone() for g in self.grads]
        self.hooks = _hook_count(model)

    def assert_unchanged(self) -> None:
        model = self.model
        now = model.state_dict()
        assert now.keys() == self.tensors.keys()
        for k, v in self.tensors.items():
            assert torch.equal(now[k], v), f"{k} changed"
        assert [m.training for m in model.modules()] == self.training
        assert [p.requires_grad for p in model.parameters()] == self.flags
        for p, g, gv in zip(model.parameters(), self.grads, self.grad_values):
            assert p.grad is g
            assert (gv is None) or torch.equal(p.grad, gv)
        assert _hook_count(model) == self.hooks, "a hook was left on the model"


def _hook_count(model) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
               for m in model.modules())


def messy_state(model):
    """Put the model in a state worth checking: train mode but one submodule in eval, one
    parameter frozen, and .grad present on the others (as between backward and step)."""
    model.train()
    modules = list(model.modules())
    modules[-1].eval()
    params = list(model.parameters())
    params[0].requires_grad_(False)
    for p in params[1:]:
        p.grad = torch.full_like(p, 0.5)
    return model


def unit_truth_cosine(gradients: np.ndarray, truth_gradients: np.ndarray) -> np.ndarray:
    t = truth_gradients / np.linalg.norm(truth_gradients, axis=1, keepdims=True)
    return np.sum(t * gradients, axis=1)
