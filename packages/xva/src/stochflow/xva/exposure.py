"""Exposure profiles and weighted Monte Carlo estimates.

Conventions (as ORE's): ``EPE(t) = E[D(t) (V_t - C_t)^+]`` and ``ENE(t) = E[D(t) min(V_t - C_t, 0)]``
are discounted (``D(t) = e^{-rt}``), ``PFE_q(t)`` is the undiscounted ``q``-quantile of ``V_t - C_t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from stochflow.xva import checks


@dataclass(frozen=True)
class Estimate:
    """A Monte Carlo (or deep BSDE) estimate with its standard error (``None`` where it has none)."""

    value: float
    stderr: float | None = None
    method: str = "monte carlo"

    @property
    def ci95(self) -> tuple[float, float] | None:
        if self.stderr is None:
            return None
        return (self.value - 1.96 * self.stderr, self.value + 1.96 * self.stderr)

    def to_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr, "method": self.method,
                "ci95": list(self.ci95) if self.ci95 else None}


def mc_estimate(samples: torch.Tensor, method: str = "monte carlo") -> Estimate:
    """Mean and standard error of per-path samples (shape ``(B,)``)."""
    samples = samples.detach()
    n = samples.numel()
    return Estimate(float(samples.mean()), float(samples.std()) / math.sqrt(n) if n > 1 else None, method)


@dataclass(frozen=True)
class ExposureProfile:
    """EPE, ENE and PFE on the time grid (numpy arrays of shape ``(N + 1,)``)."""

    times: np.ndarray
    epe: np.ndarray
    ene: np.ndarray
    pfe: np.ndarray
    pfe_quantile: float

    def to_dict(self) -> dict:
        return {"times": self.times.tolist(), "epe": self.epe.tolist(), "ene": self.ene.tolist(),
                "pfe": self.pfe.tolist(), "pfe_quantile": self.pfe_quantile}


def exposure_profile(t: torch.Tensor, exposure: torch.Tensor, rate: float, *,
                     pfe_quantile: float = 0.975) -> ExposureProfile:
    """Profile of the (collateral-netted) exposure ``V_t - C_t`` along paths.

    Parameters
    ----------
    t
        Grid, shape ``(N + 1,)``.
    exposure
        ``V - C`` on the grid, shape ``(N + 1, B)``.
    rate
        Short rate for the discount factor ``e^{-rt}``.
    pfe_quantile
        Level of the potential future exposure.
    """
    q = checks.probability_level("pfe_quantile", pfe_quantile)
    disc = torch.exp(-rate * t)[:, None]
    epe = (disc * exposure.clamp_min(0)).mean(1)
    ene = (disc * exposure.clamp_max(0)).mean(1)
    pfe = torch.quantile(exposure, q, dim=1)
    as_np = lambda a: a.detach().cpu().numpy().astype(float)
    return ExposureProfile(as_np(t), as_np(epe), as_np(ene), as_np(pfe), q)


def plot_profile(profile: ExposureProfile, path, title: str = "Exposure profile") -> None:
    """Write a PNG of EPE, ENE and PFE (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(profile.times, profile.epe, label="EPE (discounted)", color="tab:red")
    ax.plot(profile.times, profile.ene, label="ENE (discounted)", color="tab:blue")
    ax.plot(profile.times, profile.pfe, label=f"PFE {profile.pfe_quantile:.1%}", color="tab:red", ls="--")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("time (years)")
    ax.set_ylabel("exposure V - C (net of variation margin)")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
