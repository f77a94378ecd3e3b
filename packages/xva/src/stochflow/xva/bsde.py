"""Backward SDE problems.

A BSDE problem is a forward process ``X`` on a grid ``0 = t_0 < ... < t_N = T`` driven by
Brownian increments ``ΔW`` and a backward equation

    -dY_t = f(t, X_t, Y_t, Z_t) dt - Z_t · dW_t,   Y_T = g(X_T),

whose solution gives ``u(0, x_0) = Y_0`` for the semilinear PDE
``∂_t u + L u + f(t, x, u, σᵀ∇u) = 0``, ``u(T, ·) = g``. The deep BSDE method (Han, Jentzen & E, 2018)
marches forward ``Y_{n+1} = Y_n - f_n Δt + Z_n · ΔW_n - c_{n+1}`` (``c`` are cash flows paid out
on the grid, zero for a plain BSDE) and minimises ``E|Y_N - g(X_N)|²``. Steps where the optional
``active`` mask is zero leave ``Y`` unchanged (a random terminal time: stopped at a default).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import checks
from stochflow.xva.forward import ForwardPaths, time_grid


class BSDEProblem:
    """Base class of BSDE problems solved by :class:`~stochflow.xva.solver.DeepBSDESolver`.

    Subclasses set ``maturity``, ``n_steps``, ``dim`` (state dimension, the network's input) and
    ``noise_dim`` (Brownian dimension, the size of ``Z``), and implement :meth:`sample`,
    :meth:`driver` and :meth:`terminal`; :meth:`cashflow` and :meth:`active` are optional.
    """

    maturity: float
    n_steps: int
    dim: int
    noise_dim: int

    def grid(self, dtype: torch.dtype, device) -> torch.Tensor:
        return time_grid(self.maturity, self.n_steps, dtype=dtype, device=device)

    def sample(self, batch: int, *, seed: int, dtype: torch.dtype, device, keys: tuple = ()) -> ForwardPaths:
        """Forward paths: ``x`` of shape ``(N + 1, batch, dim)``, ``dw`` of ``(N, batch, noise_dim)``."""
        raise NotImplementedError

    def driver(self, n: int, t: torch.Tensor, x: torch.Tensor, y: torch.Tensor, z: torch.Tensor,
               paths: ForwardPaths) -> torch.Tensor:
        """``f(t_n, X_n, Y_n, Z_n)`` of shape ``(batch,)``."""
        raise NotImplementedError

    def terminal(self, paths: ForwardPaths) -> torch.Tensor:
        """The target ``ξ`` that ``Y_N`` must match, shape ``(batch,)``."""
        raise NotImplementedError

    def diffusion_transpose(self, t: torch.Tensor, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``σ(t, x)ᵀ v`` for states ``x`` of shape ``(N, B, dim)`` at times ``t`` (``(N,)``) and ``v`` of
        ``x``'s shape, giving ``(N, B, noise_dim)``: what turns ``∇u`` into ``Z = σᵀ∇u``. Needed only by
        ``DeepBSDESolver(z_network="gradient")``."""
        raise InputError(f"{type(self).__name__} does not define its diffusion (diffusion_transpose); "
                         "use z_network='direct' for it")

    def advance(self, n: int, x: torch.Tensor, dw: torch.Tensor) -> torch.Tensor:
        """The state ``X_{n+1}`` (``(B, dim)``) from ``X_n = x`` driven by the increment ``dw``
        (``(B, noise_dim)``, in place of the simulation measure's ``ΔW_n``): what re-simulates the
        forward process under another measure
        (:meth:`~stochflow.xva.solver.BSDEResult.estimate_y0` with ``tilt=True``)."""
        raise InputError(f"{type(self).__name__} cannot advance its state step by step (advance); "
                         "use estimate_y0(..., tilt=False) for it")

    def cashflow(self, n: int, paths: ForwardPaths) -> torch.Tensor | None:
        """Cash paid out at ``t_n`` (``n >= 1``), shape ``(batch,)``, or ``None`` (none)."""
        return None

    def active(self, paths: ForwardPaths) -> torch.Tensor | None:
        """Mask of shape ``(N, batch)``: 1 where step ``n`` is part of the BSDE, 0 after stopping."""
        return None


class BSDE(BSDEProblem):
    """A BSDE given by a forward model, a driver ``f(t, x, y, z)`` and a terminal ``g(x)``.

    Parameters
    ----------
    forward
        A forward model with ``dim``, ``noise_dim`` and ``sample(t, batch, seed=..., theta=...)``
        (:class:`~stochflow.xva.forward.CorrelatedGBM`, :class:`~stochflow.xva.forward.ScaledBrownianMotion`).
    driver
        ``f(t, x, y, z) -> (batch,)`` with ``x`` of shape ``(batch, dim)``, ``y`` of ``(batch,)`` and
        ``z`` of ``(batch, noise_dim)``.
    terminal
        ``g(x) -> (batch,)``.
    maturity, n_steps
        Horizon and number of time steps.
    theta
        Optional constant Girsanov tilt of the Brownian coordinates: paths are simulated under
        ``Q^θ`` and the driver gains the compensating term ``-z·θ``, so ``Y_0`` is unchanged.
    """

    def __init__(self, forward, driver: Callable, terminal: Callable, maturity: float, n_steps: int,
                 theta=None):
        for name, fn in (("driver", driver), ("terminal", terminal)):
            if not callable(fn):
                raise InputTypeError(f"{name} must be callable, got {type(fn).__name__}")
        if not hasattr(forward, "sample") or not hasattr(forward, "dim"):
            raise InputTypeError(f"forward must be a forward model with .dim and .sample(), got {type(forward).__name__}")
        self.forward = forward
        self.f = driver
        self.g = terminal
        self.maturity = checks.maturity("maturity", maturity)
        self.n_steps = checks.count("n_steps", n_steps)
        self.dim = forward.dim
        self.noise_dim = forward.noise_dim
        if theta is not None:
            theta = checks.vector("theta", theta, self.noise_dim)
        self.theta = theta

    def sample(self, batch, *, seed, dtype, device, keys=()):
        return self.forward.sample(self.grid(dtype, device), batch, seed=seed, theta=self.theta, keys=keys)

    def driver(self, n, t, x, y, z, paths):
        out = self.f(t, x, y, z)
        if self.theta is not None:
            out = out - z @ torch.as_tensor(self.theta, dtype=z.dtype, device=z.device)
        return out

    def terminal(self, paths):
        return self.g(paths.x[-1])

    def advance(self, n, x, dw):
        if not hasattr(self.forward, "step"):
            return super().advance(n, x, dw)
        t = self.grid(x.dtype, x.device)[n:n + 2]
        return self.forward.step(t, x, dw, theta=self.theta)

    def diffusion_transpose(self, t, x, v):
        if not hasattr(self.forward, "diffusion_transpose"):
            return super().diffusion_transpose(t, x, v)
        return self.forward.diffusion_transpose(x, v)


def linear_driver(rate: float) -> Callable:
    """The discounting driver ``f(t, x, y, z) = -r y`` of a clean price."""
    rate = checks.as_float("rate", rate)

    def f(t, x, y, z):
        return -rate * y

    return f


def check_batch(name: str, value: int) -> int:
    value = checks.count(name, value)
    if value < 2:
        raise InputError(f"{name} must be >= 2 for a variance estimate, got {value}")
    return value
