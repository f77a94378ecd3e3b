"""The pseudo-generator: every observed change of label counted as one jump."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.estimator import Estimator
from stochflow.jump._backend import framework, to_framework
from stochflow.jump.estimators._common import check_prior, need_observations
from stochflow.jump.model import MarkovJumpModel
from stochflow.jump.prior import GammaPrior, rates_from_statistics


def pseudo_statistics(t: torch.Tensor, y: torch.Tensor, m: torch.Tensor, n_states: int):
    """Counts of label changes between consecutive observations ``(B, S, S)`` and the time before
    each change attributed to the earlier label ``(B, S)``; ``t, y, m`` are ``(B, N, T)``."""
    S = n_states
    B = t.shape[0]
    pair = m[..., :-1] & m[..., 1:]
    dt = torch.where(pair, t[..., 1:] - t[..., :-1], torch.zeros_like(t[..., 1:]))
    a, b = y[..., :-1].clamp(0, S - 1), y[..., 1:].clamp(0, S - 1)
    counts = torch.zeros(B, S * S, dtype=t.dtype, device=t.device)
    counts.scatter_add_(1, (a * S + b).reshape(B, -1), pair.to(t.dtype).reshape(B, -1))
    counts = counts.reshape(B, S, S).masked_fill(torch.eye(S, dtype=torch.bool, device=t.device), 0.0)
    holding = torch.zeros(B, S, dtype=t.dtype, device=t.device).scatter_add_(1, a.reshape(B, -1), dt.reshape(B, -1))
    return counts, holding


class PseudoGeneratorEstimator(Estimator):
    """``q_ij = n_ij / sum_k dt_k [y_k = i]``: label changes over the time spent before them.

    On a regular grid this is ``(P_hat(dt) - I) / dt`` off the diagonal, the first-order
    "pseudo-generator". Biased (several jumps in one interval count as at most one), fast, and the
    starting point of :class:`~stochflow.jump.EMEstimator`.
    """

    def __init__(self, prior: GammaPrior | tuple[float, float] | None = None):
        self.prior = check_prior(prior)

    def fit(self, data: Any, **kwargs: Any) -> PseudoGeneratorEstimator:
        obs = need_observations(data, "PseudoGeneratorEstimator")
        fw = framework(obs.times)
        t, y, m = obs.tensors(torch.float64)
        dtype = torch.as_tensor(obs.times).dtype if fw == "torch" else torch.from_numpy(obs.times).dtype
        batch, S = t.shape[:-2], obs.n_states
        B = t[..., 0, 0].numel()
        counts, holding = pseudo_statistics(*(x.reshape(B, *x.shape[-2:]) for x in (t, y, m)), S)
        Q, std = rates_from_statistics(counts, holding, self.prior)
        first = torch.nn.functional.one_hot(y[..., 0].reshape(B, -1).clamp(0, S - 1), S).to(torch.float64).mean(1)
        out = lambda x, *s: to_framework(x.reshape(tuple(batch) + s).to(dtype), fw)
        self._model = MarkovJumpModel(out(Q, S, S), out(first, S), None, out(std, S, S))
        return self
