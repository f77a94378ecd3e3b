"""The martingale increment (the continuous-time TD error), defined once.

On a grid ``t_0 < ... < t_N`` with steps ``dt_k`` the martingale of Jia & Zhou (2022),
``M_s = e^{-beta s} J(s, X_s) + int_0^s e^{-beta u} r_u du``, moves by ``e^{-beta t_k} delta_k`` with

    delta_k = gamma_k J(t_{k+1}, X_{k+1}) - J(t_k, X_k) + R_k - rho dt_k,

``gamma_k = exp(-beta dt_k)`` and ``R_k`` the reward integral over the step: ``r_k dt_k`` (left
rule) or ``(r_k + gamma_k r_{k+1}) dt_k / 2`` (trapezoidal rule, second order in ``dt``).
``rho`` is the average reward in the ergodic setting (``beta = 0``) and zero otherwise. In a finite
horizon the value at the horizon is the terminal reward ``h``.

Every method uses this one definition: TD(0) and TD(lambda) as ``sum_k xi_k delta_k = 0`` with test
functions ``xi``, LSTD by solving that linear system, GTD through a quadratic form of it, the
martingale loss through ``G_j - J_j = sum_{k >= j} (prod gamma) delta_k`` and MSTDE as
``sum_k delta_k^2``. All functions here act on tensors whose step axis is ``-1`` (or ``-2`` when a
trailing feature axis is present, see :func:`increment`).
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError
from stochflow.rl.settings import Setting

REWARD_RULES = ("left", "trapezoid")


def check_rule(rule: str) -> str:
    if rule not in REWARD_RULES:
        raise InputError(f"reward_rule must be one of {REWARD_RULES}, got {rule!r}")
    return rule


def discounts(dt: torch.Tensor, setting: Setting) -> torch.Tensor:
    """``gamma_k = exp(-beta dt_k)``, same shape as ``dt``."""
    return torch.exp(-setting.beta * dt)


def reward_integral(rewards: torch.Tensor, dt: torch.Tensor, gamma: torch.Tensor, rule: str = "left") -> torch.Tensor:
    """``R_k``, shape ``(B, N)``, from rewards at the grid points ``(B, N+1)``."""
    if rule == "left":
        return rewards[..., :-1] * dt
    if rule == "trapezoid":
        return 0.5 * (rewards[..., :-1] + gamma * rewards[..., 1:]) * dt
    raise InputError(f"reward_rule must be one of {REWARD_RULES}, got {rule!r}")


def increment(v_now: torch.Tensor, v_next: torch.Tensor, gamma: torch.Tensor,
              reward: torch.Tensor | float = 0.0) -> torch.Tensor:
    """``delta = gamma v_next - v_now + reward``.

    ``v_now`` and ``v_next`` are values ``(B, N)`` or feature vectors ``(B, N, p)``; in the latter
    case ``gamma`` and ``reward`` are broadcast over the feature axis, which gives the coefficient
    of ``theta`` of the (affine) increment of a linear value function.
    """
    if v_now.ndim == gamma.ndim + 1:
        gamma = gamma.unsqueeze(-1)
        if isinstance(reward, torch.Tensor):
            reward = reward.unsqueeze(-1)
    return gamma * v_next - v_now + reward


def forward_trace(g: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
    """``xi_k = decay_{k-1} xi_{k-1} + g_k`` along the step axis (axis 1) with ``xi_0 = g_0``.

    ``g`` has shape ``(B, N)`` or ``(B, N, p)``, ``decay`` shape ``(1 or B, N)``.
    """
    out = torch.empty_like(g)
    acc = g[:, 0]
    out[:, 0] = acc
    dec = decay if g.ndim == 2 else decay.unsqueeze(-1)
    dec = dec.expand(g.shape[0], *dec.shape[1:])
    for k in range(1, g.shape[1]):
        acc = dec[:, k - 1] * acc + g[:, k]
        out[:, k] = acc
    return out


def tail_sum(x: torch.Tensor, decay: torch.Tensor) -> torch.Tensor:
    """``D_j = sum_{k >= j} (prod_{j <= i < k} decay_i) x_k`` along axis 1 (the reverse of
    :func:`forward_trace`), so that ``sum_k xi_k x_k = sum_j g_j D_j``."""
    out = torch.empty_like(x)
    n = x.shape[1]
    dec = decay if x.ndim == 2 else decay.unsqueeze(-1)
    dec = dec.expand(x.shape[0], *dec.shape[1:])
    acc = x[:, n - 1]
    out[:, n - 1] = acc
    for k in range(n - 2, -1, -1):
        acc = x[:, k] + dec[:, k] * acc
        out[:, k] = acc
    return out


def trace_decay(dt: torch.Tensor, gamma: torch.Tensor, lam: float) -> torch.Tensor:
    """Decay of the lambda-trace over one step: ``lambda^{dt} gamma`` (``lambda`` per unit time)."""
    if lam == 0.0:
        return torch.zeros_like(dt)
    return gamma * torch.exp(dt * torch.log(torch.as_tensor(lam, dtype=dt.dtype, device=dt.device)))
