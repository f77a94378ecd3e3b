"""Multistep DPM-Solver++ (Lu et al. 2022b), data prediction, and its SDE variant.

With h = λ_t − λ_s and ŷ₀ the data predictions of the last steps:

* 2M: ``y_t = (σ_t/σ_s) y_s − α_t (e^{−h} − 1) [ŷ₀ + (ŷ₀ − ŷ₀_prev)/(2r)]``, r = h_prev/h;
* 3M: adds ``α_t φ₂ D₁ − α_t φ₃ D₂`` with φ₁ = e^{−h} − 1, φ₂ = φ₁/h + 1, φ₃ = φ₂/h − ½, where D₁ ≈ h ŷ₀'
  and D₂ ≈ h² ŷ₀'' come from divided differences of the last three predictions. The Taylor term of
  ŷ₀'' integrates to ``−α_t h² φ₃ ŷ₀''``, so D₂ = 2 (D₁₀ − D₁₁)/(r₀ + r₁); the dpm-solver/diffusers
  code omits the factor 2, which measured second-order against the exact flow map here
  (``tests/test_flow_map.py``), while this form measures third order or better;
* SDE-2M: ``y_t = (σ_t/σ_s) e^{−h} y_s + α_t(1 − e^{−2h})[ŷ₀ + ½ D] + σ_t sqrt(1 − e^{−2h}) z``.

One evaluation per step; the first steps use the lower orders that the history allows, and with
``lower_order_final`` runs of fewer than 15 steps end with order-1 (2M) or order-2 (3M) steps.
"""

from __future__ import annotations

import torch

from stochflow.diffusion.samplers.phi import phi


def _multistep(ev, y, grid, order, lower_order_final, generator=None, stochastic=False):
    n = len(grid) - 1
    hist: list[tuple[torch.Tensor, torch.Tensor]] = []  # (λ, ŷ₀) newest last
    for i in range(n):
        ev.step = i
        s, t = grid[i], grid[i + 1]
        a_s, sig_s, lam_s = ev.coefs(s)
        a_t, sig_t, lam_t = ev.coefs(t)
        m0 = ev.data(y, s)
        hist.append((lam_s, m0))
        hist = hist[-order:]
        k = len(hist)
        if lower_order_final and n < 15:
            k = min(k, n - i)
        h = lam_t - lam_s
        phi1 = torch.expm1(-h)
        if stochastic:
            e2 = -torch.expm1(-2.0 * h)
            y_new = (sig_t / sig_s) * torch.exp(-h) * y + a_t * e2 * m0
            if k >= 2:
                lam1, m1 = hist[-2]
                r0 = (lam_s - lam1) / h
                y_new = y_new + 0.5 * a_t * e2 * (m0 - m1) / r0
            z = torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)
            y = y_new + sig_t * torch.sqrt(e2) * z
            continue
        y_new = (sig_t / sig_s) * y - a_t * phi1 * m0
        if k == 2:
            lam1, m1 = hist[-2]
            r0 = (lam_s - lam1) / h
            y_new = y_new - 0.5 * a_t * phi1 * (m0 - m1) / r0
        elif k >= 3:
            (lam2, m2), (lam1, m1) = hist[-3], hist[-2]
            r0, r1 = (lam_s - lam1) / h, (lam1 - lam2) / h
            d10, d11 = (m0 - m1) / r0, (m1 - m2) / r1
            d1 = d10 + r0 / (r0 + r1) * (d10 - d11)
            d2 = 2.0 * (d10 - d11) / (r0 + r1)  # ≈ h² ∂²ŷ₀/∂λ²
            hf = float(h)  # φ₂ = φ₁/h + 1 = h φ_2(−h), φ₃ = φ₂/h − ½ = −h φ_3(−h), without cancellation
            phi2, phi3 = hf * phi(-hf, 2), -hf * phi(-hf, 3)
            y_new = y_new + a_t * phi2 * d1 - a_t * phi3 * d2
        y = y_new
    return y


def dpm_solver_pp_2m(ev, y, grid, *, generator=None, lower_order_final=True):
    """DPM-Solver++(2M): second-order multistep, data prediction; 1 evaluation per step."""
    return _multistep(ev, y, grid, 2, lower_order_final)


def dpm_solver_pp_3m(ev, y, grid, *, generator=None, lower_order_final=True):
    """DPM-Solver++(3M): third-order multistep, data prediction; 1 evaluation per step."""
    return _multistep(ev, y, grid, 3, lower_order_final)


def sde_dpm_solver_pp_2m(ev, y, grid, *, generator=None, lower_order_final=True):
    """SDE-DPM-Solver++(2M) (midpoint form); stochastic; 1 evaluation per step."""
    return _multistep(ev, y, grid, 2, lower_order_final, generator=generator, stochastic=True)
