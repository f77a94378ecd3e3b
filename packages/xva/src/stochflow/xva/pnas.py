"""The three high-dimensional test problems of Han, Jentzen & E (PNAS 2018), as BSDEs.

- :func:`black_scholes_default_risk`: nonlinear Black–Scholes with default risk, ``d = 100``,
  ``u(0, (100, ..., 100)) ≈ 57.300``.
- :func:`allen_cahn`: ``∂_t u + Δu + u - u³ = 0``, ``T = 0.3``, ``u(0, 0) ≈ 0.0528``.
- :func:`hjb`: ``∂_t u + Δu - λ|∇u|² = 0``, ``g(x) = ln((1 + |x|²)/2)``; reference by the Cole–Hopf
  formula ``u(0, x) = -(1/λ) ln E[exp(-λ g(x + √2 W_T))]`` (:func:`hjb_reference`).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from stochflow.xva import checks
from stochflow.xva.bsde import BSDE
from stochflow.xva.forward import CorrelatedGBM, ScaledBrownianMotion

REFERENCES = {"black_scholes_default_risk": 57.300, "allen_cahn": 0.0528}
PUBLISHED_ERRORS = {"black_scholes_default_risk": 0.0046, "allen_cahn": 0.0030, "hjb": 0.0017}


def black_scholes_default_risk(dim: int = 100, n_steps: int = 40) -> BSDE:
    """``f(y) = -(1 - δ) Q(y) y - R y`` with the piecewise-linear default intensity ``Q``,
    ``g(x) = min_i x_i``, ``X`` a GBM with ``μ = 0.02``, ``σ = 0.2``, ``x_0 = 100``, ``T = 1``."""
    delta, rate = 2.0 / 3.0, 0.02
    gamma_h, gamma_l, v_h, v_l = 0.2, 0.02, 50.0, 70.0
    slope = (gamma_h - gamma_l) / (v_h - v_l)

    def driver(t, x, y, z):
        q = torch.clamp(slope * (y - v_h) + gamma_h, min=gamma_l, max=gamma_h)
        return -(1 - delta) * q * y - rate * y

    gbm = CorrelatedGBM([100.0] * dim, [0.2] * dim, [0.02] * dim)
    return BSDE(gbm, driver, lambda x: x.min(-1).values, 1.0, n_steps)


def allen_cahn(dim: int = 100, n_steps: int = 20) -> BSDE:
    """``f(y) = y - y³``, ``g(x) = 1/(2 + 0.4|x|²)``, ``X = √2 W``, ``T = 0.3``."""
    fwd = ScaledBrownianMotion([0.0] * dim, math.sqrt(2.0))
    return BSDE(fwd, lambda t, x, y, z: y - y**3, lambda x: 1.0 / (2.0 + 0.4 * (x * x).sum(-1)), 0.3, n_steps)


def _hjb_terminal(x):
    return torch.log((1.0 + (x * x).sum(-1)) / 2.0)


def hjb(dim: int = 100, lam: float = 1.0, n_steps: int = 20) -> BSDE:
    """``f(z) = -λ|z|²/2`` (``Z = √2 ∇u``), ``g(x) = ln((1 + |x|²)/2)``, ``X = √2 W``, ``T = 1``."""
    lam = checks.positive("lam", lam)
    fwd = ScaledBrownianMotion([0.0] * dim, math.sqrt(2.0))
    return BSDE(fwd, lambda t, x, y, z: -0.5 * lam * (z * z).sum(-1), _hjb_terminal, 1.0, n_steps)


def hjb_reference(dim: int = 100, lam: float = 1.0, n_samples: int = 10_000_000, seed: int = 0) -> tuple[float, float]:
    """Monte Carlo of the Cole–Hopf formula at ``x = 0``: ``|x + √2 W_1|² = 2 χ²_d`` sampled exactly.

    Returns
    -------
    (float, float)
        The value and its standard error (delta method).
    """
    lam = checks.positive("lam", lam)
    rng = np.random.default_rng(seed)
    r2 = 2.0 * rng.chisquare(dim, size=n_samples)
    g = np.log((1.0 + r2) / 2.0)
    shift = g.min()
    w = np.exp(-lam * (g - shift))  # stable: exp(-λg) = exp(-λ shift) w
    mean, se = w.mean(), w.std() / math.sqrt(n_samples)
    value = shift - math.log(mean) / lam
    return float(value), float(se / (lam * mean))
