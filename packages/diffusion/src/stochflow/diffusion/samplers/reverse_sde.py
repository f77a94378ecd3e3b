"""Stochastic samplers of the reverse-time SDE (Song et al. 2021).

* ``euler-maruyama``: ``y ← y − [f y − g² s] Δt + g sqrt(Δt) z`` (Δt = s − t > 0); 1 evaluation.
* ``reverse-diffusion``: the ancestral step of the exactly discretised forward chain
  ``y_s = a y_t' + G z`` with ``a = α_s/α_t'`` and ``G² = σ_s² − a² σ_t'²`` (t' < s; DDPM's chain for
  VP, SMLD's for VE): ``y ← (2 − a) y + G² ∇log p_s(y) + G z``; 1 evaluation.
* ``pc``: the paper's Algorithms 2–3 order: a reverse-diffusion predictor to the next time, then
  ``n_corrector`` Langevin corrector steps there with step size ``2 α_i (snr ‖z‖/‖s‖)²`` where the
  norms are batch means of the per-sample norms over all non-batch dimensions, as in score_sde (so
  the step depends on the batch) and α_i = (α_t/α_s)² (1 for VE); 2 evaluations per step.

The last step returns the noise-free mean (score_sde's ``noise_removal``) without extra evaluations.
"""

from __future__ import annotations

import torch


def _coef(ev, t):
    sch = ev.schedule
    return sch.drift_coef(t), sch.diffusion2(t)


def _noise(y, generator):
    return torch.randn(y.shape, generator=generator, dtype=y.dtype, device=y.device)


def euler_maruyama(ev, y, grid, *, generator=None, lower_order_final=True):
    n = len(grid) - 1
    for i in range(n):
        ev.step = i
        s, t = grid[i], grid[i + 1]
        dt = s - t
        f, g2 = _coef(ev, s)
        mean = y - (f * y - g2 * ev.score(y, s)) * dt
        y = mean if i == n - 1 else mean + torch.sqrt(g2 * dt) * _noise(y, generator)
    return y


def _ancestral(ev, y, s, t, generator, last):
    a = ev.schedule.alpha(s) / ev.schedule.alpha(t)
    g2 = ev.schedule.sigma(s) ** 2 - a**2 * ev.schedule.sigma(t) ** 2
    mean = (2 - a) * y + g2 * ev.score(y, s)
    return mean if last else mean + torch.sqrt(g2) * _noise(y, generator)


def reverse_diffusion(ev, y, grid, *, generator=None, lower_order_final=True):
    n = len(grid) - 1
    for i in range(n):
        ev.step = i
        y = _ancestral(ev, y, grid[i], grid[i + 1], generator, i == n - 1)
    return y


def pc(ev, y, grid, *, generator=None, lower_order_final=True, snr: float = 0.16, n_corrector: int = 1):
    n = len(grid) - 1
    for i in range(n):
        ev.step = i
        s, t = grid[i], grid[i + 1]
        y = _ancestral(ev, y, s, t, generator, False)
        a_i = (ev.schedule.alpha(t) / ev.schedule.alpha(s)) ** 2
        for _ in range(n_corrector):
            grad = ev.score(y, t)
            z = _noise(y, generator)
            gn = grad.reshape(grad.shape[0], -1).norm(dim=1).mean()
            zn = z.reshape(z.shape[0], -1).norm(dim=1).mean()
            step = 2 * a_i * (snr * zn / gn) ** 2
            mean = y + step * grad
            y = mean if i == n - 1 else mean + torch.sqrt(2 * step) * z
    return y
