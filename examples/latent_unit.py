"""A latent unit: a siamese network discovers the angular momentum of 2-D orbits.

States (x1, x2, x3, x4) = (position, velocity) in the plane. Each "orbit" is a set of
states with the same angular momentum L = x1 x4 - x2 x3: a random radius and angle for
the position, a random radial velocity, and the tangential velocity L / r. A network
with a one-unit embedding (named "latent") is trained with a triplet loss: anchor and
positive are two states of the same orbit, the negative a state of another orbit. To
keep anchor and positive together while pushing other orbits away, the one latent
coordinate must become a function of L alone. Explained by its input-gradient direction
(``layer="latent", unit=0``), it reads x1*x4 - x2*x3 (or its negative: the embedding may
grow with -L, which is the same quantity).

    python examples/latent_unit.py            # a few minutes
    python examples/latent_unit.py --quick    # seconds
"""

import time
from collections import OrderedDict

import numpy as np
import sympy
import torch
from _common import one_thread, parse_args, search_options, show
from torch import nn

from neuroninterp.experiments import equivalent
from neuroninterp_torch import interpret_module

TRUTH = "x1*x4 - x2*x3"


def states(L: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One random state with angular momentum ``L[i]`` for each i, shape (len(L), 4)."""
    n = len(L)
    r = rng.uniform(0.5, 1.5, n)
    angle = rng.uniform(0, 2 * np.pi, n)
    v_radial = rng.uniform(-1, 1, n)
    v_tangential = L / r
    radial = np.stack([np.cos(angle), np.sin(angle)], 1)
    tangent = np.stack([-np.sin(angle), np.cos(angle)], 1)
    position = r[:, None] * radial
    velocity = v_radial[:, None] * radial + v_tangential[:, None] * tangent
    return np.concatenate([position, velocity], 1)


def triplets(n: int, rng: np.random.Generator, apart: float = 0.2) -> tuple[np.ndarray, ...]:
    """Anchor and positive from the same orbit, the negative from an orbit whose angular
    momentum differs by at least ``apart`` (a clear signal: near-equal orbits would ask
    the embedding to separate what it should keep together)."""
    L = rng.uniform(-1, 1, n)
    L_other = rng.uniform(-1, 1, n)
    close = np.abs(L_other - L) < apart
    while close.any():
        L_other[close] = rng.uniform(-1, 1, int(close.sum()))
        close = np.abs(L_other - L) < apart
    return states(L, rng), states(L, rng), states(L_other, rng)


def embedding_net(width: int = 64) -> nn.Sequential:
    return nn.Sequential(OrderedDict([
        ("hidden1", nn.Linear(4, width)), ("act1", nn.ELU()),
        ("hidden2", nn.Linear(width, width)), ("act2", nn.ELU()),
        ("latent", nn.Linear(width, 1)),  # the one latent coordinate we explain
    ]))


def train_siamese(model: nn.Module, epochs: int, n: int = 8000, seed: int = 0) -> float:
    """Triplet-loss training on ``n`` fresh triplets every epoch; returns the seconds taken."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    loss_fn = nn.TripletMarginLoss(margin=0.2, p=2)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    start = time.perf_counter()
    for _ in range(epochs):
        a, p, q = (torch.as_tensor(t, dtype=torch.float32) for t in triplets(n, rng))
        for i in range(0, n, 256):
            opt.zero_grad()
            s = slice(i, i + 256)
            loss_fn(model(a[s]), model(p[s]), model(q[s])).backward()
            opt.step()
        schedule.step()
    model.eval()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    args = parse_args(__doc__, argv, epochs=(40, 10), budget=(60.0, 20.0))
    one_thread()
    model = embedding_net()
    seconds = train_siamese(model, epochs=args.epochs, seed=args.seed)
    rng = np.random.default_rng(args.seed + 1)
    X = states(rng.uniform(-1, 1, min(args.points, 4000)), rng)
    with torch.no_grad():
        z = model(torch.as_tensor(X, dtype=torch.float32))[:, 0].numpy()
    L = X[:, 0] * X[:, 3] - X[:, 1] * X[:, 2]
    print(f"trained {args.epochs} epochs in {seconds:.1f} s; correlation of the latent unit "
          f"with L: {np.corrcoef(z, L)[0, 1]:+.4f}")

    result = interpret_module(model, X, layer="latent", unit=0, **search_options(args))
    show(result, None, args)
    if result.best is not None:
        names = result.feature_names
        truth = sympy.sympify(TRUTH, locals={n: sympy.Symbol(n, real=True) for n in names})
        verdicts = [equivalent(sign * result.best.expr, truth, names, X, cosine=0.999)
                    for sign in (1, -1)]
        ok, passing, _ = max(verdicts, key=lambda v: v[1])
        print(f"equivalent to {TRUTH} up to sign: {'yes' if ok else 'no'} (gradient cosine "
              f">= 0.999 at {100 * passing:.1f} % of the points)")


if __name__ == "__main__":
    main()
