"""Credit models of the bank and the counterparty.

- :class:`StructuralFirm`: Merton/Black–Cox first passage. The firm's asset value is a geometric
  Brownian motion correlated with the market factors; default is the first time it falls to the
  barrier. On a time grid a path may cross the barrier between two grid points: the Brownian-bridge
  correction declares a default in a step with the probability
  ``exp(-2 (x_n - b)(x_{n+1} - b) / (σ² Δt))`` that a bridge between the two log values crosses the
  log barrier ``b`` (this probability does not depend on the drift, so it also holds under a tilted
  measure).
- :class:`ExponentialDefault`: a default time ``τ ~ Exp(λ)`` independent of everything else.

:func:`default_steps` returns, per path, the index ``m`` of the first grid time ``t_m`` at or after
default (``N + 1`` when there is no default up to ``T``): close-out happens at ``t_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from stochflow.core.errors import InputError
from stochflow.xva import checks
from stochflow.xva.noise import uniforms


@dataclass(frozen=True)
class StructuralFirm:
    """A firm that defaults when its asset value ``A`` first falls to ``barrier``.

    Parameters
    ----------
    value : float
        Initial asset value ``A_0`` (> barrier).
    barrier : float
        Default barrier (> 0).
    vol : float
        Asset volatility (> 0).
    recovery : float
        Recovery rate in [0, 1].
    drift : float, optional
        Drift ``μ`` of ``dA = μ A dt + σ A dW`` under the pricing measure; default the short rate.
    """

    value: float
    barrier: float
    vol: float
    recovery: float = 0.4
    drift: float | None = None

    def __post_init__(self) -> None:
        checks.positive("asset value", self.value)
        checks.positive("barrier", self.barrier)
        if checks.volatility("asset vol", self.vol) == 0:
            raise InputError("asset vol must be > 0 for a first-passage model")
        checks.recovery("recovery", self.recovery)
        if self.barrier >= self.value:
            raise InputError(f"barrier ({self.barrier}) must lie below the initial asset value ({self.value}): "
                             "the firm would be in default today")
        if self.drift is not None:
            checks.as_float("drift", self.drift)

    def mu(self, rate: float) -> float:
        return float(rate if self.drift is None else self.drift)

    def distance(self) -> float:
        """``ln(A_0 / barrier)``."""
        return math.log(self.value / self.barrier)


@dataclass(frozen=True)
class ExponentialDefault:
    """An independent default time with constant intensity ``λ`` (>= 0)."""

    intensity: float
    recovery: float = 0.4

    def __post_init__(self) -> None:
        checks.intensity("intensity", self.intensity)
        checks.recovery("recovery", self.recovery)


def first_passage_steps(asset: torch.Tensor, barrier: float, vol: float, t: torch.Tensor, *,
                        seed: int, keys: tuple = (), bridge: bool = True) -> torch.Tensor:
    """Grid index of the first default of asset paths ``asset`` (shape ``(N + 1, B)``).

    Parameters
    ----------
    asset
        Asset values on the grid ``t``.
    barrier, vol
        Barrier and the asset's volatility (for the bridge correction).
    seed, keys
        Seed of the uniforms deciding bridge crossings.
    bridge
        Apply the Brownian-bridge crossing correction (without it defaults are only seen on the grid,
        which underestimates their probability).

    Returns
    -------
    torch.Tensor
        ``int64`` of shape ``(B,)``: the first ``m >= 1`` with a default in ``(t_{m-1}, t_m]``, or
        ``N + 1``.
    """
    n = asset.shape[0] - 1
    logb = math.log(barrier)
    dist = asset.log() - logb  # (N + 1, B)
    crossed = dist[1:] <= 0
    if bridge:
        dt = torch.diff(t)[:, None]
        p = torch.exp(-2.0 * dist[:-1].clamp_min(0) * dist[1:].clamp_min(0) / (vol**2 * dt))
        u = uniforms(tuple(crossed.shape), asset, seed=seed, keys=("bridge", *keys))
        crossed = crossed | (u < p)
    return _first_true(crossed, n)


def exponential_steps(intensity: float, t: torch.Tensor, batch: int, *, seed: int, keys: tuple = ()) -> torch.Tensor:
    """Grid index ``m`` with ``τ ∈ (t_{m-1}, t_m]`` for ``τ ~ Exp(λ)``, or ``N + 1`` after ``T``."""
    n = t.shape[0] - 1
    u = uniforms((batch,), t, seed=seed, keys=("exponential", *keys))
    if intensity == 0:
        return torch.full((batch,), n + 1, dtype=torch.int64, device=t.device)
    tau = -torch.log1p(-u) / intensity
    idx = torch.searchsorted(t.contiguous(), tau.contiguous(), right=False)
    return torch.where(tau > t[-1], torch.full_like(idx, n + 1), idx.clamp_min(1))


def _first_true(crossed: torch.Tensor, n: int) -> torch.Tensor:
    """Index (1-based step) of the first True along dim 0, or ``n + 1``."""
    steps = torch.arange(1, n + 1, device=crossed.device)[:, None].expand_as(crossed)
    big = torch.full_like(steps, n + 1)
    return torch.where(crossed, steps, big).min(0).values
