"""Closed forms for one-dimensional problems with affine drift, quadratic variance and quadratic
reward (OU with ``r = x^2``, the ergodic LQ problem): value functions ``k2 x^2 + k1 x + k0``.

``dX = (a1 x + a0) dt + sqrt(s2 x^2 + s1 x + s0) dW``; a discrete scheme is described by its one-step
conditional mean ``u x + w`` and variance ``v2 x^2 + v1 x + v0``.
"""

from __future__ import annotations

import numpy as np


def generator_matrix(a1: float, a0: float, s2: float, s1: float, s0: float) -> np.ndarray:
    """``L`` acting on coefficients ``(k2, k1, k0)`` of a quadratic: ``(Lf)`` coefficients."""
    return np.array([[2 * a1 + s2, 0.0, 0.0], [2 * a0 + s1, a1, 0.0], [s0, a0, 0.0]])


def transition_matrix(u: float, w: float, v2: float, v1: float, v0: float) -> np.ndarray:
    """``P`` acting on ``(k2, k1, k0)``: coefficients of ``E[f(X') | X = x]``."""
    return np.array([[u * u + v2, 0.0, 0.0], [2 * u * w + v1, u, 0.0], [w * w + v0, w, 1.0]])


def continuous_discounted(r: np.ndarray, L: np.ndarray, beta: float) -> np.ndarray:
    """Solve ``beta k - L k = r``."""
    return np.linalg.solve(beta * np.eye(3) - L, r)


def continuous_ergodic(r: np.ndarray, L: np.ndarray) -> tuple[np.ndarray, float]:
    """Solve ``rho = r + L k`` with ``k0 = 0``: returns ``(k, rho)``."""
    k21 = np.linalg.solve(-L[:2, :2], r[:2])
    k = np.array([k21[0], k21[1], 0.0])
    return k, float(r[2] + (L @ k)[2])


def reward_step(r: np.ndarray, P: np.ndarray, gamma: float, dt: float, rule: str) -> np.ndarray:
    """Coefficients of the reward integral over one step, ``R(x)``."""
    if rule == "left":
        return r * dt
    return 0.5 * dt * (r + gamma * (P @ r))


def discrete_discounted(r: np.ndarray, P: np.ndarray, beta: float, dt: float, rule: str) -> np.ndarray:
    """Fixed point ``k = R + gamma P k`` with ``gamma = exp(-beta dt)``."""
    gamma = np.exp(-beta * dt)
    return np.linalg.solve(np.eye(3) - gamma * P, reward_step(r, P, gamma, dt, rule))


def discrete_ergodic(r: np.ndarray, P: np.ndarray, dt: float, rule: str) -> tuple[np.ndarray, float]:
    """``k + rho dt = R + P k`` with ``k0 = 0``: returns ``(k, rho)``."""
    R = reward_step(r, P, 1.0, dt, rule)
    k21 = np.linalg.solve(np.eye(2) - P[:2, :2], R[:2])
    k = np.array([k21[0], k21[1], 0.0])
    return k, float((R[2] + (P @ k)[2]) / dt)


def discrete_finite(r: np.ndarray, P: np.ndarray, h: np.ndarray, beta: float, dt: float, n: int,
                    rule: str) -> np.ndarray:
    """Backward recursion ``k_n = R + gamma P k_{n+1}``, ``k_N = h``: returns ``(N+1, 3)``."""
    gamma = np.exp(-beta * dt)
    R = reward_step(r, P, gamma, dt, rule)
    out = np.empty((n + 1, 3))
    out[n] = h
    for i in range(n - 1, -1, -1):
        out[i] = R + gamma * P @ out[i + 1]
    return out
