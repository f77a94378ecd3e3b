"""Exact simulation of Markov jump processes (Gillespie's direct method), vectorised over paths and
processes."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import InputError
from stochflow.jump._backend import (
    as_tensor,
    check_finite,
    framework,
    make_generator,
    positive_float,
    positive_int,
    to_framework,
)
from stochflow.jump.generators import validate_generator
from stochflow.jump.paths import JumpPaths

MAX_EXPECTED_JUMPS = 1_000_000


def check_every(device: torch.device) -> int:
    """Steps between the host's looks at "is any path still alive?" (each one a sync off the CPU).

    Steps past the last jump change nothing but append empty columns, which are cut at the end."""
    return 1 if device.type == "cpu" else 8


def validate_distribution(p: Any, n_states: int, name: str = "p0", *, dtype=None, device=None) -> torch.Tensor:
    """Check that ``p`` is a (batch of) probability vector(s) over ``n_states`` states."""
    t = as_tensor(p, name, dtype=dtype, device=device)
    if t.ndim < 1 or t.shape[-1] != n_states:
        raise InputError(f"{name} must be a distribution over the {n_states} states (shape (..., {n_states})), "
                         f"got shape {tuple(t.shape)}")
    check_finite(t, name)
    if bool((t < 0).any()):
        raise InputError(f"{name} has negative entries; a distribution is non-negative and sums to 1")
    tol = 1e3 * torch.finfo(t.dtype).eps * n_states
    if bool(((t.sum(-1) - 1).abs() > tol).any()):
        raise InputError(f"{name} must sum to 1 (got sums {t.sum(-1).flatten()[:3].tolist()}...); normalise it")
    return t


def simulate(Q: Any, p0: Any = None, *, n_paths: int, t_max: float, seed: int | None = None) -> JumpPaths:
    """Simulate paths on ``[0, t_max]`` with exact jump times (Gillespie's direct method).

    All paths of all processes advance together: each step draws one exponential holding time
    and one next state per path, so the number of steps is the largest number of jumps of a path.

    Parameters
    ----------
    Q
        Generators ``(..., S, S)``.
    p0
        Initial distributions ``(..., S)`` or ``(S,)`` (default uniform).
    n_paths
        Paths per process.
    t_max
        Horizon.
    seed
        Seed of the random stream; the same seed gives the same paths.

    Returns
    -------
    JumpPaths
        Arrays ``(..., n_paths, K)`` in the framework, dtype and device of ``Q``.
    """
    fw = framework(Q)
    Qt = validate_generator(Q)
    S = Qt.shape[-1]
    N = positive_int(n_paths, "n_paths")
    T = positive_float(t_max, "t_max")
    p = (torch.full((S,), 1.0 / S, dtype=Qt.dtype, device=Qt.device) if p0 is None
         else validate_distribution(p0, S, dtype=Qt.dtype, device=Qt.device))
    batch = torch.broadcast_shapes(Qt.shape[:-2], p.shape[:-1])
    exit_all = -torch.diagonal(Qt, dim1=-2, dim2=-1)
    if float(exit_all.max()) * T > MAX_EXPECTED_JUMPS:
        raise InputError(f"max exit rate x t_max = {float(exit_all.max()) * T:.3g} jumps per path is too many; "
                         "shorten t_max or rescale time")
    g = make_generator(seed, Qt.device)
    B = int(torch.tensor(batch).prod()) if batch else 1
    Qf = Qt.expand(*batch, S, S).reshape(B, S, S).to(torch.float64)
    pf = p.expand(*batch, S).reshape(B, S).to(torch.float64)
    exit_rate = -torch.diagonal(Qf, dim1=-2, dim2=-1)  # (B, S)
    jump = Qf.masked_fill(torch.eye(S, dtype=torch.bool, device=Qf.device), 0.0)
    jump = jump / torch.where(exit_rate > 0, exit_rate, torch.ones_like(exit_rate))[..., None]
    cum_jump = torch.cumsum(jump, -1)
    cum_jump[..., -1] = 1.0 + 1e-12  # guard the last bin against rounding
    cum_p0 = torch.cumsum(pf, -1)
    cum_p0[..., -1] = 1.0 + 1e-12

    def draw(cum: torch.Tensor) -> torch.Tensor:  # cum (B, N, S)
        u = torch.rand(cum.shape[:-1], generator=g, device=cum.device, dtype=torch.float64)
        return (u[..., None] >= cum).sum(-1).clamp_max(S - 1)

    x = draw(cum_p0[:, None, :].expand(B, N, S))
    t = torch.zeros(B, N, dtype=torch.float64, device=Qf.device)
    alive = torch.ones(B, N, dtype=torch.bool, device=Qf.device)
    times, states = [t.clone()], [x.clone()]
    inf = torch.tensor(float("inf"), dtype=torch.float64, device=Qf.device)
    every, k = check_every(Qf.device), 0
    while k % every or bool(alive.any()):
        k += 1
        rate = torch.gather(exit_rate, 1, x)
        e = torch.empty(B, N, dtype=torch.float64, device=Qf.device).exponential_(generator=g)
        t = t + torch.where(rate > 0, e / rate.clamp_min(1e-300), inf)
        alive = alive & (t < T)
        row = torch.gather(cum_jump, 1, x[..., None].expand(B, N, S))
        x = torch.where(alive, draw(row), x)
        times.append(torch.where(alive, t, inf))
        states.append(x.clone())
    times_t, states_t = torch.stack(times, -1), torch.stack(states, -1)
    n_jumps = torch.isfinite(times_t).sum(-1) - 1
    keep = int(n_jumps.max()) + 1  # the columns after the last jump of any path are empty
    times_t, states_t = times_t[..., :keep], states_t[..., :keep]
    out_times = times_t.to(Qt.dtype).reshape(*batch, N, -1)
    return JumpPaths(to_framework(out_times, fw), to_framework(states_t.reshape(*batch, N, -1), fw),
                     to_framework(n_jumps.reshape(*batch, N), fw), T, S)
