"""Trajectories: sampled times, states and rewards of a fixed policy, possibly on irregular grids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.rl.settings import FiniteHorizon, Setting, check_setting


def _as_tensor(name: str, x: Any, like: torch.Tensor | None = None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            t = torch.as_tensor(x)
        except Exception as exc:  # noqa: BLE001 - re-raised as a typed error
            raise InputTypeError(f"{name} must be a torch tensor or an array, got {type(x).__name__}") from exc
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise InputTypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    if like is not None:
        t = t.to(dtype=like.dtype, device=like.device)
    elif not t.is_floating_point():
        t = t.to(torch.get_default_dtype())
    return t


@dataclass(frozen=True, eq=False)
class Trajectories:
    """``B`` sampled paths of a fixed policy on grids ``t_0 < t_1 < ... < t_N``.

    Parameters
    ----------
    times
        Shape ``(N+1,)`` (one grid for all paths) or ``(B, N+1)`` (a grid per path). Steps may be
        irregular; they must be strictly increasing.
    states
        Shape ``(B, N+1, d)``, or ``(B, N+1)`` for one-dimensional states.
    rewards
        Running rewards ``r(X_{t_k})`` at the grid points, shape ``(B, N+1)``. (The last column is
        used only by the trapezoidal reward rule.)
    setting
        :class:`~stochflow.rl.Discounted`, :class:`~stochflow.rl.FiniteHorizon` or
        :class:`~stochflow.rl.Ergodic`. For a finite horizon the grids must end at the horizon.

    Notes
    -----
    The tensors take the dtype and device of ``states``; estimators fitted on them compute in
    that dtype and on that device.
    """

    times: torch.Tensor
    states: torch.Tensor
    rewards: torch.Tensor
    setting: Setting

    def __post_init__(self) -> None:
        check_setting(self.setting)
        states = _as_tensor("states", self.states)
        if states.ndim == 2:
            states = states.unsqueeze(-1)
        if states.ndim != 3:
            raise InputError(f"states must have shape (paths, times, dim) or (paths, times), got {tuple(states.shape)}")
        B, N1, _ = states.shape
        if N1 < 2:
            raise InputError(f"each path needs at least two times, got {N1}")
        times = _as_tensor("times", self.times, like=states)
        rewards = _as_tensor("rewards", self.rewards, like=states)
        if times.ndim == 1:
            times = times.unsqueeze(0)
        if times.ndim != 2 or times.shape[-1] != N1 or times.shape[0] not in (1, B):
            raise InputError(
                f"times must have shape ({N1},) or ({B}, {N1}) to match states {tuple(states.shape)}, "
                f"got {tuple(self.times.shape) if hasattr(self.times, 'shape') else self.times!r}"
            )
        if rewards.shape != (B, N1):
            raise InputError(
                f"rewards must have shape (paths, times) = ({B}, {N1}) to match states, got {tuple(rewards.shape)}"
            )
        if not bool(torch.isfinite(times).all()) or not bool((times.diff(dim=-1) > 0).all()):
            raise InputError("times must be finite and strictly increasing along each path")
        if not bool(torch.isfinite(states).all()):
            raise InputError("states contain NaN or inf; drop or repair those paths")
        if not bool(torch.isfinite(rewards).all()):
            raise InputError("rewards contain NaN or inf; drop or repair those paths")
        if isinstance(self.setting, FiniteHorizon):
            end = times[:, -1]
            tol = 1e-6 * max(1.0, self.setting.horizon)
            if bool(((end - self.setting.horizon).abs() > tol).any()):
                raise InputError(
                    f"finite-horizon data must end at the horizon T={self.setting.horizon}; "
                    f"the last time is {float(end.min()):g}..{float(end.max()):g}"
                )
        object.__setattr__(self, "states", states)
        object.__setattr__(self, "times", times)
        object.__setattr__(self, "rewards", rewards)

    @property
    def n_paths(self) -> int:
        return self.states.shape[0]

    @property
    def n_steps(self) -> int:
        return self.states.shape[1] - 1

    @property
    def dim(self) -> int:
        return self.states.shape[2]

    @property
    def dt(self) -> torch.Tensor:
        """Step lengths, shape ``(1 or B, N)``."""
        return self.times.diff(dim=-1)

    @property
    def dtype(self) -> torch.dtype:
        return self.states.dtype

    @property
    def device(self) -> torch.device:
        return self.states.device

    def grid_times(self) -> torch.Tensor:
        """Times broadcast to ``(B, N+1)``."""
        return self.times.expand(self.n_paths, -1)

    def subsample(self, every: int) -> Trajectories:
        """Every ``every``-th grid point (coarser data from the same paths)."""
        if isinstance(every, bool) or not isinstance(every, int) or every < 1 or self.n_steps % every:
            raise InputError(f"every must be a positive divisor of the number of steps {self.n_steps}, got {every!r}")
        return Trajectories(self.times[:, ::every], self.states[:, ::every], self.rewards[:, ::every], self.setting)

    def to(self, *args: Any, **kwargs: Any) -> Trajectories:
        """Move (``.to(torch.float32)``, ``.to("cuda")``) all tensors."""
        return Trajectories(self.times.to(*args, **kwargs), self.states.to(*args, **kwargs),
                            self.rewards.to(*args, **kwargs), self.setting)
