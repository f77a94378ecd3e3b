"""Drifts of the test systems, as ``torch.nn.Module`` with learnable (positive) parameters.

One definition serves both the data generators (:mod:`stochflow.bridge.snapshots`) and the reference
classes refit by maximum likelihood (:class:`~stochflow.bridge.drift_reference.DriftReference`):

- :class:`LotkaVolterraDrift` (predator-prey), state ``(x, y)``:

      dx/dt = alpha x - beta x y,     dy/dt = delta x y - gamma y.

- :class:`RepressilatorDrift` (three genes repressing each other in a ring, Elowitz & Leibler 2000,
  protein-only form), state ``(x_1, x_2, x_3)``:

      dx_i/dt = beta / (1 + (x_{i-1} / k)^n) - gamma x_i,     x_0 := x_3.

- :class:`PitchforkDrift` (a branching differentiation process in two latent coordinates): a
  pseudotime ``s`` moving at unit speed through a supercritical pitchfork in ``z``,

      ds/dt = 1,     dz/dt = lam (s z - z^3),

  stable at ``z = 0`` while ``s < 0``, splitting into branches ``z = +-sqrt(s)`` once ``s > 0``.

Parameters are stored as logarithms so that the maximum-likelihood refit keeps them positive; read them
with :meth:`values`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from stochflow.core.errors import InputError


class _PositiveParams(torch.nn.Module):
    """Named positive parameters stored as ``log`` values (``torch.nn.Parameter`` each)."""

    names: tuple[str, ...] = ()
    dim: int = 0

    def __init__(self, dtype: torch.dtype = torch.float64, **values: float) -> None:
        super().__init__()
        for name in self.names:
            v = values[name]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise InputError(f"{type(self).__name__}: {name} must be a positive number, got {v!r}")
            setattr(self, f"log_{name}", torch.nn.Parameter(torch.tensor(math.log(v), dtype=dtype)))

    def values(self) -> dict[str, float]:
        """The parameters as floats, e.g. ``{"alpha": 1.0, ...}``."""
        return {name: float(getattr(self, f"log_{name}").detach().exp()) for name in self.names}

    def _p(self, name: str) -> torch.Tensor:
        return getattr(self, f"log_{name}").exp()

    def _check(self, x: torch.Tensor) -> None:
        if x.shape[-1] != self.dim:
            raise InputError(f"{type(self).__name__} acts on states of dimension {self.dim}, got {x.shape[-1]}")

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v:.4g}" for k, v in self.values().items())


class LotkaVolterraDrift(_PositiveParams):
    """Lotka-Volterra predator-prey drift ``(alpha x - beta x y, delta x y - gamma y)``.

    Parameters
    ----------
    alpha, beta, gamma, delta
        Prey growth, predation, predator death, predator growth per prey (positive). The defaults are
        those of Shen, Berlinghieri & Broderick's test system.
    dtype
        Of the parameters.
    """

    names = ("alpha", "beta", "gamma", "delta")
    dim = 2

    def __init__(self, alpha: float = 1.0, beta: float = 0.4, gamma: float = 0.4, delta: float = 0.1,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(dtype, alpha=alpha, beta=beta, gamma=gamma, delta=delta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The drift at states ``x`` of shape ``(..., 2)``."""
        self._check(x)
        u, v = x[..., 0], x[..., 1]
        a, b, g, d = (self._p(n) for n in self.names)
        return torch.stack([a * u - b * u * v, d * u * v - g * v], dim=-1)


class RepressilatorDrift(_PositiveParams):
    """Repressilator drift ``beta / (1 + (x_{i-1} / k)^n) - gamma x_i`` on three genes.

    Parameters
    ----------
    beta, n, k, gamma
        Maximal production, Hill coefficient, repression threshold, degradation (positive). Defaults
        ``10, 3, 1, 1`` (a limit cycle: the loop gain at the fixed point exceeds 2).
    dtype
        Of the parameters.
    """

    names = ("beta", "n", "k", "gamma")
    dim = 3

    def __init__(self, beta: float = 10.0, n: float = 3.0, k: float = 1.0, gamma: float = 1.0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__(dtype, beta=beta, n=n, k=k, gamma=gamma)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The drift at states ``x`` of shape ``(..., 3)`` (non-negative concentrations)."""
        self._check(x)
        beta, n, k, gamma = (self._p(name) for name in self.names)
        repressor = torch.roll(x, 1, dims=-1).clamp_min(0.0)
        return beta / (1 + (repressor / k) ** n) - gamma * x


class PitchforkDrift(_PositiveParams):
    """Latent drift of a branching process: ``(1, lam (s z - z^3))`` for states ``(s, z)``.

    Parameters
    ----------
    lam
        Rate of commitment to a branch (positive).
    dtype
        Of the parameter.
    """

    names = ("lam",)
    dim = 2

    def __init__(self, lam: float = 2.0, dtype: torch.dtype = torch.float64) -> None:
        super().__init__(dtype, lam=lam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The drift at latent states ``(s, z)`` of shape ``(..., 2)``."""
        self._check(x)
        s, z = x[..., 0], x[..., 1]
        return torch.stack([torch.ones_like(s), self._p("lam") * (s * z - z**3)], dim=-1)


SYSTEMS: dict[str, Any] = {"lotka-volterra": LotkaVolterraDrift, "repressilator": RepressilatorDrift}
