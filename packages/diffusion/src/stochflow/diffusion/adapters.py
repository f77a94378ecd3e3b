"""Model-output adapters: noise-, data-, velocity-prediction and EDM denoisers ↔ score.

With ``y = x − μ`` (μ = 0 except for mean-reverting SDEs), ``y_t = α_t y₀ + σ_t ε`` and

* score ``s = ∇log p_t(x) = −ε̂/σ_t``,
* data prediction ``x̂₀ = μ + (y + σ_t² s)/α_t``,
* velocity ``v̂ = α_t ε̂ − σ_t ŷ₀``,
* EDM denoiser ``D(x/α_t, σ_t/α_t) = ŷ₀`` (the VE-form denoiser of the scaled variable).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from stochflow.core.errors import InputError, close_matches_message
from stochflow.diffusion._util import as_time, bcast

KINDS = ("score", "noise", "data", "velocity", "edm")
ModelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def _coefs(sde, x, t):
    t = as_time(t, x)
    return t, bcast(sde.schedule.alpha(t), x), bcast(sde.schedule.sigma(t), x), sde.center(x)


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InputError(close_matches_message("model output kind", str(kind), KINDS))
    return kind


def to_score(model: ModelFn, kind: str, sde) -> ModelFn:
    """Turn a model predicting ``kind`` (``"noise"``, ``"data"``, ``"velocity"``, ``"edm"``,
    ``"score"``) at ``(x, t)`` into ``score_fn(x, t)``. An ``"edm"`` model is called as
    ``D(x/α_t, σ_t/α_t)`` with its second argument the EDM noise level σ̃ of shape ``(n,)``."""
    _check_kind(kind)
    if kind == "score":
        return model

    def score_fn(x, t):
        t, a, s, mu = _coefs(sde, x, t)
        y = x - mu
        if kind == "noise":
            return -model(x, t) / s
        if kind == "data":
            y0 = model(x, t) - mu
        elif kind == "velocity":
            v = model(x, t)
            y0 = (a * y - s * v) / (a**2 + s**2)  # solves v = α ε − σ y0 with y = α y0 + σ ε
        else:  # edm
            y0 = model(y / a, sde.schedule.sigma(t) / sde.schedule.alpha(t))
        return (a * y0 - y) / s**2

    return score_fn


def from_score(score_fn: ModelFn, kind: str, sde) -> ModelFn:
    """The inverse of :func:`to_score`: a score function as a ``kind``-prediction model."""
    _check_kind(kind)
    if kind == "score":
        return score_fn

    def model(x, t):
        t, a, s, mu = _coefs(sde, x, t)
        y = x - mu
        if kind == "edm":  # here x is the scaled variable and t the EDM noise level σ̃
            raise InputError("from_score(kind='edm') is not defined on (x, t); use data prediction instead")
        sc = score_fn(x, t)
        eps = -s * sc
        y0 = (y + s**2 * sc) / a
        if kind == "noise":
            return eps
        if kind == "data":
            return y0 + mu
        return a * eps - s * y0

    return model
