"""The training loop shared by the neural estimators (TD, martingale loss, MSTDE).

It runs unchanged in one process and under ``torchrun --nproc_per_node=N`` (or whenever a
``torch.distributed`` process group is initialised): the network is wrapped in
DistributedDataParallel, every rank draws the same global batch of paths from the seed and keeps its
own share of it (per-rank sampling of paths), the per-rank losses are scaled so that DDP's gradient
average is the gradient of the single-process loss, and only rank 0 shows progress and writes the
checkpoint. A checkpoint holds the global state (weights, optimiser, ``rho``, the batch stream, the
step and the loss history), so it resumes on any number of ranks.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from stochflow.core import distributed as D
from stochflow.core.errors import InputError
from stochflow.core.estimator import check_stamp, stamp
from stochflow.core.progress import progress
from stochflow.rl.estimators._base import Steps
from stochflow.rl.martingale import increment
from stochflow.rl.value import NeuralValue

PACKAGE = "stochflow-rl"
LOSS_READ_EVERY = 16  # steps between reads of the losses on the host (each one a sync off the CPU)


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


def check_checkpointing(owner: Any) -> Path | None:
    """The estimator's ``checkpoint`` path (``None`` when off), checked with ``checkpoint_every``."""
    every = owner.checkpoint_every
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise InputError(f"checkpoint_every must be an int >= 1, got {every!r}")
    if owner.checkpoint is None:
        return None
    if not isinstance(owner.checkpoint, (str, Path)):
        raise InputError(f"checkpoint must be a path (str or pathlib.Path), got {type(owner.checkpoint).__name__}")
    if owner.model is None:
        raise InputError("checkpoint is for a neural value function (model=); a linear fit is not resumable")
    return Path(owner.checkpoint)


def train(net: NeuralValue, steps: Steps, loss_fn: Callable, *, lr: float, epochs: int, batch_paths: int | None,
          seed: int, desc: str, ergodic: bool, owner: Any = None, checkpoint: Path | None = None,
          checkpoint_every: int = 100) -> tuple[torch.Tensor | None, list[float]]:
    """Adam on ``loss_fn(values, idx, rho)`` over random batches of paths; returns ``rho`` and the
    loss history (of the global batch on every rank).

    ``loss_fn`` must be a sum over the paths ``idx`` divided by ``len(idx)`` (times constants); the
    rank's share of the global batch is rescaled accordingly. With ``checkpoint`` the state is saved
    every ``checkpoint_every`` iterations and at the end (by rank 0), and a run finding the file
    resumes from it (``owner``, the estimator, stamps it).
    """
    data = steps.data
    module = net.module
    params = list(module.parameters())
    for p in params:
        if p.dtype != data.dtype or p.device != data.device:
            raise InputError(
                f"the value network's parameters are {p.dtype} on {p.device} but the data are {data.dtype} "
                f"on {data.device}: move one of them (module.to(...) or data.to(...))"
            )
    D.init_from_env()
    world, rank = D.world_size(), D.rank()
    B = data.n_paths
    b = B if batch_paths is None else min(batch_paths, B)
    if b < world:
        raise InputError(f"each of the {world} processes needs paths: use batch_paths >= {world} (got {b})")
    rho = torch.zeros((), dtype=data.dtype, device=data.device, requires_grad=True) if ergodic else None
    opt = torch.optim.Adam(params + ([rho] if rho is not None else []), lr=lr)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    history: list[float] = []
    pending: list[torch.Tensor] = []  # losses not yet read on the host
    step = 0
    if checkpoint is not None and checkpoint.exists():
        state = D.load_checkpoint(checkpoint, map_location=data.device)
        check_stamp(state.get("stamp"), PACKAGE, type(owner))
        module.load_state_dict(state["module"])
        opt.load_state_dict(state["opt"])
        if rho is not None:
            with torch.no_grad():
                rho.copy_(state["rho"])
        gen.set_state(state["generator"])
        step, history = int(state["step"]), list(state["losses"])
    wrapped = D.wrap_model(module)
    train_net = net if wrapped is module else NeuralValue(wrapped, net.dim, net.time_dependent)

    def save() -> None:
        D.save_checkpoint(checkpoint, {
            "module": module.state_dict(), "opt": opt.state_dict(),
            "rho": None if rho is None else rho.detach().clone(), "generator": gen.get_state(), "step": step,
            "losses": history, "stamp": stamp(PACKAGE, owner)})

    bar = progress(total=epochs, initial=min(step, epochs), desc=desc)  # one bar, on rank 0 (core.progress)
    while step < epochs:
        idx = torch.randperm(B, generator=gen)[:b].to(data.device)  # the global batch, the same on every rank
        mine = idx[rank::world]
        opt.zero_grad()
        loss = loss_fn(grid_values(train_net, steps, mine), mine, rho) * (world * len(mine) / b)
        loss.backward()
        if rho is not None:
            D.all_reduce_mean(rho.grad)  # DDP averages the module's gradients; rho is outside it
        opt.step()
        pending.append(D.all_reduce_mean(loss.detach().clone()))
        step += 1
        bar.update(1)
        saving = checkpoint is not None and (step % checkpoint_every == 0 or step == epochs)
        if len(pending) == LOSS_READ_EVERY or step == epochs or saving:  # one host sync per block of steps
            history += torch.stack(pending).tolist()
            pending.clear()
        if saving:
            save()
    bar.close()
    return (rho.detach() if rho is not None else None), history
