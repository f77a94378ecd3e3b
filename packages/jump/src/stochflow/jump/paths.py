"""Fully observed paths of a Markov jump process: jump times and states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from stochflow.core.errors import InputError
from stochflow.jump._backend import as_index_tensor, as_tensor, framework, to_framework


@dataclass(frozen=True)
class JumpPaths:
    """Paths with exact jump times, batched over processes.

    Parameters
    ----------
    times
        ``(..., N, K)`` jump times; ``times[..., 0] = 0`` is the start, entries past a path's last
        jump are ``+inf``.
    states
        ``(..., N, K)`` the state entered at each time (padding repeats the last state).
    n_jumps
        ``(..., N)`` the number of jumps of each path before ``t_max``.
    t_max
        The horizon: every path is observed on ``[0, t_max]``.
    n_states
        ``S``.
    """

    times: Any
    states: Any
    n_jumps: Any
    t_max: float
    n_states: int

    @property
    def n_paths(self) -> int:
        return int(self.times.shape[-2])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.times.shape[:-2])

    def _tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return (as_tensor(self.times, "times"), as_index_tensor(self.states, "states"),
                as_index_tensor(self.n_jumps, "n_jumps"))

    def state_at(self, t: Any) -> Any:
        """States at times ``t``: ``(T,)`` shared by all paths or ``(..., N, T)`` per path;
        returns ``(..., N, T)`` integer labels."""
        times, states, _ = self._tensors()
        tt = as_tensor(t, "t", dtype=times.dtype, device=times.device)
        if tt.ndim == 1:
            tt = tt.expand(*times.shape[:-1], tt.shape[0])
        if bool((tt < 0).any()) or bool((tt > self.t_max * (1 + 1e-6)).any()):
            raise InputError(f"observation times must lie in [0, t_max={self.t_max}]")
        idx = torch.searchsorted(times.contiguous(), tt.contiguous(), right=True) - 1
        return to_framework(torch.gather(states, -1, idx.clamp_min(0)), framework(self.times))

    def statistics(self) -> tuple[Any, Any, Any]:
        """Sufficient statistics of the paths, per process.

        Returns
        -------
        counts
            ``(..., S, S)`` numbers of jumps ``i -> j``.
        holding
            ``(..., S)`` total time spent in each state (up to ``t_max``).
        initial
            ``(..., S)`` numbers of paths starting in each state.
        """
        times, states, n_jumps = self._tensors()
        S, K = self.n_states, times.shape[-1]
        batch = times.shape[:-2]
        B = times[..., 0, 0].numel()
        k = torch.arange(K, device=times.device)
        alive = k <= n_jumps[..., None]  # segments 0..n_jumps
        ends = torch.cat([times[..., 1:], torch.full_like(times[..., :1], float("inf"))], -1)
        dur = torch.where(alive, ends.clamp(max=self.t_max) - times.clamp(max=self.t_max), torch.zeros_like(times))
        holding = torch.zeros(B, S, dtype=times.dtype, device=times.device)
        holding.scatter_add_(1, states.reshape(B, -1), dur.reshape(B, -1))
        jumped = (k[1:] <= n_jumps[..., None]).to(times.dtype)
        pair = states[..., :-1] * S + states[..., 1:]
        counts = torch.zeros(B, S * S, dtype=times.dtype, device=times.device)
        counts.scatter_add_(1, pair.reshape(B, -1), jumped.reshape(B, -1))
        initial = torch.nn.functional.one_hot(states[..., 0], S).to(times.dtype).sum(-2)
        fw = framework(self.times)
        return (to_framework(counts.reshape(*batch, S, S), fw), to_framework(holding.reshape(*batch, S), fw),
                to_framework(initial, fw))

    def holding_times(self, state: int | None = None) -> Any:
        """Completed sojourn durations (not cut by ``t_max``) across all paths and processes, as a
        1-d array; only those in ``state`` if given."""
        times, states, n_jumps = self._tensors()
        K = times.shape[-1]
        k = torch.arange(K - 1, device=times.device)
        complete = k < n_jumps[..., None]  # segment k ends with jump k + 1
        d = times[..., 1:] - times[..., :-1]
        keep = complete if state is None else complete & (states[..., :-1] == int(state))
        return to_framework(d[keep], framework(self.times))

    def observe(self, n_times: int | tuple[int, int], *, grid: str = "regular", flip_prob: float = 0.0,
                seed: int | None = None):
        """Discrete, possibly noisy observations of these paths: see :func:`stochflow.jump.observe`."""
        from stochflow.jump.observations import observe

        return observe(self, n_times, grid=grid, flip_prob=flip_prob, seed=seed)
