"""The wrapper samplers call: noise/data predictions in the centred variable, NFE counting and
checks (shape, finiteness naming the step)."""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError


class Evaluator:
    """Evaluates ``score_fn`` for samplers in the centred variable ``y = x − μ``.

    Parameters
    ----------
    score_fn
        ``score_fn(x, t) -> ∇log p_t(x)``.
    sde
        The diffusion SDE.
    """

    def __init__(self, score_fn, sde):
        self.score_fn, self.sde, self.schedule = score_fn, sde, sde.schedule
        self.nfe = 0
        self.step = 0

    def coefs(self, t: torch.Tensor):
        """``α_t, σ_t, λ_t`` at scalar ``t``."""
        sch = self.schedule
        return sch.alpha(t), sch.sigma(t), sch.lambda_(t)

    def score(self, y: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        tt = t.expand(y.shape[0]) if t.ndim == 0 else t
        x = y + self.sde.center(y)
        out = self.score_fn(x, tt)
        self.nfe += 1
        if not isinstance(out, torch.Tensor) or out.shape != y.shape:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise InputError(f"score_fn must return a tensor of the input's shape {tuple(y.shape)}, got {shape}")
        if not torch.isfinite(out).all():
            raise InputError(f"score_fn returned NaN or inf at step {self.step} (t={float(t.reshape(-1)[0]):.6g}); "
                             "check the model, or use float64 / a larger eps")
        return out.to(y.dtype)

    def noise(self, y, t):
        """ε̂ = −σ_t s."""
        return -self.schedule.sigma(t) * self.score(y, t)

    def data(self, y, t):
        """ŷ₀ = (y + σ_t² s)/α_t (centred data prediction)."""
        a, s = self.schedule.alpha(t), self.schedule.sigma(t)
        return (y + s**2 * self.score(y, t)) / a
