"""Closed forms used as references: Black–Scholes prices, forward exposures, CVA and FVA of a
forward, and first-passage survival of a drifted Brownian motion.

All functions take and return Python floats (or numpy arrays where ``t`` is an array); they are
the single definition of each formula in the package (the products and the tests use them).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate
from scipy.stats import norm

from stochflow.core.errors import InputError
from stochflow.xva import checks


def _torch_ops():
    import torch

    return torch.log, torch.exp, torch.sqrt, torch.special.ndtr, torch.where, torch.clamp_min


def _numpy_ops():
    return np.log, np.exp, np.sqrt, norm.cdf, np.where, np.maximum


def black_scholes(spot, strike: float, maturity: float, rate: float, vol: float,
                  kind: str = "call", t=0.0):
    """Black–Scholes price at time ``t`` of a European call or put on a non-dividend asset.

    Parameters
    ----------
    spot
        Spot at ``t``: a float, a numpy array or a torch tensor (the result follows it).
    strike, maturity, rate, vol
        Strike, maturity (absolute time), short rate, volatility (>= 0).
    kind
        ``"call"`` or ``"put"``.
    t
        Valuation time (float or array like ``spot``), ``t <= maturity``; at ``t = maturity`` the
        payoff.

    Returns
    -------
    float, numpy.ndarray or torch.Tensor
        The price at ``t``.
    """
    if kind not in ("call", "put"):
        raise InputError(f"kind must be 'call' or 'put', got {kind!r}")
    checks.volatility("vol", vol)
    is_torch = type(spot).__module__.split(".")[0] == "torch"
    log, exp, sqrt, ncdf, where, clamp_min = _torch_ops() if is_torch else _numpy_ops()
    if is_torch:
        import torch

        tau = torch.as_tensor(maturity - t, dtype=spot.dtype, device=spot.device)
    else:
        spot = np.asarray(spot, dtype=float)
        tau = np.asarray(maturity - np.asarray(t, dtype=float), dtype=float)
    tau = clamp_min(tau, 0.0)
    disc = exp(-rate * tau)
    sd = vol * sqrt(tau)
    safe_sd = where(sd > 0, sd, 1.0)
    d1 = (log(spot / strike) + (rate + 0.5 * vol**2) * tau) / safe_sd
    d2 = d1 - sd
    sign = 1.0 if kind == "call" else -1.0
    price = sign * (spot * ncdf(sign * d1) - strike * disc * ncdf(sign * d2))
    intrinsic = clamp_min(sign * (spot - strike * disc), 0.0)
    price = where(sd > 0, price, intrinsic)
    if not is_torch and price.ndim == 0:
        return float(price)
    return price


def forward_value(spot, strike: float, maturity: float, rate: float, t=0.0):
    """Value at ``t`` of a long forward paying ``S_T - K`` at ``maturity``: ``S_t - K e^{-r(T-t)}``
    (``spot`` a float, numpy array or torch tensor; the result follows it)."""
    if type(spot).__module__.split(".")[0] == "torch":
        import torch

        tau = torch.as_tensor(maturity - t, dtype=spot.dtype, device=spot.device)
        return spot - strike * torch.exp(-rate * tau)
    out = np.asarray(spot, dtype=float) - strike * np.exp(-rate * (maturity - np.asarray(t, dtype=float)))
    return float(out) if out.ndim == 0 else out


def forward_epe(t, spot: float, strike: float, maturity: float, rate: float, vol: float):
    """Discounted expected positive exposure of a long forward, ``E[e^{-rt} (V_t)^+]``.

    ``EPE(t) = S_0 N(d_1) - K e^{-rT} N(d_2)``, ``d_1 = [ln(S_0/K) + rT + σ²t/2]/(σ√t)``,
    ``d_2 = d_1 - σ√t``. The ``rT`` term is what makes it right for ``r ≠ 0``.
    """
    t = np.asarray(t, dtype=float)
    sd = vol * np.sqrt(t)
    fwd_strike = strike * math.exp(-rate * maturity)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (math.log(spot / strike) + rate * maturity + 0.5 * sd**2) / sd
    out = np.where(sd > 0, spot * norm.cdf(d1) - fwd_strike * norm.cdf(d1 - sd), max(spot - fwd_strike, 0.0))
    return float(out) if out.ndim == 0 else out


def forward_ene(t, spot: float, strike: float, maturity: float, rate: float, vol: float):
    """Discounted expected negative exposure of a long forward, ``E[e^{-rt} min(V_t, 0)]`` (<= 0)."""
    t = np.asarray(t, dtype=float)
    value = spot - strike * math.exp(-rate * maturity)  # E[e^{-rt} V_t], a martingale
    out = value - np.asarray(forward_epe(t, spot, strike, maturity, rate, vol))
    return float(out) if out.ndim == 0 else out


def cva_forward_exponential(spot: float, strike: float, maturity: float, rate: float, vol: float,
                            intensity: float, recovery: float) -> float:
    """Unilateral CVA of a long forward with an independent exponential default time,
    ``(1 - R) ∫_0^T λ e^{-λt} EPE(t) dt`` by adaptive quadrature."""
    lam = checks.intensity("intensity", intensity)
    rec = checks.recovery("recovery", recovery)
    value, _ = integrate.quad(
        lambda t: lam * math.exp(-lam * t) * forward_epe(t, spot, strike, maturity, rate, vol),
        0.0, maturity, epsabs=1e-12, epsrel=1e-10)
    return (1.0 - rec) * value


def fva_forward(spot: float, strike: float, maturity: float, rate: float, funding_rate: float) -> float:
    """FVA of a long forward whose whole value is funded at ``funding_rate`` (symmetric borrowing and
    lending), ``(S_0 - K e^{-rT}) - (e^{-(r_f - r)T} S_0 - K e^{-r_f T})``: the clean value minus the
    value discounted at the funding rate."""
    clean = spot - strike * math.exp(-rate * maturity)
    funded = math.exp(-(funding_rate - rate) * maturity) * spot - strike * math.exp(-funding_rate * maturity)
    return clean - funded


def first_passage_survival(t, asset: float, barrier: float, drift: float, vol: float):
    """Probability that a log-asset with drift ``drift`` and volatility ``vol`` started at
    ``ln(asset)`` stays above ``ln(barrier)`` up to ``t`` (reflection principle):
    ``N((a + μt)/(σ√t)) - e^{-2μa/σ²} N((-a + μt)/(σ√t))``, ``a = ln(asset/barrier)``."""
    checks.positive("asset", asset)
    checks.positive("barrier", barrier)
    checks.positive("vol", vol)
    if barrier >= asset:
        raise InputError(f"barrier ({barrier}) must lie below the asset value ({asset})")
    t = np.asarray(t, dtype=float)
    a = math.log(asset / barrier)
    sd = vol * np.sqrt(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = norm.cdf((a + drift * t) / sd) - math.exp(-2 * drift * a / vol**2) * norm.cdf((-a + drift * t) / sd)
    out = np.where(t > 0, out, 1.0)
    return float(out) if out.ndim == 0 else out
