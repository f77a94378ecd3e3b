"""Forward models: correlated geometric Brownian motions (multi-asset Black–Scholes, firm asset
values) and scaled Brownian motion, sampled on a time grid with an optional Girsanov tilt.

A forward model maps independent Brownian increments ``dB`` (shape ``(N, B, m)``) to states
``X`` (shape ``(N + 1, B, d)``). Under a tilted measure ``Q^θ`` the increments are
``dB = dB̃ + θ dt`` with ``B̃`` a ``Q^θ``-Brownian motion; :class:`ForwardPaths` keeps ``dB̃`` (what
the deep BSDE integrates against) and the log-density ``log dQ/dQ^θ`` on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from stochflow.core.errors import InputError
from stochflow.xva import checks
from stochflow.xva.noise import brownian_increments


@dataclass
class ForwardPaths:
    """Forward paths on a grid.

    Attributes
    ----------
    t : torch.Tensor
        Grid times, shape ``(N + 1,)``.
    x : torch.Tensor
        States, shape ``(N + 1, B, d)``.
    dw : torch.Tensor
        Brownian increments of the simulation measure, shape ``(N, B, m)``.
    log_density : torch.Tensor or None
        ``log dQ/dQ^θ`` restricted to ``F_{t_n}``, shape ``(N + 1, B)``; ``None`` without a tilt.
    aux : dict
        Further pathwise quantities (values of earlier xVA layers, default indicators...).
    """

    t: torch.Tensor
    x: torch.Tensor
    dw: torch.Tensor
    log_density: torch.Tensor | None = None
    aux: dict = field(default_factory=dict)

    @property
    def batch(self) -> int:
        return self.x.shape[1]

    def density(self) -> torch.Tensor:
        """``dQ/dQ^θ`` on the grid (ones without a tilt), shape ``(N + 1, B)``."""
        if self.log_density is None:
            return torch.ones(self.x.shape[:2], dtype=self.x.dtype, device=self.x.device)
        return self.log_density.exp()


def time_grid(maturity: float, n_steps: int, *, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """Uniform grid ``0, T/N, ..., T``."""
    checks.maturity("maturity", maturity)
    checks.count("n_steps", n_steps)
    return torch.linspace(0.0, float(maturity), n_steps + 1, dtype=dtype, device=device)


def tilt_terms(dw_sim: torch.Tensor, dt: torch.Tensor, theta: torch.Tensor | None):
    """Increments under ``Q`` and ``log dQ/dQ^θ`` on the grid for a constant tilt ``θ``.

    ``dB = dB̃ + θ dt`` and ``log dQ/dQ^θ (t_n) = -θ·B̃(t_n) - |θ|² t_n / 2``.
    """
    if theta is None:
        return dw_sim, None
    theta = theta.to(dw_sim)
    dw_q = dw_sim + theta * dt[:, None, None]
    step = -(dw_sim * theta).sum(-1) - 0.5 * (theta * theta).sum() * dt[:, None]
    zero = torch.zeros_like(step[:1])
    return dw_q, torch.cat([zero, step.cumsum(0)], 0)


class CorrelatedGBM:
    """``d`` correlated geometric Brownian motions ``dX_i = μ_i X_i dt + σ_i X_i dW_i``,
    ``d⟨W_i, W_j⟩ = ρ_ij dt``, sampled by the exact log-normal transition.

    Parameters
    ----------
    spot : sequence of float
        Initial values (> 0).
    vol : sequence of float or float
        Volatilities (>= 0).
    drift : sequence of float or float
        Drifts ``μ_i`` (the short rate under the pricing measure).
    corr : array-like, optional
        Correlation matrix (positive semi-definite, unit diagonal); identity by default.
    names : sequence of str, optional
        Names of the factors (for reports).
    """

    def __init__(self, spot, vol, drift, corr=None, names=None):
        self.spot = checks.vector("spot", spot)
        d = self.spot.shape[0]
        if np.any(self.spot <= 0):
            raise InputError(f"spot values must be > 0, got {self.spot.tolist()}")
        self.vol = checks.vector("vol", vol, d)
        if np.any(self.vol < 0):
            raise InputError(f"volatilities must be >= 0, got {self.vol.tolist()}")
        self.drift = checks.vector("drift", drift, d)
        self.corr = np.eye(d) if corr is None else checks.correlation("corr", corr, d)
        self.names = list(names) if names is not None else [f"x{i}" for i in range(d)]
        # a PSD (possibly singular) matrix: Cholesky of a slightly regularised copy, exact on the diagonal
        jitter = 0.0 if np.linalg.eigvalsh(self.corr).min() > 1e-12 else 1e-12
        chol = np.linalg.cholesky(self.corr + jitter * np.eye(d))
        self.chol = chol / np.linalg.norm(chol, axis=1, keepdims=True)
        self.identity = bool(np.allclose(self.corr, np.eye(d)))

    @property
    def dim(self) -> int:
        return self.spot.shape[0]

    noise_dim = dim

    def sample(self, t: torch.Tensor, batch: int, *, seed: int, theta=None, keys: tuple = ()) -> ForwardPaths:
        """Paths on the grid ``t`` (its dtype and device); ``theta`` tilts the independent Brownian
        coordinates (see :func:`tilt_terms`)."""
        dw_sim = brownian_increments(t, batch, self.dim, seed=seed, keys=keys)
        return self.from_increments(t, dw_sim, theta=theta)

    def from_increments(self, t: torch.Tensor, dw_sim: torch.Tensor, *, theta=None) -> ForwardPaths:
        """Paths driven by given simulation-measure increments ``dw_sim`` of shape ``(N, B, d)``."""
        dt = torch.diff(t)
        theta_t = None if theta is None else torch.as_tensor(theta, dtype=t.dtype, device=t.device)
        dw_q, logd = tilt_terms(dw_sim, dt, theta_t)
        x = self.transition(t, dw_q)
        return ForwardPaths(t=t, x=x, dw=dw_sim, log_density=logd)

    def transition(self, t: torch.Tensor, dw_q: torch.Tensor, x0: torch.Tensor | None = None) -> torch.Tensor:
        """Exact GBM states from independent ``Q``-increments (correlated through Cholesky), started
        at ``x0`` (shape ``(B, d)``; default the model's spot)."""
        like = dict(dtype=t.dtype, device=t.device)
        dt = torch.diff(t)
        vol = torch.as_tensor(self.vol, **like)
        mu = torch.as_tensor(self.drift, **like)
        corr_dw = dw_q if self.identity else dw_q @ torch.as_tensor(self.chol, **like).T
        log_inc = (mu - 0.5 * vol**2) * dt[:, None, None] + vol * corr_dw
        if x0 is None:
            x0 = torch.as_tensor(self.spot, **like).expand(dw_q.shape[1], -1)
        logx = torch.cat([torch.zeros_like(log_inc[:1]), log_inc.cumsum(0)], 0)
        return x0 * logx.exp()


class ScaledBrownianMotion:
    """``X_t = x_0 + s W_t`` in ``d`` dimensions (the forward process of the Allen–Cahn and HJB
    examples with ``s = √2``)."""

    def __init__(self, x0, scale: float):
        self.x0 = checks.vector("x0", x0)
        self.scale = checks.positive("scale", scale)

    @property
    def dim(self) -> int:
        return self.x0.shape[0]

    noise_dim = dim

    def sample(self, t: torch.Tensor, batch: int, *, seed: int, theta=None, keys: tuple = ()) -> ForwardPaths:
        dw_sim = brownian_increments(t, batch, self.dim, seed=seed, keys=keys)
        return self.from_increments(t, dw_sim, theta=theta)

    def from_increments(self, t, dw_sim, *, theta=None) -> ForwardPaths:
        dt = torch.diff(t)
        theta_t = None if theta is None else torch.as_tensor(theta, dtype=t.dtype, device=t.device)
        dw_q, logd = tilt_terms(dw_sim, dt, theta_t)
        x0 = torch.as_tensor(self.x0, dtype=t.dtype, device=t.device).expand(dw_q.shape[1], -1)
        x = torch.cat([x0[None], x0 + self.scale * dw_q.cumsum(0)], 0)
        return ForwardPaths(t=t, x=x, dw=dw_sim, log_density=logd)
