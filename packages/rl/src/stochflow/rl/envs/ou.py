"""Ornstein-Uhlenbeck state with quadratic reward: discounted and finite horizon."""

from __future__ import annotations

import math

import numpy as np
import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError
from stochflow.rl.envs import _quadratic as q
from stochflow.rl.envs._base import Environment, check_positive
from stochflow.rl.features import FeatureMap, Polynomial, TimeExponential, TimeState
from stochflow.rl.settings import Discounted, Ergodic, FiniteHorizon


class OUQuadratic(Environment):
    """``dX = -kappa X dt + sigma dW``, reward ``r(x) = x^2``, discount rate ``beta``.

    Discounted (``horizon=None``): ``V(x) = x^2/(beta + 2 kappa) + sigma^2/(beta (beta + 2 kappa))``.
    Ergodic (``ergodic=True``, ``beta`` ignored): ``J(x) = x^2 / (2 kappa)``, ``rho = sigma^2 / (2 kappa)``.
    Finite horizon ``T`` with terminal reward ``h(x) = terminal x^2``: ``J(t, x) = a(tau) x^2 + b(tau)``,
    ``tau = T - t``, ``a(tau) = a_inf + (terminal - a_inf) e^{-(beta + 2 kappa) tau}``,
    ``b(tau) = sigma^2 [a_inf (1 - e^{-beta tau})/beta + (terminal - a_inf)(e^{-beta tau} - e^{-(beta+2kappa) tau})/(2 kappa)]``.

    Parameters
    ----------
    kappa, sigma, beta
        Mean reversion, volatility and discount rate, all > 0.
    horizon, terminal
        Finite horizon ``T`` and the coefficient of the terminal reward ``h(x) = terminal x^2``.
    ergodic
        Evaluate the long-run average reward instead of the discounted value.
    scheme
        ``"exact"`` (the exact Gaussian transition) or ``"euler"`` (Euler-Maruyama with stochflow-sde);
        the discrete-time target follows the scheme.
    """

    schemes = ("exact", "euler")

    def __init__(self, kappa: float = 1.0, sigma: float = 0.5, beta: float = 0.5, horizon: float | None = None,
                 terminal: float = 0.0, ergodic: bool = False, scheme: str = "exact"):
        self.kappa = check_positive("kappa", kappa)
        self.sigma = check_positive("sigma", sigma)
        self.beta = check_positive("beta", beta)
        self.terminal = check_positive("terminal", terminal, signed=True)
        if scheme not in self.schemes:
            raise InputError(f"scheme must be one of {self.schemes}, got {scheme!r}")
        self.scheme = scheme
        self.horizon = None if horizon is None else check_positive("horizon", horizon)
        self.ergodic = bool(ergodic)
        if self.ergodic and self.horizon is not None:
            raise InputError("choose either a finite horizon or the ergodic setting")
        if self.ergodic:
            self.setting = Ergodic()
        elif self.horizon is None:
            self.setting = Discounted(self.beta)
        else:
            h2 = self.terminal
            self.setting = FiniteHorizon(self.horizon, terminal=lambda x: h2 * x[..., 0] ** 2, beta=self.beta)

    def __repr__(self) -> str:
        return (f"OUQuadratic(kappa={self.kappa}, sigma={self.sigma}, beta={self.beta}, horizon={self.horizon}, "
                f"terminal={self.terminal}, ergodic={self.ergodic}, scheme={self.scheme!r})")

    @property
    def _c(self) -> float:
        return self.beta + 2 * self.kappa

    def reward(self, x: torch.Tensor) -> torch.Tensor:
        return x**2

    def coefficients(self, tau: torch.Tensor | float | None = None) -> tuple:
        """``(a, b)`` with ``V = a x^2 + b`` (at time to go ``tau`` for a finite horizon)."""
        a_inf, c, beta, s2 = 1.0 / self._c, self._c, self.beta, self.sigma**2
        if self.horizon is None:
            return a_inf, s2 / (beta * c)
        tau = torch.as_tensor(tau, dtype=torch.float64)
        e_c = torch.exp(-c * tau)
        a = a_inf + (self.terminal - a_inf) * e_c
        first = (1 - torch.exp(-beta * tau)) / beta
        b = s2 * (a_inf * first + (self.terminal - a_inf) * (torch.exp(-beta * tau) - e_c) / (2 * self.kappa))
        return a, b

    @property
    def true_rho(self) -> float:
        """Average reward (ergodic setting)."""
        return self.sigma**2 / (2 * self.kappa)

    def discrete_rho(self, dt: float, reward_rule: str = "left") -> float:
        """Average reward of the ``dt``-chain (ergodic setting)."""
        return q.discrete_ergodic(np.array([1.0, 0.0, 0.0]), self.transition(check_positive("dt", dt)), dt,
                                  reward_rule)[1]

    def _true_value(self, x, t):
        if self.ergodic:
            return x**2 / (2 * self.kappa)
        if self.horizon is None:
            a, b = self.coefficients()
        else:
            a, b = self.coefficients(self.horizon - t.to(torch.float64))
            a, b = a.to(x), b.to(x)
        return a * x**2 + b

    def transition(self, dt: float) -> np.ndarray:
        """``P`` of the simulated chain (see :mod:`._quadratic`)."""
        if self.scheme == "exact":
            u = math.exp(-self.kappa * dt)
            return q.transition_matrix(u, 0.0, 0.0, 0.0, self.sigma**2 * (1 - u * u) / (2 * self.kappa))
        return q.transition_matrix(1 - self.kappa * dt, 0.0, 0.0, 0.0, self.sigma**2 * dt)

    def discrete_coefficients(self, dt: float, reward_rule: str = "left") -> np.ndarray:
        """``(k2, k1, k0)`` of the discrete target (``(N+1, 3)`` on the grid for a finite horizon)."""
        r = np.array([1.0, 0.0, 0.0])
        P = self.transition(dt)
        if self.ergodic:
            return q.discrete_ergodic(r, P, dt, reward_rule)[0]
        if self.horizon is None:
            return q.discrete_discounted(r, P, self.beta, dt, reward_rule)
        n = round(self.horizon / dt)
        if abs(n * dt - self.horizon) > 1e-9 * self.horizon:
            raise InputError(f"the horizon {self.horizon} must be a whole number of steps dt={dt}")
        return q.discrete_finite(r, P, np.array([self.terminal, 0.0, 0.0]), self.beta, dt, n, reward_rule)

    def _discrete_value(self, x, t, dt, rule):
        k = torch.as_tensor(self.discrete_coefficients(dt, rule), dtype=x.dtype, device=x.device)
        if self.horizon is not None:
            idx = torch.round(t / dt).long()
            if bool(((idx * dt - t).abs() > 1e-6 * max(1.0, self.horizon)).any()) or bool((idx < 0).any()) or \
                    bool((idx >= k.shape[0]).any()):
                raise InputError(f"t must lie on the grid 0, dt, ..., {self.horizon}")
            k = k[idx]
        return k[..., 0] * x**2 + k[..., 1] * x + k[..., 2]

    def exact_features(self) -> FeatureMap:
        state = Polynomial(2, even=True, constant=not self.ergodic)
        if self.horizon is None:
            return state
        return TimeState(state, TimeExponential([self._c, self.beta], self.horizon))

    def _exact_step(self, x, dt, z):
        u = torch.exp(-self.kappa * dt)
        return u * x + self.sigma * torch.sqrt((1 - u * u) / (2 * self.kappa)) * z

    def process(self) -> sde.OrnsteinUhlenbeck:
        return sde.OrnsteinUhlenbeck(theta=self.kappa, mu=0.0, sigma=self.sigma)
