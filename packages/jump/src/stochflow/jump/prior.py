"""The Gamma prior on rates and the one formula turning jump counts and holding times into rates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from stochflow.core.errors import InputError, InputTypeError


@dataclass(frozen=True)
class GammaPrior:
    """Independent ``Gamma(alpha, beta)`` priors (shape, rate) on every off-diagonal rate.

    Given ``N_ij`` jumps ``i -> j`` and ``R_i`` time spent in ``i``, the posterior of ``q_ij`` is
    ``Gamma(alpha + N_ij, beta + R_i)``. ``alpha = 1, beta = 0`` is the flat prior: the MAP is then
    the maximum-likelihood estimate ``N_ij / R_i``.
    """

    alpha: Any = 1.0
    beta: Any = 0.0

    def __post_init__(self) -> None:
        for key in ("alpha", "beta"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float, torch.Tensor)):
                raise InputTypeError(f"GammaPrior.{key} must be a number or a tensor, got {type(v).__name__}")
        a = torch.as_tensor(self.alpha, dtype=torch.float64)
        b = torch.as_tensor(self.beta, dtype=torch.float64)
        if not (bool((a > 0).all()) and bool((b >= 0).all())) or not bool(torch.isfinite(a).all() & torch.isfinite(b).all()):
            raise InputError(f"GammaPrior needs alpha > 0 and beta >= 0, got ({self.alpha}, {self.beta})")
        if bool((a < 1).any()):
            raise InputError(f"GammaPrior alpha={self.alpha} < 1 has no finite MAP at zero counts; use alpha >= 1")

    def reshaped(self, shape: tuple[int, ...]) -> GammaPrior:
        """The same prior with per-rate tensors reshaped to ``shape`` (scalars unchanged)."""
        f = lambda v: v.reshape(shape) if isinstance(v, torch.Tensor) and v.ndim > 2 else v
        return GammaPrior(f(self.alpha), f(self.beta))

    def log_density(self, rates: torch.Tensor) -> torch.Tensor:
        """Sum over off-diagonal entries of the log prior density (up to a constant), per process."""
        S = rates.shape[-1]
        off = ~torch.eye(S, dtype=torch.bool, device=rates.device)
        a = torch.as_tensor(self.alpha, dtype=rates.dtype, device=rates.device) - 1.0
        b = torch.as_tensor(self.beta, dtype=rates.dtype, device=rates.device)
        term = torch.special.xlogy(a.expand_as(rates), rates) - b * rates
        return term.masked_fill(~off, 0.0).sum((-1, -2))


FLAT = GammaPrior(1.0, 0.0)

ESTIMATES = ("map", "mean")


def rates_from_statistics(counts: torch.Tensor, holding: torch.Tensor, prior: GammaPrior | None = None,
                          estimate: str = "map") -> tuple[torch.Tensor, torch.Tensor]:
    """Generator and posterior standard deviations of its rates from sufficient statistics.

    Parameters
    ----------
    counts
        ``(..., S, S)`` (expected) numbers of jumps ``i -> j``.
    holding
        ``(..., S)`` (expected) total times in each state.
    prior
        Gamma prior (default flat: maximum likelihood).
    estimate
        ``"map"``: ``(alpha - 1 + N_ij) / (beta + R_i)``; ``"mean"``: ``(alpha + N_ij) / (beta + R_i)``.

    Returns
    -------
    generator, std
        ``(..., S, S)``; rates of states never visited (``beta + R_i = 0``) are 0 with infinite
        standard deviation.
    """
    prior = prior or FLAT
    if estimate not in ESTIMATES:
        raise InputError(f"estimate must be one of {ESTIMATES}, got {estimate!r}")
    S = counts.shape[-1]
    eye = torch.eye(S, dtype=torch.bool, device=counts.device)
    alpha = torch.as_tensor(prior.alpha, dtype=counts.dtype, device=counts.device)
    beta = torch.as_tensor(prior.beta, dtype=counts.dtype, device=counts.device)
    shape = alpha + counts.masked_fill(eye, 0.0)
    rate = (beta + holding[..., None]).expand_as(shape)
    top = shape - 1.0 if estimate == "map" else shape
    seen = rate > 0
    safe = torch.where(seen, rate, torch.ones_like(rate))
    rates = torch.where(seen, top.clamp_min(0.0) / safe, torch.zeros_like(rate)).masked_fill(eye, 0.0)
    std = torch.where(seen, shape.sqrt() / safe, torch.full_like(rate, float("inf"))).masked_fill(eye, 0.0)
    return rates - torch.diag_embed(rates.sum(-1)), std
