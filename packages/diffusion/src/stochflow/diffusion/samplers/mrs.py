"""MR Sampler (Li et al. 2025) for mean-reverting diffusion, in noise, data or velocity form.

In the centred variable ``y = x − μ`` a mean-reverting SDE has ``y_t = α_t y₀ + σ_t ε``, so its
PF-ODE has the semi-linear solution that MRS integrates exactly in the linear part and by a
multistep expansion of the network output in λ. ``prediction="noise"`` expands ε̂,
``"data"`` expands ŷ₀ and ``"velocity"`` converts v̂ to ŷ₀ (``ŷ₀ = (α y − σ v̂)/(α² + σ²)``) first,
as the paper does. ``order`` is 1 or 2; one evaluation per step. Works for every SDE here.
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError, close_matches_message


def mrs(ev, y, grid, *, generator=None, lower_order_final=True, prediction: str = "data", order: int = 2):
    if prediction not in ("noise", "data", "velocity"):
        raise InputError(close_matches_message("mrs prediction", str(prediction), ("noise", "data", "velocity")))
    if order not in (1, 2):
        raise InputError(f"mrs order must be 1 or 2, got {order}")
    n = len(grid) - 1
    prev = None
    for i in range(n):
        ev.step = i
        s, t = grid[i], grid[i + 1]
        a_s, sig_s, lam_s = ev.coefs(s)
        a_t, sig_t, lam_t = ev.coefs(t)
        h = lam_t - lam_s
        if prediction == "noise":
            m = ev.noise(y, s)
        elif prediction == "data":
            m = ev.data(y, s)
        else:
            eps = ev.noise(y, s)
            v = a_s * eps - sig_s * (y - sig_s * eps) / a_s  # the velocity a v-model would output
            m = (a_s * y - sig_s * v) / (a_s**2 + sig_s**2)
        k = order if prev is not None else 1
        if lower_order_final and n < 15 and i == n - 1:
            k = 1
        if prediction == "noise":
            y_new = (a_t / a_s) * y - sig_t * torch.expm1(h) * m
            if k == 2:
                r = (lam_s - prev[0]) / h
                y_new = y_new - 0.5 * sig_t * torch.expm1(h) * (m - prev[1]) / r
        else:
            phi = torch.expm1(-h)
            y_new = (sig_t / sig_s) * y - a_t * phi * m
            if k == 2:
                r = (lam_s - prev[0]) / h
                y_new = y_new - 0.5 * a_t * phi * (m - prev[1]) / r
        prev = (lam_s, m)
        y = y_new
    return y
