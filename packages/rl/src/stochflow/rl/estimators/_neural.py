"""The training loop shared by the neural estimators (TD, martingale loss, MSTDE)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from stochflow.core.errors import InputError
from stochflow.core.progress import progress
from stochflow.rl.estimators._base import Steps
from stochflow.rl.martingale import increment
from stochflow.rl.value import NeuralValue


def grid_values(net: NeuralValue, steps: Steps, idx: torch.Tensor) -> torch.Tensor:
    """Network values on the grid of the paths ``idx``: ``(b, N+1)``."""
    data = steps.data
    t = data.grid_times()[idx] if data.setting.time_dependent else None
    return net.evaluate(data.states[idx], t)


def deltas(values: torch.Tensor, steps: Steps, idx: torch.Tensor, rho: torch.Tensor | None) -> torch.Tensor:
    """The martingale increments of the paths ``idx`` for grid values ``(b, N+1)``."""
    nxt = values[:, 1:]
    if steps.terminal is not None:
        nxt = torch.cat([nxt[:, :-1], steps.terminal[idx].unsqueeze(-1)], dim=1)
    d = increment(values[:, :-1], nxt, steps.gamma[idx], steps.reward[idx])
    if rho is not None:
        d = d - rho * steps.dt[idx]
    return d


def train(net: NeuralValue, steps: Steps, loss_fn: Callable, *, lr: float, epochs: int, batch_paths: int | None,
          seed: int, desc: str, ergodic: bool) -> tuple[torch.Tensor | None, list[float]]:
    """Adam on ``loss_fn(values, idx, rho)`` over random batches of paths; returns ``rho`` and the
    loss history."""
    data = steps.data
    params = list(net.module.parameters())
    for p in params:
        if p.dtype != data.dtype or p.device != data.device:
            raise InputError(
                f"the value network's parameters are {p.dtype} on {p.device} but the data are {data.dtype} "
                f"on {data.device}: move one of them (module.to(...) or data.to(...))"
            )
    rho = torch.zeros((), dtype=data.dtype, device=data.device, requires_grad=True) if ergodic else None
    opt = torch.optim.Adam(params + ([rho] if rho is not None else []), lr=lr)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    B = data.n_paths
    b = B if batch_paths is None else min(batch_paths, B)
    history = []
    for _ in progress(range(epochs), desc=desc):
        idx = torch.randperm(B, generator=gen)[:b].to(data.device)
        opt.zero_grad()
        loss = loss_fn(grid_values(net, steps, idx), idx, rho)
        loss.backward()
        opt.step()
        history.append(float(loss.detach()))
    return (rho.detach() if rho is not None else None), history
