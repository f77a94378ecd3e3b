"""DDIM (Song, Meng, Ermon 2021) for any schedule, with stochasticity η.

``y_t = α_t ŷ₀ + sqrt(σ_t² − c²) ε̂ + c z`` with ``c = η σ_t sqrt(1 − e^{−2h})``, h = λ_t − λ_s.
η = 0 is the first-order exponential integrator (DPM-Solver-1). One evaluation per step.
"""

from __future__ import annotations

import torch


def ddim(ev, y, grid, *, generator=None, lower_order_final=True, eta: float = 0.0):
    for i in range(len(grid) - 1):
        ev.step = i
        s, t = grid[i], grid[i + 1]
        a_s, sig_s, lam_s = ev.coefs(s)
        a_t, sig_t, lam_t = ev.coefs(t)
        eps = ev.noise(y, s)
        y0 = (y - sig_s * eps) / a_s
        if eta == 0.0:
            y = a_t * y0 + sig_t * eps
        else:
            c = eta * sig_t * torch.sqrt(-torch.expm1(-2.0 * (lam_t - lam_s)))
            z = torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)
            y = a_t * y0 + torch.sqrt(sig_t**2 - c**2) * eps + c * z
    return y
