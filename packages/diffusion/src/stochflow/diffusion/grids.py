"""Time grids from ``T`` down to ``eps``: uniform in t, uniform in log-SNR, Karras et al. (ρ = 7).

Every grid is a decreasing 1-D tensor of ``steps + 1`` times; the log-SNR and Karras grids are
mapped back to time through the schedule's inverse ``t(λ)``.
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError, InputTypeError, close_matches_message

GRIDS = ("uniform", "logsnr", "karras")


def time_grid(sde, steps: int, kind: str = "logsnr", *, eps: float | None = None, T: float | None = None,
              rho: float = 7.0, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """A decreasing time grid ``t_0 = T > t_1 > ... > t_steps = eps``.

    Parameters
    ----------
    sde
        The diffusion SDE (its schedule maps λ ↔ t).
    steps
        Number of intervals (>= 1).
    kind
        ``"uniform"`` (uniform t), ``"logsnr"`` (uniform λ = log α/σ) or ``"karras"``
        (σ̃ = σ/α spaced as ``(σ̃_max^{1/ρ} + i/N (σ̃_min^{1/ρ} − σ̃_max^{1/ρ}))^ρ``).
    eps, T
        End points; default to the SDE's. Must satisfy ``sde.eps <= eps < T <= sde.T``.
    rho
        Karras exponent.
    """
    if isinstance(steps, bool) or not isinstance(steps, int):
        raise InputTypeError(f"steps must be an int, got {type(steps).__name__}")
    if steps < 1:
        raise InputError(f"steps must be >= 1, got {steps}")
    if kind not in GRIDS:
        raise InputError(close_matches_message("time grid", str(kind), GRIDS))
    eps = sde.eps if eps is None else float(eps)
    T = sde.T if T is None else float(T)
    tol = 1e-9
    if not (sde.eps - tol <= eps < T <= sde.T + tol):
        raise InputError(f"grid end points must satisfy eps={sde.eps} <= eps ({eps}) < T ({T}) <= T={sde.T}")
    sch = sde.schedule
    ends = torch.tensor([T, eps], dtype=torch.float64)
    i = torch.linspace(0.0, 1.0, steps + 1, dtype=torch.float64)
    if kind == "uniform":
        t = T + i * (eps - T)
    elif kind == "logsnr":
        lam = sch.lambda_(ends)
        t = sch.inverse_lambda(lam[0] + i * (lam[1] - lam[0]))
    else:
        s_max, s_min = torch.exp(-sch.lambda_(ends))
        s = (s_max ** (1 / rho) + i * (s_min ** (1 / rho) - s_max ** (1 / rho))) ** rho
        t = sch.inverse_lambda(-torch.log(s))
    t[0], t[-1] = T, eps  # exact end points despite the round trip through λ
    return t.to(dtype=dtype, device=device)
