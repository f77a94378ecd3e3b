"""Inpainting / imputation with a mask, for any data shape (Song et al. 2021, app. I.2).

Each step moves the whole state one DDIM step (η = 1: ancestral noise, the default; η = 0:
deterministic), then overwrites the known entries with a fresh forward sample of the known data
at the new time, ``α_t x_known + (1 − α_t) μ + σ_t z``. The known entries of the result equal
``x_known`` exactly. This replacement scheme is approximate for correlated data (the conditional
is matched in the limit of many steps only where unknown and known parts are weakly coupled).
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion._model import Evaluator
from stochflow.diffusion._util import check_tensor
from stochflow.diffusion.adapters import to_score
from stochflow.diffusion.grids import time_grid
from stochflow.diffusion.samplers.ddim import ddim
from stochflow.diffusion.sampling import SampleResult


def inpaint(score_fn, sde, x_known: torch.Tensor, mask: torch.Tensor, *, steps: int = 100, seed: int | None = 0,
            eta: float = 1.0, grid: str = "logsnr", model_output: str = "score") -> SampleResult:
    """Fill the entries of ``x_known`` where ``mask`` is 0, keeping those where it is 1.

    Parameters
    ----------
    score_fn
        The model (``score_fn(x, t)`` or another ``model_output`` kind).
    sde
        The diffusion SDE.
    x_known
        Data ``(n, *event_shape)``; values where ``mask == 0`` are ignored.
    mask
        1 (known) / 0 (to fill), broadcastable to ``x_known`` (e.g. ``(n, 1, H, W)`` for images,
        ``(d,)`` for vectors).
    steps, seed, eta, grid
        Number of DDIM steps (one evaluation each), seed, stochasticity, time grid.
    """
    x_known = check_tensor("x_known", x_known)
    if not isinstance(mask, torch.Tensor):
        raise InputTypeError(f"mask must be a torch.Tensor, got {type(mask).__name__}")
    try:
        m = torch.broadcast_to(mask.to(x_known.dtype), x_known.shape)
    except RuntimeError as exc:
        raise InputError(f"mask of shape {tuple(mask.shape)} does not broadcast to x_known {tuple(x_known.shape)}") from exc
    if not ((m == 0) | (m == 1)).all():
        raise InputError("mask must contain only 0 (fill) and 1 (known)")
    if not torch.isfinite(x_known * m).all():
        raise InputError("x_known has NaN or inf in known entries")
    if not 0.0 <= float(eta) <= 1.0:
        raise InputError(f"eta must lie in [0, 1], got {eta}")
    times = time_grid(sde, steps, grid, dtype=torch.float64).to(dtype=x_known.dtype, device=x_known.device)
    gen = torch.Generator(device=x_known.device).manual_seed(int(seed) if seed is not None else int(torch.seed()))
    mu = sde.center(x_known)
    known = torch.where(m.bool(), x_known, torch.zeros_like(x_known)) - mu
    ev = Evaluator(to_score(score_fn, model_output, sde), sde)
    y = sde.prior_sampling(x_known.shape, generator=gen, dtype=x_known.dtype, device=x_known.device) - mu
    import time

    start = time.perf_counter()
    for i in range(steps):
        ev.step = i
        y = ddim(ev, y, times[i:i + 2], generator=gen, eta=float(eta))
        t = times[i + 1]
        z = torch.randn(y.shape, generator=gen, dtype=y.dtype, device=y.device)
        y_known = sde.schedule.alpha(t) * known + sde.schedule.sigma(t) * z
        y = m * y_known + (1 - m) * y
    y = m * known + (1 - m) * y
    ev.raise_if_bad()
    return SampleResult(samples=y + mu, nfe=ev.nfe, times=times, solver="inpaint-ddim", steps=steps,
                        seconds=time.perf_counter() - start)
