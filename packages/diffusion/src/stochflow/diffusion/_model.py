"""The wrapper samplers call: noise/data predictions in the centred variable, NFE counting and
checks (shape, finiteness naming the step)."""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError

CHECK_EVERY = 16  # evaluations between the finiteness checks' host synchronisations on a device


def defer_checks(device: torch.device) -> bool:
    """Whether finiteness checks wait on the device (off the CPU, where a check costs a sync)."""
    return device.type != "cpu"


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
        self._bad = None  # on a device: (first bad step, its t, flag), kept there between checks

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
        if not defer_checks(out.device):
            if not torch.isfinite(out).all():
                self._raise(self.step, float(t.reshape(-1)[0]))
        else:  # no host round-trip per evaluation: the first bad step is recorded on the device
            bad = ~torch.isfinite(out).all()
            t0 = t.reshape(-1)[0].to(torch.float64)
            if self._bad is None:
                self._bad = (torch.where(bad, self.step, -1), torch.where(bad, t0, 0.0), bad)
            else:
                step, when, seen = self._bad
                first = bad & ~seen
                self._bad = (torch.where(first, self.step, step), torch.where(first, t0, when), seen | bad)
            if self.nfe % CHECK_EVERY == 0:
                self.raise_if_bad()
        return out.to(y.dtype)

    def raise_if_bad(self) -> None:
        """Raise for a non-finite evaluation recorded on the device (one host synchronisation)."""
        if self._bad is not None and bool(self._bad[2]):
            self._raise(int(self._bad[0]), float(self._bad[1]))

    @staticmethod
    def _raise(step: int, t: float) -> None:
        raise InputError(f"score_fn returned NaN or inf at step {step} (t={t:.6g}); "
                         "check the model, or use float64 / a larger eps")

    def noise(self, y, t):
        """ε̂ = −σ_t s."""
        return -self.schedule.sigma(t) * self.score(y, t)

    def data(self, y, t):
        """ŷ₀ = (y + σ_t² s)/α_t (centred data prediction)."""
        a, s = self.schedule.alpha(t), self.schedule.sigma(t)
        return (y + s**2 * self.score(y, t)) / a
