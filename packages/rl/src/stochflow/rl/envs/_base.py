"""Environments: a fixed policy's state process, its reward and its value function in closed form."""

from __future__ import annotations

import math
from typing import Any

import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.seeding import derive_seed
from stochflow.rl.data import Trajectories
from stochflow.rl.features import FeatureMap
from stochflow.rl.martingale import check_rule
from stochflow.rl.settings import FiniteHorizon, Setting
from stochflow.rl.value import as_states, as_times


def check_positive(name: str, value: object, *, allow_zero: bool = False, signed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputTypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value) or (not signed and (value < 0 or (value == 0 and not allow_zero))):
        raise InputError(f"{name} must be {'finite' if signed else ('>= 0' if allow_zero else '> 0')}, got {value}")
    return float(value)


def time_grid(t_max: float | None, dt: float | None, times: Any, dtype: torch.dtype, device: Any) -> torch.Tensor:
    if times is not None:
        ts = torch.as_tensor(times, dtype=dtype, device=device)
        if ts.ndim != 1 or ts.shape[0] < 2 or not bool((ts.diff() > 0).all()):
            raise InputError("times must be a 1-d strictly increasing grid with at least two points")
        return ts
    t_max = check_positive("t_max", t_max)
    dt = check_positive("dt", dt)
    n = round(t_max / dt)
    if n < 1 or abs(n * dt - t_max) > 1e-9 * max(1.0, t_max):
        raise InputError(f"t_max={t_max} must be a whole number of steps dt={dt}")
    return torch.linspace(0.0, t_max, n + 1, dtype=dtype, device=device)


class Environment:
    """Base class. Subclasses set ``setting``, ``x_range`` (initial states and the evaluation grid)
    and implement ``reward``, ``true_value``, ``discrete_value``, ``exact_features`` and either an
    exact transition (``_exact_step`` or ``_exact_path``, scheme ``"exact"``), and ``process`` (the
    state's :class:`stochflow.sde.SDE`), which stochflow-sde integrates (scheme ``"euler"``). Brownian
    increments always come from stochflow-sde."""

    setting: Setting
    dim = 1
    x_range: tuple[float, float] = (-2.0, 2.0)
    schemes: tuple[str, ...] = ("exact",)
    scheme: str = "exact"

    # -- to implement -------------------------------------------------------------------------------
    def reward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _true_value(self, x: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def _discrete_value(self, x, t, dt: float, rule: str) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def exact_features(self) -> FeatureMap:  # pragma: no cover - abstract
        raise NotImplementedError

    def _exact_step(self, x: torch.Tensor, dt: torch.Tensor, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def process(self) -> sde.SDE:  # pragma: no cover - abstract
        """The state's SDE under the policy, a :class:`stochflow.sde.SDE` (state of shape ``(B, 1)``)."""
        raise NotImplementedError

    def _exact_path(self, x0: torch.Tensor, ts: torch.Tensor, dw: torch.Tensor) -> torch.Tensor:
        """States ``(N + 1, B)`` on ``ts`` from Brownian increments ``dw`` ``(N, B)`` by the exact
        transition ``_exact_step`` (environments with a pathwise solution override this)."""
        dts = ts.diff()
        out = [x0]
        for k in range(dts.shape[0]):
            out.append(self._exact_step(out[-1], dts[k], dw[k] / dts[k].sqrt()))
        return torch.stack(out)

    # -- shared -------------------------------------------------------------------------------------
    def _x(self, x: object) -> torch.Tensor:
        return as_states(x, self.dim).squeeze(-1)

    def true_value(self, x: object, t: object = None) -> torch.Tensor:
        """The value function in closed form at states ``x`` (and times ``t`` for a finite horizon)."""
        xs = as_states(x, self.dim)
        tt = as_times(t, xs, self.setting.time_dependent)
        return self._true_value(xs.squeeze(-1), tt)

    def discrete_value(self, x: object, dt: float, t: object = None, reward_rule: str = "left") -> torch.Tensor:
        """The discrete-time target: the value of the ``dt``-step chain that the data come from, with
        the reward integral of ``reward_rule`` (the fixed point every method with exact features
        converges to). In a finite horizon ``t`` must lie on the grid ``0, dt, ..., T``."""
        dt = check_positive("dt", dt)
        check_rule(reward_rule)
        xs = as_states(x, self.dim)
        tt = as_times(t, xs, self.setting.time_dependent)
        return self._discrete_value(xs.squeeze(-1), tt, dt, reward_rule)

    def grid(self, n: int = 101, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """Evaluation grid of ``n`` states over ``x_range``."""
        return torch.linspace(*self.x_range, n, dtype=dtype)

    def initial_states(self, n_paths: int, generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
        lo, hi = self.x_range
        return lo + (hi - lo) * torch.rand(n_paths, generator=generator, dtype=dtype)

    def rollout(self, n_paths: int, t_max: float | None = None, dt: float | None = None, seed: int = 0, *,
                x0: object = None, times: object = None, dtype: torch.dtype = torch.float64,
                device: Any = "cpu") -> Trajectories:
        """Simulate ``n_paths`` paths of the policy on ``0, dt, ..., t_max`` (or on the grid ``times``,
        possibly irregular) and record states and rewards.

        Parameters
        ----------
        n_paths
            Number of paths.
        t_max, dt
            Horizon of the simulation and step (a finite-horizon environment needs ``t_max`` equal to
            its horizon, the default).
        seed
            Seeds the initial states and the noise.
        x0
            Initial states ``(n_paths,)`` (default: uniform on ``x_range``).
        times
            An explicit, possibly irregular grid instead of ``t_max`` and ``dt``.
        dtype, device
            Of the returned tensors.
        """
        if isinstance(n_paths, bool) or not isinstance(n_paths, int) or n_paths < 1:
            raise InputError(f"n_paths must be a positive int, got {n_paths!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise InputTypeError(f"seed must be an int, got {type(seed).__name__}")
        if isinstance(self.setting, FiniteHorizon) and times is None:
            t_max = self.setting.horizon if t_max is None else t_max
            if abs(float(t_max) - self.setting.horizon) > 1e-12:
                raise InputError(f"a finite-horizon environment simulates up to its horizon {self.setting.horizon}")
        ts = time_grid(t_max, dt, times, dtype, device)
        gen = torch.Generator(device="cpu").manual_seed(seed)
        if x0 is None:
            start = self.initial_states(n_paths, gen, dtype)
        else:
            try:
                start = torch.as_tensor(x0, dtype=dtype).reshape(-1).expand(n_paths).clone()
            except (RuntimeError, TypeError, ValueError) as exc:
                raise InputError(f"x0 must be a number or hold n_paths={n_paths} initial states") from exc
        if not bool(torch.isfinite(start).all()):
            raise InputError("initial states must be finite")
        xs = self._simulate(start.to(device), ts, seed, gen)
        rewards = self.reward(xs)
        return Trajectories(ts, xs.unsqueeze(-1), rewards, self.setting)

    def _simulate(self, x0: torch.Tensor, ts: torch.Tensor, seed: int, gen: torch.Generator) -> torch.Tensor:
        """Paths ``(B, N + 1)``: the exact transition driven by stochflow-sde's Brownian increments on
        the grid, or :func:`stochflow.sde.solve` with the scheme's method (steps no longer than the
        smallest grid step)."""
        noise_seed = derive_seed(seed, "stochflow-rl", "noise")
        if self.scheme == "exact":
            grid = ts.detach().cpu().to(torch.float64).numpy()
            dw = sde.draw_increments(grid, (x0.shape[0],), noise_seed, dtype=x0.dtype, device=x0.device)
            return self._exact_path(x0, ts, dw).transpose(0, 1)
        dt = float(ts.diff().min())
        ys = sde.solve(self.process(), x0.unsqueeze(-1), ts, solver=self.scheme, dt=dt, seed=noise_seed)
        return ys[..., 0].transpose(0, 1)
