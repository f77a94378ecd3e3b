"""Heun's second-order method in EDM form (Karras et al. 2022), deterministic (S_churn = 0).

In the scaled variable ``ỹ = y/α_t`` and noise level ``σ̃ = σ_t/α_t = e^{−λ_t}`` the PF-ODE is
``dỹ/dσ̃ = ε̂``. Each step: Euler predictor, then the trapezoidal corrector; 2 evaluations per step.
"""

from __future__ import annotations


def heun(ev, y, grid, *, generator=None, lower_order_final=True):
    a0, s0, _ = ev.coefs(grid[0])
    yt = y / a0
    for i in range(len(grid) - 1):
        ev.step = i
        s, t = grid[i], grid[i + 1]
        a_s, sig_s, _ = ev.coefs(s)
        a_t, sig_t, _ = ev.coefs(t)
        dsig = sig_t / a_t - sig_s / a_s
        d = ev.noise(a_s * yt, s)
        y_pred = yt + dsig * d
        d2 = ev.noise(a_t * y_pred, t)
        yt = yt + dsig * 0.5 * (d + d2)
    return yt * ev.coefs(grid[-1])[0]
