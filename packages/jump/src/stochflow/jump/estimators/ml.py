"""Maximum likelihood (and Gamma-MAP) estimation from fully observed paths."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import InputTypeError
from stochflow.core.estimator import Estimator
from stochflow.jump._backend import as_tensor, framework, to_framework
from stochflow.jump.estimators._common import check_estimate, check_prior
from stochflow.jump.model import MarkovJumpModel
from stochflow.jump.paths import JumpPaths
from stochflow.jump.prior import GammaPrior, rates_from_statistics


def path_log_likelihood(Q: torch.Tensor, counts: torch.Tensor, holding: torch.Tensor) -> torch.Tensor:
    """``sum_ij N_ij log q_ij - sum_i R_i |q_ii|`` (complete-data log-likelihood), per process."""
    S = Q.shape[-1]
    off = Q.masked_fill(torch.eye(S, dtype=torch.bool, device=Q.device), 0.0)
    jumps = torch.where(counts > 0, counts * torch.log(torch.where(off > 0, off, torch.ones_like(off))),
                        torch.zeros_like(counts))
    impossible = ((counts > 0) & (off <= 0)).any(-1).any(-1)
    ll = jumps.sum((-1, -2)) - (holding * off.sum(-1)).sum(-1)
    return torch.where(impossible, torch.full_like(ll, -float("inf")), ll)


class MLEstimator(Estimator):
    """Rates from fully observed paths: ``q_ij = N_ij / R_i`` (jumps over holding time).

    Parameters
    ----------
    prior
        Optional :class:`~stochflow.jump.GammaPrior` (or ``(alpha, beta)``); the rates are then the
        posterior mode or mean of ``Gamma(alpha + N_ij, beta + R_i)``.
    estimate
        ``"map"`` (posterior mode; the MLE under no prior) or ``"mean"``.

    Examples
    --------
    >>> import stochflow.jump as sfj
    >>> paths = sfj.simulate(sfj.dfr_generator(), n_paths=100, t_max=5.0, seed=0)
    >>> model = sfj.MLEstimator().fit(paths).fetch_model()
    """

    def __init__(self, prior: GammaPrior | tuple[float, float] | None = None, estimate: str = "map"):
        self.prior = check_prior(prior)
        self.estimate = check_estimate(estimate)

    def fit(self, data: JumpPaths, **kwargs: Any) -> MLEstimator:
        """Fit on :class:`~stochflow.jump.JumpPaths` (batched processes give a batched model)."""
        if not isinstance(data, JumpPaths):
            raise InputTypeError(f"MLEstimator needs fully observed JumpPaths, got {type(data).__name__}; "
                                 "for discrete observations use EMEstimator")
        fw = framework(data.times)
        dtype = as_tensor(data.times, "times").dtype
        counts, holding, initial = (as_tensor(x, "stat").to(torch.float64) for x in data.statistics())
        Q, std = rates_from_statistics(counts, holding, self.prior, self.estimate)
        p0 = initial / initial.sum(-1, keepdim=True)
        ll = path_log_likelihood(Q, counts, holding)
        out = lambda x: to_framework(x.to(dtype), fw)
        self._model = MarkovJumpModel(out(Q), out(p0), None, out(std), out(ll))
        return self
