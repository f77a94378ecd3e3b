"""Gaussian-mixture data whose perturbed score is analytic under every SDE of this package.

``p₀ = Σ_k π_k N(μ_k, Σ_k)`` perturbed by ``x_t | x₀ ~ N(α_t x₀ + c_t, σ_t² I)`` is the mixture
with means ``m_k = α_t μ_k + c_t`` and covariances ``C_k = α_t² Σ_k + σ_t² I``. Each Σ_k is
eigen-decomposed once, so ``C_k⁻¹`` and ``log det C_k`` are cheap for per-sample times.
"""

from __future__ import annotations

import math

import torch

from stochflow.core.errors import InputError
from stochflow.diffusion._util import as_time, bcast, check_tensor

__all__ = ["GaussianMixture"]


class GaussianMixture:
    """A Gaussian mixture with exact samples, log-density and perturbed score.

    Parameters
    ----------
    weights
        Mixture weights ``(K,)``, positive; normalised to sum to one.
    means
        Component means ``(K, *event_shape)`` (vectors, images, any shape).
    covs
        Covariances ``(K, D, D)`` with ``D = prod(event_shape)``, or ``(K, D)`` diagonals, or
        ``(K,)`` isotropic variances.
    """

    def __init__(self, weights, means, covs):
        means = torch.as_tensor(means, dtype=torch.float64)
        if means.ndim < 2:
            raise InputError(f"means must have shape (K, *event_shape), got {tuple(means.shape)}")
        K = means.shape[0]
        self.event_shape = tuple(means.shape[1:])
        D = int(math.prod(self.event_shape))
        w = torch.as_tensor(weights, dtype=torch.float64)
        if w.shape != (K,) or (w <= 0).any() or not torch.isfinite(w).all():
            raise InputError(f"weights must be {K} positive numbers, got {w.tolist()}")
        covs = torch.as_tensor(covs, dtype=torch.float64)
        if covs.shape == (K,):
            covs = covs[:, None, None] * torch.eye(D, dtype=torch.float64)
        elif covs.shape == (K, D):
            covs = torch.diag_embed(covs)
        if covs.shape != (K, D, D):
            raise InputError(f"covs must have shape ({K}, {D}, {D}), ({K}, {D}) or ({K},), got {tuple(covs.shape)}")
        if not torch.allclose(covs, covs.transpose(1, 2), atol=1e-10):
            raise InputError("covs must be symmetric")
        evals, evecs = torch.linalg.eigh(covs)
        if (evals < -1e-12).any():
            raise InputError("covs must be positive semi-definite")
        self.weights = w / w.sum()
        self.means = means.reshape(K, D)
        self.covs = covs
        self._evals = evals.clamp_min(0.0)
        self._evecs = evecs
        self.dim = D

    @property
    def n_components(self) -> int:
        return self.weights.shape[0]

    def _to(self, x: torch.Tensor):
        return (self.weights.to(x.device, x.dtype), self.means.to(x.device, x.dtype),
                self._evals.to(x.device, x.dtype), self._evecs.to(x.device, x.dtype))

    def sample(self, n: int, *, seed: int | None = 0, dtype=torch.float64, device="cpu",
               return_labels: bool = False):
        """``n`` exact samples (shape ``(n, *event_shape)``); labels too if asked."""
        if int(n) < 1:
            raise InputError(f"n must be >= 1, got {n}")
        g = torch.Generator().manual_seed(int(seed) if seed is not None else torch.seed())
        labels = torch.multinomial(self.weights, int(n), replacement=True, generator=g)
        z = torch.randn(int(n), self.dim, generator=g, dtype=torch.float64)
        root = self._evecs * self._evals.sqrt()[:, None, :]
        x = self.means[labels] + torch.einsum("nij,nj->ni", root[labels], z)
        x = x.reshape((int(n),) + self.event_shape).to(dtype=dtype, device=device)
        return (x, labels.to(device)) if return_labels else x

    def _component_terms(self, x: torch.Tensor, alpha: torch.Tensor, sigma: torch.Tensor, shift):
        """Per-sample, per-component log N(x; m_k, C_k) and C_k⁻¹(x − m_k)."""
        w, mu, ev, U = self._to(x)
        n = x.shape[0]
        xf = x.reshape(n, -1)
        shift = torch.as_tensor(shift, dtype=x.dtype, device=x.device).expand(x.shape).reshape(n, -1)
        a, s = alpha[:, None], sigma[:, None]
        r = xf[:, None, :] - (a[:, :, None] * mu[None] + shift[:, None, :])  # (n, K, D)
        lam = a[:, :, None] ** 2 * ev[None] + s[:, :, None] ** 2  # (n, K, D) eigenvalues of C_k
        proj = torch.einsum("kdj,nkd->nkj", U, r)
        sol = torch.einsum("kdj,nkj->nkd", U, proj / lam)
        logn = -0.5 * ((proj**2) / lam).sum(-1) - 0.5 * torch.log(lam).sum(-1) - 0.5 * self.dim * math.log(2 * math.pi)
        return torch.log(w)[None] + logn, sol

    def _coeffs(self, x, t, sde):
        if sde is None:
            one = torch.ones(x.shape[0], dtype=x.dtype, device=x.device)
            return one, torch.zeros_like(one), 0.0
        t = as_time(t, x)
        a = sde.schedule.alpha(t)
        shift = (1 - bcast(a, x)) * sde.center(x)
        return a, sde.schedule.sigma(t), shift

    def log_prob(self, x: torch.Tensor, t=None, sde=None) -> torch.Tensor:
        """log p₀(x), or log p_t(x) under ``sde`` when ``t`` is given; shape ``(n,)``."""
        x = self._check(x)
        a, s, shift = self._coeffs(x, t, sde)
        logits, _ = self._component_terms(x, a, s, shift)
        return torch.logsumexp(logits, dim=1)

    def score(self, x: torch.Tensor, t, sde) -> torch.Tensor:
        """Exact ∇log p_t(x) under ``sde`` at times ``t`` (scalar or ``(n,)``)."""
        x = self._check(x)
        a, s, shift = self._coeffs(x, t, sde)
        logits, sol = self._component_terms(x, a, s, shift)
        w = torch.softmax(logits, dim=1)
        return -(w[:, :, None] * sol).sum(1).reshape(x.shape)

    def responsibilities(self, x: torch.Tensor, t=None, sde=None) -> torch.Tensor:
        """Posterior component probabilities ``(n, K)``."""
        x = self._check(x)
        a, s, shift = self._coeffs(x, t, sde)
        logits, _ = self._component_terms(x, a, s, shift)
        return torch.softmax(logits, dim=1)

    def score_at(self, x: torch.Tensor, alpha, sigma) -> torch.Tensor:
        """Exact score of the data perturbed as ``α x₀ + σ ε`` (α, σ scalars or ``(n,)``), for
        libraries with their own (discrete) schedules."""
        x = self._check(x)
        a = torch.as_tensor(alpha, dtype=x.dtype, device=x.device).expand(x.shape[0])
        s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device).expand(x.shape[0])
        logits, sol = self._component_terms(x, a, s, 0.0)
        w = torch.softmax(logits, dim=1)
        return -(w[:, :, None] * sol).sum(1).reshape(x.shape)

    def score_fn(self, sde):
        """``score_fn(x, t)`` closure for :func:`stochflow.diffusion.sample`."""
        return lambda x, t: self.score(x, t, sde)

    def _check(self, x):
        x = check_tensor("x", x)
        if tuple(x.shape[1:]) != self.event_shape:
            raise InputError(f"x must have shape (n, {', '.join(map(str, self.event_shape))}), got {tuple(x.shape)}")
        return x
