"""Brownian motion with drift and a sine reward."""

from __future__ import annotations

import math

import torch

import stochflow.sde as sde
from stochflow.rl.envs._base import Environment, check_positive
from stochflow.rl.features import FeatureMap, Fourier
from stochflow.rl.settings import Discounted


class BrownianSine(Environment):
    """``dX = mu dt + sigma dW``, reward ``r(x) = sin x``, discount rate ``beta``.

    ``V(x) = (c sin x + mu cos x) / (c^2 + mu^2)`` with ``c = beta + sigma^2/2``. A polynomial basis
    cannot represent it, which separates the methods (each converges to its own projection).
    """

    x_range = (-math.pi, math.pi)

    def __init__(self, mu: float = 0.5, sigma: float = 1.0, beta: float = 0.5):
        self.mu = check_positive("mu", mu, signed=True)
        self.sigma = check_positive("sigma", sigma)
        self.beta = check_positive("beta", beta)
        self.setting = Discounted(self.beta)

    def __repr__(self) -> str:
        return f"BrownianSine(mu={self.mu}, sigma={self.sigma}, beta={self.beta})"

    def reward(self, x):
        return torch.sin(x)

    def _true_value(self, x, t):
        c = self.beta + self.sigma**2 / 2
        return (c * torch.sin(x) + self.mu * torch.cos(x)) / (c * c + self.mu**2)

    def _discrete_value(self, x, t, dt, rule):
        # V = Im(K e^{ix}); E[e^{i X'} | x] = e^{ix} e^{i mu dt - sigma^2 dt / 2}
        z = complex(math.exp(-(self.beta + self.sigma**2 / 2) * dt) * math.cos(self.mu * dt),
                    math.exp(-(self.beta + self.sigma**2 / 2) * dt) * math.sin(self.mu * dt))
        K = dt / (1 - z) if rule == "left" else 0.5 * dt * (1 + z) / (1 - z)
        return K.real * torch.sin(x) + K.imag * torch.cos(x)

    def exact_features(self) -> FeatureMap:
        return Fourier([1.0], constant=False)

    def process(self) -> sde.BrownianMotion:
        return sde.BrownianMotion(mu=self.mu, sigma=self.sigma)

    def _exact_step(self, x, dt, z):
        return self.process().exact(x, dt, torch.sqrt(dt) * z)
