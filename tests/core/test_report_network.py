"""Experiment 1 end to end on a trained network: a small ELU classifier is
trained with torch in the test, its input gradients and logits are taken with
torch.autograd (not through the adapter), and the interpretation must recover
the formula, the threshold and a faithful rule."""

from __future__ import annotations

import numpy as np
import pytest

import neuroninterp as ni
from neuroninterp.experiments import EXPERIMENTS, equivalent


def _train_experiment_1(n: int = 3000, seed: int = 1) -> ni.GradientSet:
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        e = EXPERIMENTS[1]
        X = e.sample(n, seed=seed)
        y = e.labels(X, seed=seed)
        Xt = torch.tensor(X, dtype=torch.float32)
        yt = torch.tensor(y, dtype=torch.float32)
        net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ELU(),
                                  torch.nn.Linear(32, 32), torch.nn.ELU(), torch.nn.Linear(32, 1))
        steps = 500  # full-batch Adam: about 2 s on one core
        opt = torch.optim.Adam(net.parameters(), lr=1e-2, weight_decay=1e-3)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
        loss_fn = torch.nn.BCEWithLogitsLoss()
        for _ in range(steps):
            opt.zero_grad()
            loss_fn(net(Xt)[:, 0], yt).backward()
            opt.step()
            schedule.step()
        Xg = Xt.clone().requires_grad_(True)
        logit = net(Xg)[:, 0]
        (grad,) = torch.autograd.grad(logit.sum(), Xg)
        accuracy = float(((logit > 0).float() == yt).float().mean())
    finally:
        torch.set_num_threads(threads)
    assert accuracy > 0.98, f"the network did not learn experiment 1 (accuracy {accuracy:.3f})"
    gs = ni.GradientSet(X, grad.numpy().astype(np.float64),
                        logit.detach().numpy().astype(np.float64),
                        description="experiment 1, trained ELU network")
    return gs.band(1e-4)


def test_experiment_1_formula_threshold_and_fidelity_from_a_trained_network(tmp_path):
    gs = _train_experiment_1()
    e = EXPERIMENTS[1]
    # compile the search's kernels first, so that a cold numba cache does not eat the budget
    ni.interpret(e.gradient_set(50), time_budget=None, max_evals=300, n_jobs=1, progress=False)
    result = ni.interpret(gs, time_budget=15, n_jobs=1, progress=False, seed=0)
    best, rule = result.best, result.rule
    assert best is not None, result.notes
    ok, passing, ops = equivalent(best.expr, e.expr, e.names, gs.X, cosine=0.999, fraction=0.95)
    assert ok, f"{best} is not equivalent to {e.truth} ({passing:.3f} of points pass, {ops} ops)"

    # the threshold, brought to the truth's scale: the truth's value on the rule's boundary
    # T(x) = c, read at the points closest to it, is the true threshold 1.0
    assert rule is not None and rule.kind == "threshold"
    t = best(gs.X)
    near = np.argsort(np.abs(t - rule.threshold))[:40]
    truth_on_boundary = float(np.median(e.value(gs.X[near])))
    assert truth_on_boundary == pytest.approx(e.threshold, rel=0.05)
    x1 = next(s for s in best.expr.free_symbols if s.name == "x1")
    coefficient = best.expr.as_poly(x1).coeff_monomial(x1**2) if best.expr.is_polynomial() \
        else None
    if coefficient is not None and coefficient.is_number and coefficient != 0:
        # the formula is c1*x1**2 + c2*x2**2 (+ constant): scale it to the truth's x1**2 term
        offset = best.expr.subs({s: 0 for s in best.expr.free_symbols})
        scaled = (rule.threshold - float(offset)) / float(coefficient)
        assert scaled == pytest.approx(e.threshold, rel=0.05)
    assert rule.fidelity >= 0.98
    assert rule.spearman > 0.95

    # the report of this result says all of it
    result.save_report(tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "class 1 when" in html and f"{100 * rule.fidelity:.1f} %" in html
    assert ni.Interpretation.load(tmp_path / "report.json").best.expr == best.expr
