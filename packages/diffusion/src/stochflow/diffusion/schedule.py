"""Noise schedules: the single definition of α_t, σ_t, λ_t = log(α_t/σ_t) and its inverse.

Every SDE, sampler, adapter and grid in this package reads its coefficients from a
:class:`Schedule`. A perturbation kernel is ``x_t | x_0 ~ N(α_t x_0 + (1 - α_t) μ, σ_t² I)``
where the centre ``μ`` is zero except for mean-reverting diffusion.
"""

from __future__ import annotations

import math

import torch

from stochflow.core.errors import InputError


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"{name} must be a positive finite number, got {value}")
    return value


class Schedule:
    """Base class. Subclasses define ``log_alpha``, ``sigma`` and ``inverse_lambda`` and their
    time derivatives ``dlog_alpha`` and ``dsigma2``; everything else follows."""

    center: float | torch.Tensor = 0.0

    def log_alpha(self, t: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def dlog_alpha(self, t: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def sigma(self, t: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def dsigma2(self, t: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def inverse_lambda(self, lam: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def alpha(self, t: torch.Tensor) -> torch.Tensor:
        """Signal scale α_t."""
        return torch.exp(self.log_alpha(t))

    def lambda_(self, t: torch.Tensor) -> torch.Tensor:
        """Half log-SNR λ_t = log α_t − log σ_t (decreasing in t)."""
        return self.log_alpha(t) - torch.log(self.sigma(t))

    def drift_coef(self, t: torch.Tensor) -> torch.Tensor:
        """f(t) of the forward SDE ``dx = f(t)(x − μ) dt + g(t) dW``: f = d log α/dt."""
        return self.dlog_alpha(t)

    def diffusion2(self, t: torch.Tensor) -> torch.Tensor:
        """g(t)² = dσ²/dt − 2 f(t) σ_t², the unique diffusion giving these marginals."""
        return self.dsigma2(t) - 2.0 * self.dlog_alpha(t) * self.sigma(t) ** 2


class VPSchedule(Schedule):
    """Variance preserving: α_t = exp(−¼t²(β₁−β₀) − ½tβ₀), σ_t² = 1 − α_t²."""

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0):
        self.beta_min = _positive("beta_min", beta_min)
        self.beta_max = _positive("beta_max", beta_max)
        if self.beta_max < self.beta_min:
            raise InputError(f"beta_max ({beta_max}) must be >= beta_min ({beta_min})")

    def log_alpha(self, t):
        return -0.25 * t**2 * (self.beta_max - self.beta_min) - 0.5 * t * self.beta_min

    def dlog_alpha(self, t):
        return -0.5 * (self.beta_min + t * (self.beta_max - self.beta_min))

    def sigma(self, t):
        return torch.sqrt(-torch.expm1(2.0 * self.log_alpha(t)))

    def dsigma2(self, t):
        return -2.0 * self.dlog_alpha(t) * torch.exp(2.0 * self.log_alpha(t))

    def _t_from_log_alpha(self, log_alpha):
        db = self.beta_max - self.beta_min
        if db == 0:
            return -2.0 * log_alpha / self.beta_min
        return (-self.beta_min + torch.sqrt(self.beta_min**2 - 4.0 * db * log_alpha)) / db

    def inverse_lambda(self, lam):
        # α² = sigmoid(2λ)
        return self._t_from_log_alpha(-0.5 * torch.nn.functional.softplus(-2.0 * lam))


class SubVPSchedule(VPSchedule):
    """Sub-VP: α_t as VP, σ_t = 1 − α_t²."""

    def sigma(self, t):
        return -torch.expm1(2.0 * self.log_alpha(t))

    def dsigma2(self, t):
        a2 = torch.exp(2.0 * self.log_alpha(t))
        return 2.0 * self.sigma(t) * (-2.0 * self.dlog_alpha(t) * a2)

    def inverse_lambda(self, lam):
        # α/(1−α²) = e^λ  ⇒  α = 2 / (e^{−λ} + sqrt(e^{−2λ} + 4))  (stable form of the quadratic's root)
        em = torch.exp(-lam)
        alpha = 2.0 / (em + torch.sqrt(em**2 + 4.0))
        return self._t_from_log_alpha(torch.log(alpha))


class VESchedule(Schedule):
    """Variance exploding: α_t = 1, σ_t = σ_min (σ_max/σ_min)^t."""

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0):
        self.sigma_min = _positive("sigma_min", sigma_min)
        self.sigma_max = _positive("sigma_max", sigma_max)
        if self.sigma_max <= self.sigma_min:
            raise InputError(f"sigma_max ({sigma_max}) must be > sigma_min ({sigma_min})")
        self._log_ratio = math.log(self.sigma_max / self.sigma_min)

    def log_alpha(self, t):
        return torch.zeros_like(t)

    def dlog_alpha(self, t):
        return torch.zeros_like(t)

    def sigma(self, t):
        return self.sigma_min * torch.exp(t * self._log_ratio)

    def dsigma2(self, t):
        return 2.0 * self._log_ratio * self.sigma(t) ** 2

    def inverse_lambda(self, lam):
        return (-lam - math.log(self.sigma_min)) / self._log_ratio


class MeanRevertingSchedule(Schedule):
    """Mean-reverting (IR-SDE): ``dx = θ_t(μ − x) dt + σ_t dW`` with σ_t²/(2θ_t) = λ² fixed.

    θ̄_t = ∫₀ᵗ θ = θ_min t + ½(θ_max − θ_min) t², α_t = e^{−θ̄_t}, mean α_t x₀ + (1 − α_t) μ and
    standard deviation ``stationary_std · sqrt(1 − α_t²)``.
    """

    def __init__(self, theta_min: float = 0.1, theta_max: float = 10.0, stationary_std: float = 1.0,
                 mu: float | torch.Tensor = 0.0):
        self.theta_min = _positive("theta_min", theta_min)
        self.theta_max = _positive("theta_max", theta_max)
        if self.theta_max < self.theta_min:
            raise InputError(f"theta_max ({theta_max}) must be >= theta_min ({theta_min})")
        self.stationary_std = _positive("stationary_std", stationary_std)
        self.center = mu
        self._vp = VPSchedule(2.0 * self.theta_min, 2.0 * self.theta_max)

    def log_alpha(self, t):
        return self._vp.log_alpha(t)

    def dlog_alpha(self, t):
        return self._vp.dlog_alpha(t)

    def sigma(self, t):
        return self.stationary_std * self._vp.sigma(t)

    def dsigma2(self, t):
        return self.stationary_std**2 * self._vp.dsigma2(t)

    def inverse_lambda(self, lam):
        return self._vp.inverse_lambda(lam + math.log(self.stationary_std))
