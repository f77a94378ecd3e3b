"""Geometric Brownian motion with a power reward."""

from __future__ import annotations

import math

import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError
from stochflow.rl.envs._base import Environment, check_positive
from stochflow.rl.features import FeatureMap, Power
from stochflow.rl.settings import Discounted


class GBMPower(Environment):
    """``dS = mu S dt + sigma S dW``, reward ``r(s) = s^p``, discount rate ``beta``.

    ``V(s) = s^p / k`` with ``k = beta - p mu - p (p - 1) sigma^2 / 2 > 0`` (required).
    """

    x_range = (0.5, 2.0)

    def __init__(self, mu: float = 0.05, sigma: float = 0.3, beta: float = 0.5, p: float = 0.5):
        self.mu = check_positive("mu", mu, signed=True)
        self.sigma = check_positive("sigma", sigma)
        self.beta = check_positive("beta", beta)
        self.p = check_positive("p", p, signed=True)
        if self.k <= 0:
            raise InputError(f"the value is infinite: need beta > p mu + p (p-1) sigma^2 / 2, got k = {self.k:g}")
        self.setting = Discounted(self.beta)

    def __repr__(self) -> str:
        return f"GBMPower(mu={self.mu}, sigma={self.sigma}, beta={self.beta}, p={self.p})"

    @property
    def k(self) -> float:
        return self.beta - self.p * self.mu - 0.5 * self.p * (self.p - 1) * self.sigma**2

    def reward(self, x):
        return x**self.p

    def _true_value(self, x, t):
        return x**self.p / self.k

    def _discrete_value(self, x, t, dt, rule):
        q = math.exp(-self.k * dt)  # e^{-beta dt} E[S'^p | s] / s^p
        a = dt / (1 - q) if rule == "left" else 0.5 * dt * (1 + q) / (1 - q)
        return a * x**self.p

    def exact_features(self) -> FeatureMap:
        return Power([self.p])

    def process(self) -> sde.GBM:
        return sde.GBM(mu=self.mu, sigma=self.sigma)

    def _exact_step(self, x, dt, z):
        return self.process().exact(x, dt, torch.sqrt(dt) * z)
