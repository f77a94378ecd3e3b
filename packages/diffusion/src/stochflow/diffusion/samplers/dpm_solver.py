"""Single-step DPM-Solver of orders 1, 2, 3 (Lu et al. 2022), noise prediction.

With h = λ_t − λ_s the exact solution is ``y_t = (α_t/α_s) y_s − σ_t ∫_{λ_s}^{λ_t} e^{λ_t−λ} ε̂_λ dλ``;
order k expands ε̂ in λ with intermediate points at λ_s + r h and uses k evaluations per step.
Single-step solvers are self-starting and need no lower-order final step (the flag is accepted and
ignored, so every sampler shares one signature).
"""

from __future__ import annotations

import torch


def _first(ev, y, s, t, eps_s):
    a_s, sig_s, lam_s = ev.coefs(s)
    a_t, sig_t, lam_t = ev.coefs(t)
    return (a_t / a_s) * y - sig_t * torch.expm1(lam_t - lam_s) * eps_s


def _t_at(ev, lam):
    return ev.schedule.inverse_lambda(lam)


def _step(ev, y, s, t, order):
    a_s, sig_s, lam_s = ev.coefs(s)
    a_t, sig_t, lam_t = ev.coefs(t)
    h = lam_t - lam_s
    eps_s = ev.noise(y, s)
    if order == 1:
        return _first(ev, y, s, t, eps_s)
    if order == 2:
        r1 = 0.5
        s1 = _t_at(ev, lam_s + r1 * h)
        u = _first(ev, y, s, s1, eps_s)
        d1 = ev.noise(u, s1) - eps_s
        return _first(ev, y, s, t, eps_s) - sig_t / (2 * r1) * torch.expm1(h) * d1
    r1, r2 = 1.0 / 3.0, 2.0 / 3.0
    s1, s2 = _t_at(ev, lam_s + r1 * h), _t_at(ev, lam_s + r2 * h)
    u1 = _first(ev, y, s, s1, eps_s)
    d1 = ev.noise(u1, s1) - eps_s
    a_2, sig_2, _ = ev.coefs(s2)
    u2 = _first(ev, y, s, s2, eps_s) - sig_2 * (r2 / r1) * (torch.expm1(r2 * h) / (r2 * h) - 1) * d1
    d2 = ev.noise(u2, s2) - eps_s
    return _first(ev, y, s, t, eps_s) - sig_t / r2 * (torch.expm1(h) / h - 1) * d2


def _run(ev, y, grid, order, lower_order_final):
    n = len(grid) - 1
    for i in range(n):
        ev.step = i
        y = _step(ev, y, grid[i], grid[i + 1], order)
    return y


def dpm_solver_1(ev, y, grid, *, generator=None, lower_order_final=True):
    """DPM-Solver-1 (= DDIM with η = 0); 1 evaluation per step."""
    return _run(ev, y, grid, 1, lower_order_final)


def dpm_solver_2(ev, y, grid, *, generator=None, lower_order_final=True):
    """DPM-Solver-2 (midpoint in λ, r₁ = ½); 2 evaluations per step."""
    return _run(ev, y, grid, 2, lower_order_final)


def dpm_solver_3(ev, y, grid, *, generator=None, lower_order_final=True):
    """DPM-Solver-3 (r₁ = ⅓, r₂ = ⅔); 3 evaluations per step."""
    return _run(ev, y, grid, 3, lower_order_final)
