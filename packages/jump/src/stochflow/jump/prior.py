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
        """The same prior for ``shape = (B, S, S)``: tensors with batch dimensions (per rate
        ``(..., S, S)`` or per process ``(..., 1, 1)``) flattened to ``(B, ., .)``; scalars and
        ``(S, S)`` tensors unchanged."""
        f = lambda v: v.reshape(-1, *v.shape[-2:]).expand(shape[0], -1, -1) if isinstance(v, torch.Tensor) and v.ndim > 2 else v
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


def gamma_marginal_log_likelihood(counts: torch.Tensor, holding: torch.Tensor, alpha: Any, beta: Any) -> torch.Tensor:
    """``log prod_ij int q^N_ij e^{-q R_i} Gamma(q; alpha, beta) dq`` per process.

    ``= sum_ij [alpha log beta - log Gamma(alpha) + log Gamma(alpha + N_ij) - (alpha + N_ij) log(beta + R_i)]``
    over the off-diagonal entries of visited states (``R_i > 0``): the evidence of the jump counts
    and holding times for i.i.d. ``Gamma(alpha, beta)`` rates. ``alpha, beta``: ``(...)`` per
    process (or scalars).
    """
    S = counts.shape[-1]
    off = ~torch.eye(S, dtype=torch.bool, device=counts.device)
    a = torch.as_tensor(alpha, dtype=counts.dtype, device=counts.device)[..., None, None]
    b = torch.as_tensor(beta, dtype=counts.dtype, device=counts.device)[..., None, None]
    N, R = counts.clamp_min(0.0), holding.clamp_min(0.0)[..., None]
    term = a * torch.log(b) - torch.lgamma(a) + torch.lgamma(a + N) - (a + N) * torch.log(b + R)
    use = off & (R > 0)
    return torch.where(use, term, torch.zeros_like(term)).sum((-1, -2))


def _profile_beta(N: torch.Tensor, R: torch.Tensor, use: torch.Tensor, a: torch.Tensor, iters: int = 48) -> torch.Tensor:
    """For every ``alpha`` in ``a`` (``(B, G)``): the ``beta`` where the evidence is stationary,
    ``n alpha = sum_ij (alpha + N_ij) beta / (beta + R_i)``. The right side grows from 0 to
    ``n alpha + sum N`` as ``beta`` goes from 0 to infinity, so the root is unique; it is found by
    bisection in ``log beta`` (capped so that data without any jump give a finite, tight prior)."""
    n = use.sum((-1, -2)).to(N.dtype)[:, None]  # (B, 1)
    Nu = torch.where(use, N, torch.zeros_like(N))[:, None]  # (B, 1, S, S)
    Ru = R[:, None]  # (B, 1, S, 1)
    useb = use[:, None]
    lo = torch.full_like(a, -30.0)
    hi = torch.log(1e8 * (1.0 + Ru.amax((-1, -2)))).expand_as(a).clone()
    for _ in range(iters):
        mid = (lo + hi) / 2
        beta = torch.exp(mid)[..., None, None]
        right = torch.where(useb, (a[..., None, None] + Nu) * beta / (beta + Ru), torch.zeros_like(Nu)).sum((-1, -2))
        below = right < n * a  # the root lies above mid
        lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
    return torch.exp((lo + hi) / 2)


def empirical_bayes_prior(counts: torch.Tensor, holding: torch.Tensor, *, min_alpha: float = 1.0,
                          max_alpha: float = 1e4) -> GammaPrior:
    """The ``Gamma(alpha, beta)`` prior (one per process) that maximises
    :func:`gamma_marginal_log_likelihood` of the given counts and holding times (type-II maximum
    likelihood): rates are then shrunk toward a common level ``alpha / beta``, the more so the
    less the rates of the process differ beyond Poisson noise.

    ``alpha`` is searched on a log grid of ``[min_alpha, max_alpha]`` refined by golden sections;
    ``beta`` is profiled out. With equal holding times the prior mean ``alpha / beta`` equals the
    pooled rate ``sum N / (n R)`` for every ``alpha``.

    Parameters
    ----------
    counts, holding
        ``(..., S, S)`` and ``(..., S)`` (expected) jumps and holding times.
    min_alpha, max_alpha
        Range of the shape (``min_alpha >= 1`` keeps the MAP finite at zero counts).

    Returns
    -------
    GammaPrior
        With ``(...)`` tensors ``alpha`` and ``beta`` broadcasting against ``(..., S, S)`` as
        ``(..., 1, 1)``.
    """
    if not 1.0 <= min_alpha < max_alpha:
        raise InputError(f"need 1 <= min_alpha < max_alpha, got {min_alpha}, {max_alpha}")
    batch, S = counts.shape[:-2], counts.shape[-1]
    N = counts.reshape(-1, S, S).clamp_min(0.0)
    R = holding.reshape(-1, S).clamp_min(0.0)[..., None]
    use = (~torch.eye(S, dtype=torch.bool, device=N.device)) & (R > 0)
    lo, hi = torch.log(torch.tensor(min_alpha, dtype=N.dtype)), torch.log(torch.tensor(max_alpha, dtype=N.dtype))
    grid = torch.exp(torch.linspace(float(lo), float(hi), 17, dtype=N.dtype, device=N.device)).expand(N.shape[0], -1)

    def profile(a):  # (B, G) -> evidence, beta
        b = _profile_beta(N, R, use, a)
        ll = gamma_marginal_log_likelihood(N[:, None], R[:, None, :, 0], a, b)
        return ll, b

    ll, _ = profile(grid)
    k = ll.argmax(-1, keepdim=True)
    step = (hi - lo) / 16
    left = (torch.log(grid.gather(-1, k)) - step).clamp(min=float(lo))
    right = (torch.log(grid.gather(-1, k)) + step).clamp(max=float(hi))
    g = (5 ** 0.5 - 1) / 2
    for _ in range(28):  # golden sections in log alpha
        x1, x2 = right - g * (right - left), left + g * (right - left)
        f, _ = profile(torch.exp(torch.cat([x1, x2], -1)))
        better = f[:, :1] >= f[:, 1:]
        right = torch.where(better, x2, right)
        left = torch.where(better, left, x1)
    a = torch.exp((left + right) / 2)
    _, b = profile(a)
    return GammaPrior(a.reshape(*batch, 1, 1), b.reshape(*batch, 1, 1))
