"""Forward models on stochflow-sde: correlated geometric Brownian motions (multi-asset
Black–Scholes, firm asset values) and scaled Brownian motion, sampled on a time grid with an
optional Girsanov tilt.

Each model is an :class:`stochflow.sde.SDE` solved by :func:`stochflow.sde.solve` on the grid,
driven by Brownian increments drawn by stochflow-sde's fixed-grid sampler
(:func:`stochflow.sde.draw_increments`). The correlated GBM is simulated in logarithms,
``d ln X = (μ - σ²/2 + σ∘(Lθ)) dt + diag(σ) L dB̃`` (additive noise with a ``d × m`` matrix, ``L`` the
Cholesky factor of the correlation), for which the Euler step is the exact log-normal transition.

Under a tilted measure ``Q^θ`` the increments are ``dB = dB̃ + θ dt`` with ``B̃`` a
``Q^θ``-Brownian motion: the tilt enters the SDE's drift, and :class:`ForwardPaths` keeps ``dB̃``
(what the deep BSDE integrates against) and the log-density ``log dQ/dQ^θ`` on the grid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError
from stochflow.core.seeding import derive_seed
from stochflow.xva import checks


def brownian_increments(times: torch.Tensor, batch: int, dim: int, *, seed: int, keys: tuple = ()) -> torch.Tensor:
    """Independent standard Brownian increments on the grid ``times``, drawn by stochflow-sde.

    Parameters
    ----------
    times
        Increasing 1-D tensor of grid times; its dtype and device are those of the output.
    batch, dim
        Number of paths and of independent Brownian components.
    seed, keys
        Seed and sub-stream keys (the stream is ``derive_seed(seed, "stochflow-xva", "brownian", *keys)``).

    Returns
    -------
    torch.Tensor
        Shape ``(len(times) - 1, batch, dim)``.
    """
    grid = times.detach().cpu().to(torch.float64).numpy()
    return sde.draw_increments(grid, (batch, dim), derive_seed(int(seed), "stochflow-xva", "brownian", *keys),
                               dtype=times.dtype, device=times.device)


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


def log_density(dw_sim: torch.Tensor, dt: torch.Tensor, theta: np.ndarray | None) -> torch.Tensor | None:
    """``log dQ/dQ^θ (t_n) = -θ·B̃(t_n) - |θ|² t_n / 2`` on the grid for a constant tilt ``θ``."""
    if theta is None:
        return None
    th = torch.as_tensor(theta, dtype=dw_sim.dtype, device=dw_sim.device)
    step = -(dw_sim * th).sum(-1) - 0.5 * (th * th).sum() * dt[:, None]
    return torch.cat([torch.zeros_like(step[:1]), step.cumsum(0)], 0)


def arithmetic_bm(drift: np.ndarray, scale: np.ndarray) -> sde.SDE:
    """``dY = a dt + M dB`` with constant ``a`` (``d``) and ``M`` (``d`` elementwise, or ``d × m``),
    an additive-noise :class:`stochflow.sde.SDE` whose Euler step is exact."""
    consts = {"a": np.asarray(drift, dtype=np.float64), "m": np.asarray(scale, dtype=np.float64)}
    cache: dict = {}

    def const(name, y):
        key = (name, y.dtype, y.device)
        if key not in cache:
            cache[key] = torch.as_tensor(consts[name], dtype=y.dtype, device=y.device)
        return cache[key]

    def f(t, y):
        return const("a", y).expand_as(y)

    matrix = consts["m"].ndim == 2

    def g(t, y):
        m = const("m", y)
        return m.expand(*y.shape[:-1], *m.shape) if matrix else m.expand_as(y)

    return sde.SDE(f, g, noise="additive")


def solve_on_grid(process: sde.SDE, y0: torch.Tensor, t: torch.Tensor, dw: torch.Tensor) -> torch.Tensor:
    """:func:`stochflow.sde.solve` by Euler on the grid ``t`` driven by the increments ``dw``."""
    return sde.solve(process, y0, t, solver="euler", dt=None, brownian=sde.BrownianPath.from_increments(t.detach().cpu().to(torch.float64).numpy(), dw))


class CorrelatedGBM:
    """``d`` correlated geometric Brownian motions ``dX_i = μ_i X_i dt + σ_i X_i dW_i``,
    ``d⟨W_i, W_j⟩ = ρ_ij dt``: ``ln X`` is solved by :func:`stochflow.sde.solve` as an additive-noise
    :class:`stochflow.sde.SDE` (:meth:`log_process`), whose Euler step is the exact log-normal transition.

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

    def log_process(self, theta=None) -> sde.SDE:
        """``ln X`` as a stochflow-sde process under ``Q^θ``: ``d ln X = (μ - σ²/2 + σ∘(Lθ)) dt + diag(σ) L dB̃``."""
        key = None if theta is None else np.asarray(theta, dtype=np.float64).tobytes()
        cache = self.__dict__.setdefault("_log_processes", {})
        if key not in cache:
            shift = np.zeros(self.dim) if theta is None else self.chol @ np.asarray(theta, dtype=np.float64)
            drift = self.drift - 0.5 * self.vol**2 + self.vol * shift
            scale = self.vol if self.identity else self.vol[:, None] * self.chol
            cache[key] = arithmetic_bm(drift, scale)
        return cache[key]

    def sample(self, t: torch.Tensor, batch: int, *, seed: int, theta=None, keys: tuple = ()) -> ForwardPaths:
        """Paths on the grid ``t`` (its dtype and device); ``theta`` tilts the independent Brownian
        coordinates (see :func:`log_density`)."""
        dw_sim = brownian_increments(t, batch, self.dim, seed=seed, keys=keys)
        return self.from_increments(t, dw_sim, theta=theta)

    def from_increments(self, t: torch.Tensor, dw_sim: torch.Tensor, *, theta=None) -> ForwardPaths:
        """Paths driven by given simulation-measure increments ``dw_sim`` of shape ``(N, B, d)``."""
        theta = None if theta is None else checks.vector("theta", theta, self.dim)
        x = self.transition(t, dw_sim, theta=theta)
        return ForwardPaths(t=t, x=x, dw=dw_sim, log_density=log_density(dw_sim, torch.diff(t), theta))

    def step(self, t: torch.Tensor, x: torch.Tensor, dw: torch.Tensor, *, theta=None) -> torch.Tensor:
        """One step: the state at ``t[1]`` from ``x`` (``(B, d)``) at ``t[0]`` driven by the increment
        ``dw`` (``(B, d)``) of the simulation measure ``Q^θ`` (:meth:`transition` on a two-point grid)."""
        return self.transition(t, dw[None], x0=x, theta=theta)[-1]

    def diffusion_transpose(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``σ(x)ᵀ v`` with ``σ(x) = diag(σ_i x_i) L`` (the diffusion of ``X`` against independent
        Brownian motions), for ``x`` and ``v`` of shape ``(..., d)``."""
        vol = torch.as_tensor(self.vol, dtype=x.dtype, device=x.device)
        w = vol * x * v
        if self.identity:
            return w
        return w @ torch.as_tensor(self.chol, dtype=x.dtype, device=x.device)

    def transition(self, t: torch.Tensor, dw: torch.Tensor, x0: torch.Tensor | None = None, *,
                   theta=None) -> torch.Tensor:
        """States on the grid ``t`` driven by increments ``dw`` (``(N, B, d)``) of the simulation
        measure ``Q^θ``, started at ``x0`` (shape ``(B, d)``; default the model's spot)."""
        if x0 is None:
            x0 = torch.as_tensor(self.spot, dtype=t.dtype, device=t.device).expand(dw.shape[1], -1)
        logx = solve_on_grid(self.log_process(theta), torch.zeros_like(x0), t, dw)
        return x0 * logx.exp()


class ScaledBrownianMotion:
    """``X_t = x_0 + s W_t`` in ``d`` dimensions (the forward process of the Allen–Cahn and HJB
    examples with ``s = √2``): :class:`stochflow.sde.BrownianMotion` (with the tilt in its drift)."""

    def __init__(self, x0, scale: float):
        self.x0 = checks.vector("x0", x0)
        self.scale = checks.positive("scale", scale)

    @property
    def dim(self) -> int:
        return self.x0.shape[0]

    noise_dim = dim

    def process(self, theta=None) -> sde.SDE:
        """``dX = s θ dt + s dB̃`` under ``Q^θ``."""
        if theta is None:
            return sde.BrownianMotion(mu=0.0, sigma=self.scale)
        return arithmetic_bm(self.scale * np.asarray(theta, dtype=np.float64), np.full(self.dim, self.scale))

    def diffusion_transpose(self, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """``σᵀ v = s v`` (``σ = s I``)."""
        return self.scale * v

    def sample(self, t: torch.Tensor, batch: int, *, seed: int, theta=None, keys: tuple = ()) -> ForwardPaths:
        dw_sim = brownian_increments(t, batch, self.dim, seed=seed, keys=keys)
        return self.from_increments(t, dw_sim, theta=theta)

    def step(self, t: torch.Tensor, x: torch.Tensor, dw: torch.Tensor, *, theta=None) -> torch.Tensor:
        """One step: the state at ``t[1]`` from ``x`` (``(B, d)``) at ``t[0]`` driven by the increment
        ``dw`` (``(B, d)``) of the simulation measure ``Q^θ``."""
        theta = None if theta is None else checks.vector("theta", theta, self.dim)
        return solve_on_grid(self.process(theta), x, t, dw[None])[-1]

    def from_increments(self, t, dw_sim, *, theta=None) -> ForwardPaths:
        theta = None if theta is None else checks.vector("theta", theta, self.dim)
        x0 = torch.as_tensor(self.x0, dtype=t.dtype, device=t.device).expand(dw_sim.shape[1], -1)
        x = solve_on_grid(self.process(theta), x0, t, dw_sim)
        return ForwardPaths(t=t, x=x, dw=dw_sim, log_density=log_density(dw_sim, torch.diff(t), theta))
