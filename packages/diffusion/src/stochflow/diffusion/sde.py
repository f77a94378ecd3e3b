"""Forward diffusion SDEs built on a :class:`~stochflow.diffusion.schedule.Schedule`.

One generic class, :class:`DiffusionSDE`, owns the forward SDE
``dx = f(t)(x − μ) dt + g(t) dW``, its marginals, the prior, the reverse-time SDE and the
probability-flow ODE. ``VPSDE``, ``SubVPSDE``, ``VESDE`` and ``MeanRevertingSDE`` only choose a
schedule and the default time interval ``[eps, T]``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from stochflow.core.errors import InputError
from stochflow.diffusion._util import as_time, bcast, check_tensor, flat_sum
from stochflow.diffusion.schedule import (
    MeanRevertingSchedule,
    Schedule,
    SubVPSchedule,
    VESchedule,
    VPSchedule,
)

ScoreFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class DiffusionSDE:
    """A forward diffusion ``dx = f(t)(x − μ) dt + g(t) dW`` on ``[eps, T]``.

    Parameters
    ----------
    schedule
        The :class:`Schedule` giving α_t, σ_t, λ_t.
    T
        Final time.
    eps
        Smallest time used by samplers and likelihoods (the score is singular at 0).
    """

    name = "diffusion"

    def __init__(self, schedule: Schedule, T: float = 1.0, eps: float = 1e-3):
        T, eps = float(T), float(eps)
        if not (math.isfinite(T) and math.isfinite(eps)) or not 0 < eps < T:
            raise InputError(f"need 0 < eps < T, got eps={eps}, T={T}")
        self.schedule, self.T, self.eps = schedule, T, eps

    def __repr__(self) -> str:
        params = {k: v for k, v in vars(self.schedule).items() if not k.startswith("_")}
        inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
        return f"{type(self).__name__}({inner}, T={self.T}, eps={self.eps})"

    # -- checks --------------------------------------------------------------------------
    def check_time(self, t: torch.Tensor, what: str = "t") -> None:
        """Raise :class:`InputError` if any ``t`` lies outside ``[eps, T]`` (with rounding slack)."""
        tol = 1e-6 * self.T
        if torch.isnan(t).any() or (t < self.eps - tol).any() or (t > self.T + tol).any():
            raise InputError(f"{what} must lie in [eps, T] = [{self.eps}, {self.T}], got values in "
                             f"[{float(t.min()):.3g}, {float(t.max()):.3g}]")

    def center(self, x: torch.Tensor) -> torch.Tensor | float:
        """The mean-reversion target μ as an array broadcastable to ``x`` (0 for VP/VE/sub-VP)."""
        mu = self.schedule.center
        if isinstance(mu, torch.Tensor):
            return mu.to(dtype=x.dtype, device=x.device)
        return float(mu)

    # -- forward ----------------------------------------------------------------------------
    def sde(self, x: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor]:
        """Drift ``f(t)(x − μ)`` and diffusion ``g(t)`` (shape ``(n,)``) of the forward SDE."""
        t = as_time(t, x)
        drift = bcast(self.schedule.drift_coef(t), x) * (x - self.center(x))
        return drift, torch.sqrt(self.schedule.diffusion2(t))

    def marginal_prob(self, x0: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean ``α_t x₀ + (1 − α_t) μ`` and standard deviation ``σ_t`` (shape ``(n,)``) of x_t | x₀."""
        x0 = check_tensor("x0", x0)
        t = as_time(t, x0)
        a = bcast(self.schedule.alpha(t), x0)
        mu = self.center(x0)
        return a * x0 + (1 - a) * mu, self.schedule.sigma(t)

    def perturb(self, x0: torch.Tensor, t, noise: torch.Tensor) -> torch.Tensor:
        """``x_t = mean + σ_t · noise``."""
        mean, std = self.marginal_prob(x0, t)
        return mean + bcast(std, x0) * noise

    def prior_std(self, dtype=torch.float64) -> float:
        return float(self.schedule.sigma(torch.tensor(self.T, dtype=torch.float64)))

    def prior_sampling(self, shape, *, generator: torch.Generator | None = None, dtype=torch.float32,
                       device="cpu") -> torch.Tensor:
        """Samples of the prior ``N(μ, σ_T² I)``."""
        shape = tuple(int(s) for s in shape)
        if len(shape) < 1 or any(s < 1 for s in shape):
            raise InputError(f"shape must be a non-empty tuple of positive sizes, got {shape}")
        z = torch.randn(shape, generator=generator, dtype=dtype, device=device)
        return self.prior_std() * z + self.center(z)

    def prior_logp(self, z: torch.Tensor) -> torch.Tensor:
        """Log-density of the prior ``N(μ, σ_T² I)`` per sample (shape ``(n,)``)."""
        z = check_tensor("z", z)
        s = self.prior_std()
        d = z[0].numel()
        r = z - self.center(z)
        return -0.5 * flat_sum(r**2) / s**2 - d * (math.log(s) + 0.5 * math.log(2 * math.pi))

    # -- reverse ------------------------------------------------------------------------------
    def reverse(self, score_fn: ScoreFn, probability_flow: bool = False) -> ReverseSDE:
        """The reverse-time SDE (or, with ``probability_flow=True``, the probability-flow ODE)."""
        return ReverseSDE(self, score_fn, probability_flow)

    def probability_flow(self, score_fn: ScoreFn) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """The PF-ODE vector field ``dx/dt = f(t)(x − μ) − ½ g(t)² ∇log p_t(x)``."""
        rev = ReverseSDE(self, score_fn, True)
        return lambda x, t: rev.sde(x, t)[0]


@dataclass(frozen=True)
class ReverseSDE:
    """``dx = [f − c g² ∇log p_t] dt + g dW̄`` run backwards in time; c = 1 (SDE) or ½ (ODE, g ↦ 0)."""

    forward: DiffusionSDE
    score_fn: ScoreFn
    probability_flow: bool = False

    def sde(self, x: torch.Tensor, t) -> tuple[torch.Tensor, torch.Tensor]:
        t = as_time(t, x)
        drift, g = self.forward.sde(x, t)
        c = 0.5 if self.probability_flow else 1.0
        drift = drift - c * bcast(g**2, x) * self.score_fn(x, t)
        return drift, torch.zeros_like(g) if self.probability_flow else g


class VPSDE(DiffusionSDE):
    """Variance-preserving SDE ``dx = −½β(t) x dt + sqrt(β(t)) dW``, β linear in t."""

    name = "vp"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0, eps: float = 1e-3):
        super().__init__(VPSchedule(beta_min, beta_max), T, eps)


class SubVPSDE(DiffusionSDE):
    """Sub-VP SDE: the VP drift with σ_t = 1 − α_t² (lower variance, better likelihoods)."""

    name = "subvp"

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, T: float = 1.0, eps: float = 1e-3):
        super().__init__(SubVPSchedule(beta_min, beta_max), T, eps)


class VESDE(DiffusionSDE):
    """Variance-exploding SDE ``dx = sqrt(dσ²/dt) dW``, σ geometric from σ_min to σ_max."""

    name = "ve"

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, T: float = 1.0, eps: float = 1e-5):
        super().__init__(VESchedule(sigma_min, sigma_max), T, eps)


class MeanRevertingSDE(DiffusionSDE):
    """Mean-reverting SDE (IR-SDE) ``dx = θ_t(μ − x) dt + σ_t dW`` with σ_t² = 2λ²θ_t.

    The terminal law is ``N(μ, λ²(1 − α_T²))``; μ may be a scalar or a tensor broadcastable to the
    data (for instance a degraded image, as in image restoration).
    """

    name = "mean-reverting"

    def __init__(self, theta_min: float = 0.1, theta_max: float = 10.0, stationary_std: float = 1.0,
                 mu: float | torch.Tensor = 0.0, T: float = 1.0, eps: float = 1e-3):
        super().__init__(MeanRevertingSchedule(theta_min, theta_max, stationary_std, mu), T, eps)
