"""Discrete, possibly noisy observations of Markov jump paths: the container and how to make it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.errors import close_matches_message as _close
from stochflow.jump._backend import (
    as_index_tensor,
    as_tensor,
    framework,
    make_generator,
    positive_float,
    positive_int,
    to_framework,
)

GRIDS = ("regular", "irregular")


@dataclass(frozen=True)
class Observations:
    """States observed at discrete times, per path, batched over processes.

    Parameters
    ----------
    times
        ``(..., N, T)`` observation times, ``>= 0`` and non-decreasing along each path (padding
        entries, where ``mask`` is false, are ignored).
    states
        ``(..., N, T)`` observed labels in ``0..n_states-1``.
    mask
        ``(..., N, T)`` booleans, true where an observation exists (default: all true). Paths of
        different lengths are padded at the end.
    n_states
        ``S``.
    t_max
        The horizon the paths were observed on (default: the last observation time).

    Raises
    ------
    InputError
        Shapes differ, states outside ``0..S-1``, unsorted or negative times, a path without any
        observation.
    """

    times: Any
    states: Any
    mask: Any = None
    n_states: int | None = None
    t_max: float | None = None

    def __post_init__(self) -> None:
        fw = framework(self.times)
        t = as_tensor(self.times, "times")
        y = as_index_tensor(self.states, "states", device=t.device)
        if t.ndim < 2:
            raise InputError(f"times must have shape (..., n_paths, n_times), got {tuple(t.shape)}; "
                             "for a single path use times[None]")
        if tuple(y.shape) != tuple(t.shape):
            raise InputError(f"states {tuple(y.shape)} and times {tuple(t.shape)} must have the same shape")
        if self.mask is None:
            m = torch.ones(t.shape, dtype=torch.bool, device=t.device)
        else:
            m = as_tensor(self.mask, "mask", floating=False, device=t.device)
            if m.dtype != torch.bool:
                raise InputTypeError(f"mask must be boolean, got {m.dtype}")
            if tuple(m.shape) != tuple(t.shape):
                raise InputError(f"mask {tuple(m.shape)} must have the shape of times {tuple(t.shape)}")
        if t.shape[-1] == 0 or t.shape[-2] == 0:
            raise InputError("no observations: need at least one path with at least one observation")
        if not bool(m.any(-1).all()):
            raise InputError("a path has no observations (an empty path); drop it before fitting")
        tm = torch.where(m, t, torch.zeros((), dtype=t.dtype, device=t.device))
        if not bool(torch.isfinite(tm).all()):
            raise InputError("times hold NaN or infinite values")
        if bool((tm < 0).any()):
            raise InputError("observation times must be >= 0 (time 0 is the start of the process)")
        if self.n_states is None:
            S = int(torch.where(m, y, torch.zeros_like(y)).max()) + 1
            S = max(S, 2)
        else:
            S = positive_int(self.n_states, "n_states", minimum=2)
        ym = torch.where(m, y, torch.zeros_like(y))
        if bool((ym < 0).any()) or bool((ym >= S).any()):
            bad = int(ym[(ym < 0) | (ym >= S)][0])
            raise InputError(f"observed state {bad} is outside 0..{S - 1}; states are labelled 0..n_states-1 "
                             f"(pass n_states= if there are more states)")
        # sortedness along the observed entries of each path
        filled = torch.cummax(torch.where(m, t, torch.full_like(t, -float("inf"))), dim=-1).values
        prev = torch.cat([torch.full_like(filled[..., :1], -float("inf")), filled[..., :-1]], -1)
        if bool(((t < prev) & m).any()):
            raise InputError("observation times must be sorted (non-decreasing) within each path; "
                             "sort the rows by (path, time)")
        last = float(filled[..., -1].max())
        t_max = last if self.t_max is None else positive_float(self.t_max, "t_max", allow_zero=True)
        if t_max < last:
            raise InputError(f"t_max={t_max} is before the last observation time {last}")
        object.__setattr__(self, "times", to_framework(t, fw))
        object.__setattr__(self, "states", to_framework(y, fw))
        object.__setattr__(self, "mask", to_framework(m, fw))
        object.__setattr__(self, "n_states", S)
        object.__setattr__(self, "t_max", float(t_max))

    @property
    def n_paths(self) -> int:
        return int(self.times.shape[-2])

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return tuple(self.times.shape[:-2])

    @property
    def n_observations(self) -> int:
        return int(as_tensor(self.mask, "mask", floating=False).sum())

    def tensors(self, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(times, states, mask)`` as torch tensors."""
        return (as_tensor(self.times, "times", dtype=dtype), as_index_tensor(self.states, "states"),
                as_tensor(self.mask, "mask", floating=False))

    @classmethod
    def from_records(cls, path_id: Any, time: Any, state: Any, *, n_states: int | None = None,
                     t_max: float | None = None) -> Observations:
        """From a long table: one row per observation (path id, time, observed state).

        Rows of a path must be sorted by time; paths may have different numbers of rows (they are
        padded and masked). Returns numpy-backed observations ``(N, T)`` of one process.
        """
        pid = np.asarray(path_id)
        tt = np.asarray(time, dtype=np.float64)
        ss = np.asarray(state)
        if not (pid.ndim == tt.ndim == ss.ndim == 1) or not (len(pid) == len(tt) == len(ss)):
            raise InputError("path_id, time and state must be 1-d columns of equal length")
        if len(pid) == 0:
            raise InputError("no observations: the table is empty")
        if ss.dtype.kind == "f":
            if not np.all(np.isfinite(ss)) or not np.all(ss == np.round(ss)):
                raise InputError("state must hold whole numbers (state labels 0..S-1)")
        elif ss.dtype.kind not in "iu":
            raise InputTypeError(f"state must hold integer labels, got {ss.dtype}")
        ids, inverse, counts = np.unique(pid, return_inverse=True, return_counts=True)
        order = np.argsort(inverse, kind="stable")
        N, T = len(ids), int(counts.max())
        pos = np.arange(len(pid)) - np.repeat(np.cumsum(counts) - counts, counts)
        times = np.zeros((N, T))
        states = np.zeros((N, T), dtype=np.int64)
        mask = np.zeros((N, T), dtype=bool)
        rows = inverse[order]
        times[rows, pos] = tt[order]
        states[rows, pos] = ss[order].astype(np.int64)
        mask[rows, pos] = True
        return cls(times, states, mask, n_states=n_states, t_max=t_max)

    def to_records(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(path_id, time, state)`` columns of the observed entries (processes flattened, path ids
        numbered across them)."""
        t, y, m = (x.reshape(-1, x.shape[-1]).cpu().numpy() for x in self.tensors())
        pid = np.broadcast_to(np.arange(t.shape[0])[:, None], t.shape)
        return pid[m], t[m], y[m]


def observe(paths: Any, n_times: int | tuple[int, int], *, grid: str = "regular", flip_prob: float = 0.0,
            seed: int | None = None) -> Observations:
    """Observe paths at discrete times, with optional label noise.

    Parameters
    ----------
    paths
        :class:`~stochflow.jump.paths.JumpPaths`.
    n_times
        Observations per path. ``"regular"``: ``n_times`` equally spaced times ``0 .. t_max`` shared
        by all paths. ``"irregular"``: each path gets its own sorted uniform times on
        ``[0, t_max]``; a pair ``(lo, hi)`` draws each path's count uniformly in ``lo..hi`` (the
        shorter paths are padded and masked).
    grid
        ``"regular"`` or ``"irregular"``.
    flip_prob
        Probability that an observed label is replaced by one of the other ``S - 1`` states,
        uniformly.
    seed
        Seed for the irregular times and the flips.
    """
    from stochflow.jump.paths import JumpPaths

    if not isinstance(paths, JumpPaths):
        raise InputTypeError(f"observe needs JumpPaths (from stochflow.jump.simulate), got {type(paths).__name__}")
    if grid not in GRIDS:
        raise InputError(_close("grid", str(grid), GRIDS))
    if isinstance(n_times, tuple):
        if grid == "regular" or len(n_times) != 2:
            raise InputError("a range (lo, hi) of observation counts is for grid='irregular' only")
        lo, hi = (positive_int(n, "n_times") for n in n_times)
        if lo > hi:
            raise InputError(f"n_times range must have lo <= hi, got {n_times}")
    else:
        lo = hi = positive_int(n_times, "n_times")
    p = float(flip_prob) if not isinstance(flip_prob, bool) else -1.0
    if not 0 <= p <= 1:
        raise InputError(f"flip_prob must be a probability in [0, 1], got {flip_prob}")
    fw = framework(paths.times)
    times_full = as_tensor(paths.times, "times")
    dtype, device = times_full.dtype, times_full.device
    g = make_generator(seed, device)
    shape = (*paths.batch_shape, paths.n_paths)
    T, S = paths.t_max, paths.n_states
    if grid == "regular":
        t = torch.linspace(0.0, T, hi, dtype=dtype, device=device).expand(*shape, hi).contiguous()
        mask = torch.ones(*shape, hi, dtype=torch.bool, device=device)
    else:
        u = torch.rand(*shape, hi, generator=g, dtype=torch.float64, device=device) * T
        count = torch.randint(lo, hi + 1, shape, generator=g, device=device)
        mask = torch.arange(hi, device=device) < count[..., None]
        u = torch.where(mask, u, torch.full_like(u, float("inf")))
        t = torch.sort(u, -1).values
        last = torch.cummax(torch.where(mask, t, torch.zeros_like(t)), -1).values
        t = torch.where(mask, t, last).to(dtype)
    states = as_index_tensor(paths.state_at(t), "states")
    if p > 0:
        flip = torch.rand(states.shape, generator=g, device=device) < p
        shift = torch.randint(1, S, states.shape, generator=g, device=device)
        states = torch.where(flip, (states + shift) % S, states)
    return Observations(to_framework(t, fw), to_framework(states, fw), to_framework(mask, fw), n_states=S, t_max=T)
