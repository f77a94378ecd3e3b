"""Ergodic linear-quadratic control under a Gaussian exploratory policy (Jia & Zhou's example)."""

from __future__ import annotations

import math

import numpy as np
import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError
from stochflow.rl.envs import _quadratic as q
from stochflow.rl.envs._base import Environment, check_positive
from stochflow.rl.features import FeatureMap, Polynomial
from stochflow.rl.settings import Ergodic


class ErgodicLQ(Environment):
    """``dX = (A X + B u) dt + (C X + D u) dW`` with actions ``u ~ N(a x + b, v)`` drawn by a fixed
    Gaussian policy, reward ``r(x, u) = -(M/2 x^2 + R x u + N/2 u^2 + P x + Q u)`` plus, with
    ``entropy=True``, the entropy bonus ``gamma H(pi) = gamma/2 log(2 pi e v)``; long-run average.

    The state follows the exploratory (relaxed) dynamics: drift ``A x + B(a x + b)``, squared diffusion
    ``(C x + D(a x + b))^2 + D^2 v``; rewards are averaged over the policy. The policy's value is
    ``J(x) = k2/2 x^2 + k1 x`` and its average reward ``rho``, in closed form. The default policy is
    the optimal one of the entropy-regularised problem: ``a = -R/(N - k2)``, ``b = -Q/(N - k2)``,
    ``v = gamma/(N - k2)`` with ``k2 = (1 - sqrt 7)/2``, ``k1 = 5 - 2 sqrt 7`` for the defaults, where
    the classical optimal average reward is ``2(3 - sqrt 7)``.

    Simulated by Euler-Maruyama with stochflow-sde; the discrete target follows the Euler chain.
    """

    schemes = ("euler",)
    scheme = "euler"

    def __init__(self, A: float = -1.0, B: float = 0.0, C: float = 0.0, D: float = 1.0, M: float = 2.0,
                 N: float = 2.0, R: float = 1.0, P: float = 1.0, Q: float = 2.0, gamma: float = 0.1,
                 policy: tuple[float, float, float] | None = None, entropy: bool = True):
        vals = {k: check_positive(k, v, signed=True) for k, v in dict(A=A, B=B, C=C, D=D, M=M, N=N, R=R, P=P, Q=Q).items()}
        self.__dict__.update(vals)
        self.gamma = check_positive("gamma", gamma)
        self.entropy = bool(entropy)
        if policy is None:
            k2 = self.optimal_k2()
            policy = (-R / (N - k2), -Q / (N - k2), self.gamma / (N - k2))
        a, b, v = (check_positive(n, float(x), signed=True) for n, x in zip("abv", policy))
        if v <= 0:
            raise InputError(f"the policy variance must be > 0, got {v}")
        self.policy = (a, b, v)
        if 2 * (self.A + self.B * a) + (self.C + self.D * a) ** 2 >= 0:
            raise InputError("the policy is not stable: the second moment of X grows without bound")
        self.setting = Ergodic()

    def __repr__(self) -> str:
        return f"ErgodicLQ(policy={self.policy}, gamma={self.gamma}, entropy={self.entropy})"

    def optimal_k2(self) -> float:
        """The root of the Riccati equation of the exploratory problem that gives a stable optimum,
        when ``B = C = 0`` (Jia & Zhou's example); otherwise the default policy must be given."""
        if self.B != 0 or self.C != 0:
            raise InputError("give policy=(a, b, v) explicitly when B or C is non-zero")
        # the x^2 terms of the HJB with J = k x^2 / 2: (N - D^2 k)(M/2 - A k) = R^2 / 2, i.e.
        # A D^2 k^2 - (A N + M D^2 / 2) k + (M N - R^2) / 2 = 0
        D2 = self.D**2
        a2, a1, a0 = self.A * D2, -(self.A * self.N + self.M * D2 / 2), (self.M * self.N - self.R**2) / 2
        roots = np.roots([a2, a1, a0]).real
        k = float(min(roots)) if self.A < 0 else float(max(roots))
        return k

    # coefficients ---------------------------------------------------------------------------------
    def _drift_diffusion(self) -> tuple[float, float, float, float, float]:
        a, b, v = self.policy
        a1, a0 = self.A + self.B * a, self.B * b
        s1, s0 = self.C + self.D * a, self.D * b
        return a1, a0, s1 * s1, 2 * s1 * s0, s0 * s0 + self.D**2 * v

    def reward_coefficients(self) -> np.ndarray:
        """``(r2, r1, r0)`` of the policy-averaged reward."""
        a, b, v = self.policy
        r2 = -(self.M / 2 + self.R * a + self.N * a * a / 2)
        r1 = -(self.R * b + self.N * a * b + self.P + self.Q * a)
        r0 = -(self.N / 2 * (b * b + v) + self.Q * b)
        if self.entropy:
            r0 += self.gamma * 0.5 * math.log(2 * math.pi * math.e * v)
        return np.array([r2, r1, r0])

    def value_coefficients(self) -> tuple[np.ndarray, float]:
        """``((k2/2, k1, 0), rho)``: ``J(x) = k2/2 x^2 + k1 x`` and the average reward."""
        return q.continuous_ergodic(self.reward_coefficients(), q.generator_matrix(*self._drift_diffusion()))

    @property
    def true_rho(self) -> float:
        return self.value_coefficients()[1]

    def transition(self, dt: float) -> np.ndarray:
        a1, a0, s2, s1, s0 = self._drift_diffusion()
        return q.transition_matrix(1 + a1 * dt, a0 * dt, s2 * dt, s1 * dt, s0 * dt)

    def discrete_coefficients(self, dt: float, reward_rule: str = "left") -> tuple[np.ndarray, float]:
        return q.discrete_ergodic(self.reward_coefficients(), self.transition(dt), dt, reward_rule)

    def discrete_rho(self, dt: float, reward_rule: str = "left") -> float:
        return self.discrete_coefficients(check_positive("dt", dt), reward_rule)[1]

    def reward(self, x):
        r = self.reward_coefficients()
        return r[0] * x**2 + r[1] * x + r[2]

    def _true_value(self, x, t):
        k, _ = self.value_coefficients()
        return k[0] * x**2 + k[1] * x

    def _discrete_value(self, x, t, dt, rule):
        k, _ = self.discrete_coefficients(dt, rule)
        return k[0] * x**2 + k[1] * x

    def exact_features(self) -> FeatureMap:
        return Polynomial(2, constant=False)

    def process(self) -> sde.SDE:
        """``dX = (a1 x + a0) dt + sqrt(s2 x^2 + s1 x + s0) dW`` (Itô, diagonal noise)."""
        a1, a0, s2, s1, s0 = self._drift_diffusion()
        return sde.SDE(drift=lambda t, y: a1 * y + a0,
                       diffusion=lambda t, y: torch.sqrt((s2 * y * y + s1 * y + s0).clamp_min(0.0)),
                       noise="diagonal", kind="ito")
