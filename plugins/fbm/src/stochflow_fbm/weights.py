"""Markov approximation of fractional Brownian motion: covariances and optimal weights (numpy).

Type I (Mandelbrot–Van Ness) fBM with Hurst index ``H`` is, up to the constant ``c_H`` that makes
``Var B^H_t = t^{2H}``, ``∫_0^∞ (Y^γ_t - Y^γ_0) γ^{-(H+1/2)} dγ`` over stationary
Ornstein–Uhlenbeck processes ``dY^γ = -γ Y^γ dt + dW`` driven by one Brownian motion (Harms &
Stefanovits). The Markov approximation keeps ``K`` speeds ``γ_k`` (a geometric grid) and weights
``ω_k``: ``B̂_t = Σ_k ω_k (Y^k_t - Y^k_0)``. The weights minimising ``∫_0^T E(B^H_t - B̂_t)² dt``
solve ``A ω = b`` with, in closed form (``a = H + 1/2``, ``F(x) = e^x Γ(a, x)/Γ(a)``),

``A_ij = (2T - (1 - e^{-γ_i T})/γ_i - (1 - e^{-γ_j T})/γ_j) / (γ_i + γ_j)``,

``b_k = c_H (2T γ_k^{-a} - T^a / (γ_k Γ(a + 1)) + γ_k^{-a-1} (e^{-γ_k T} - F(γ_k T)))``,

from ``E[(Y^i_t - Y^i_0)(Y^j_t - Y^j_0)] = (2 - e^{-γ_i t} - e^{-γ_j t})/(γ_i + γ_j)`` and
``E[B^H_t (Y^γ_t - Y^γ_0)] = c_H γ^{-a} (2 - e^{-γ t} - F(γ t))`` (Daems et al., "Variational
Inference for SDEs Driven by Fractional Noise"; Nobis et al., "Generative Fractional Diffusion
Models").
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.errors import InputError
from stochflow_fbm._gamma import scaled_upper_gamma


def check_hurst(hurst: Any) -> float:
    """``H`` in ``(0, 1)``."""
    if isinstance(hurst, bool) or not isinstance(hurst, (int, float, np.floating)) or not 0 < float(hurst) < 1:
        raise InputError(f"hurst must be a number in (0, 1), got {hurst!r}")
    return float(hurst)


def fbm_constant(hurst: float) -> float:
    """``c_H = sqrt(Γ(2H + 1) sin(π H))``: Mandelbrot–Van Ness with ``1/Γ(H + 1/2)`` times ``c_H``
    has ``Var B^H_t = t^{2H}``."""
    return math.sqrt(math.gamma(2 * hurst + 1) * math.sin(math.pi * hurst))


def fbm_covariance(hurst: float, s: Any, t: Any) -> np.ndarray:
    """Exact fBM covariance ``(s^{2H} + t^{2H} - |t - s|^{2H}) / 2`` (broadcasting ``s`` and ``t``)."""
    h2 = 2 * check_hurst(hurst)
    s, t = np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64)
    return 0.5 * (np.abs(s) ** h2 + np.abs(t) ** h2 - np.abs(t - s) ** h2)


def ou_speeds(n_terms: int, horizon: float = 1.0, gamma_min: float | None = None,
              gamma_max: float | None = None) -> np.ndarray:
    """A geometric grid of ``n_terms`` speeds; by default ``[10^-2, 10^4] / horizon``, the range
    that sets the slowest and fastest time scales resolved on ``[0, horizon]``."""
    if isinstance(n_terms, bool) or not isinstance(n_terms, (int, np.integer)) or n_terms < 1:
        raise InputError(f"n_terms must be a positive int, got {n_terms!r}")
    lo = 1e-2 / horizon if gamma_min is None else gamma_min
    hi = 1e4 / horizon if gamma_max is None else gamma_max
    if not 0 < lo < hi or not math.isfinite(hi):
        raise InputError(f"need 0 < gamma_min < gamma_max < inf, got {lo}, {hi}")
    if n_terms == 1:
        return np.array([math.sqrt(lo * hi)])
    return np.geomspace(lo, hi, n_terms)


def weight_system(hurst: float, gammas: np.ndarray, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """``(A, b)`` of the least-squares problem (see the module docstring)."""
    hurst = check_hurst(hurst)
    g = np.asarray(gammas, dtype=np.float64)
    if g.ndim != 1 or not np.all(g > 0) or not np.all(np.isfinite(g)):
        raise InputError("gammas must be a 1-D array of positive finite speeds")
    if not (isinstance(horizon, (int, float)) and math.isfinite(horizon) and horizon > 0):
        raise InputError(f"horizon must be a positive finite number, got {horizon!r}")
    T, a = float(horizon), hurst + 0.5
    m = (1 - np.exp(-g * T)) / g
    A = (2 * T - m[:, None] - m[None, :]) / (g[:, None] + g[None, :])
    b = fbm_constant(hurst) * (2 * T * g**-a - T**a / (g * math.gamma(a + 1))
                               + g ** (-a - 1) * (np.exp(-g * T) - scaled_upper_gamma(a, g * T)))
    return A, b


def optimal_weights(hurst: float, gammas: np.ndarray, horizon: float = 1.0) -> np.ndarray:
    """The weights ``ω`` minimising the mean squared error to fBM on ``[0, horizon]``.

    ``A`` is a Cauchy-like matrix, ill-conditioned for many terms: the system is solved in the
    least-squares sense with singular values below ``1e-13 |A|`` cut, which keeps ``ω`` bounded.
    """
    A, b = weight_system(hurst, gammas, horizon)
    return np.linalg.lstsq(A, b, rcond=1e-13)[0]


def ou_cross_covariance(gammas: np.ndarray, s: Any, t: Any) -> np.ndarray:
    """``E[(Y^i_s - Y^i_0)(Y^j_t - Y^j_0)]`` for stationary OU processes sharing one Brownian motion;
    shape ``(*broadcast(s, t).shape, K, K)``."""
    g = np.asarray(gammas, dtype=np.float64)
    s, t = np.broadcast_arrays(np.asarray(s, dtype=np.float64), np.asarray(t, dtype=np.float64))
    s, t = s[..., None, None], t[..., None, None]
    gi, gj = g[:, None], g[None, :]
    # E[Y^i_u Y^j_v] = e^{-γ_i (u - v)}/(γ_i + γ_j) if u >= v else e^{-γ_j (v - u)}/(γ_i + γ_j)
    cross = np.where(s >= t, np.exp(-gi * np.abs(s - t)), np.exp(-gj * np.abs(s - t)))
    return (cross - np.exp(-gi * s) - np.exp(-gj * t) + 1) / (gi + gj)


def markov_covariance(gammas: np.ndarray, weights: np.ndarray, s: Any, t: Any) -> np.ndarray:
    """Covariance ``E[B̂_s B̂_t]`` of the Markov approximation (exact, closed form)."""
    w = np.asarray(weights, dtype=np.float64)
    return np.einsum("i,...ij,j->...", w, ou_cross_covariance(gammas, s, t), w)


def stationary_covariance(gammas: np.ndarray) -> np.ndarray:
    """``Cov(Y^i_0, Y^j_0) = 1 / (γ_i + γ_j)`` of the stationary start."""
    g = np.asarray(gammas, dtype=np.float64)
    return 1.0 / (g[:, None] + g[None, :])


__all__ = ["check_hurst", "fbm_constant", "fbm_covariance", "markov_covariance", "optimal_weights",
           "ou_cross_covariance", "ou_speeds", "stationary_covariance", "weight_system"]
