from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import torch

from stochflow.core.errors import InputError
from stochflow.jump.prior import empirical_bayes_prior, gamma_marginal_log_likelihood


def test_gamma_evidence_matches_quadrature_of_the_poisson_process_likelihood():
    counts = torch.tensor([[0.0, 3.0], [7.5, 0.0]], dtype=torch.float64)  # expected counts need not be integers
    holding = torch.tensor([2.0, 4.5], dtype=torch.float64)
    alpha, beta = 2.3, 1.7
    want = 0.0
    for i, j in ((0, 1), (1, 0)):
        n, r = float(counts[i, j]), float(holding[i])
        f = lambda q, n=n, r=r: q**n * np.exp(-q * r) * scipy.stats.gamma.pdf(q, alpha, scale=1 / beta)
        want += np.log(scipy.integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12)[0])
    got = float(gamma_marginal_log_likelihood(counts, holding, alpha, beta))
    assert got == pytest.approx(want, rel=1e-9)


def test_empirical_bayes_prior_mean_is_the_pooled_rate_for_equal_holding_times():
    # d/dbeta of the evidence vanishes at n alpha / beta = sum(alpha + N) / R: the prior mean is sum N / (n R)
    g = torch.Generator().manual_seed(0)
    counts = torch.poisson(torch.full((3, 4, 4), 5.0, dtype=torch.float64) * torch.rand(3, 4, 4, generator=g,
                                                                                        dtype=torch.float64) * 3)
    counts = counts * (1 - torch.eye(4, dtype=torch.float64))
    holding = torch.full((3, 4), 2.5, dtype=torch.float64)
    prior = empirical_bayes_prior(counts, holding)
    pooled = counts.sum((-1, -2)) / (12 * 2.5)
    torch.testing.assert_close((prior.alpha / prior.beta).reshape(3), pooled, rtol=1e-9, atol=0)


def test_empirical_bayes_prior_maximises_the_evidence():
    g = torch.Generator().manual_seed(1)
    S = 5
    rates = torch.distributions.Gamma(torch.tensor(2.0, dtype=torch.float64), torch.tensor(1.5, dtype=torch.float64))
    torch.manual_seed(2)
    q = rates.sample((4, S, S))
    holding = 1 + 20 * torch.rand(4, S, generator=g, dtype=torch.float64)
    counts = torch.poisson(q * holding[..., None]) * (1 - torch.eye(S, dtype=torch.float64))
    prior = empirical_bayes_prior(counts, holding)
    best = gamma_marginal_log_likelihood(counts, holding, prior.alpha.reshape(4), prior.beta.reshape(4))
    # a fine grid around the answer (and far from it) never does better
    a = prior.alpha.reshape(4, 1, 1) * torch.exp(torch.linspace(-1, 1, 41, dtype=torch.float64))[None, :, None]
    b = prior.beta.reshape(4, 1, 1) * torch.exp(torch.linspace(-1, 1, 41, dtype=torch.float64))[None, None, :]
    a = a.clamp_min(1.0).expand(4, 41, 41)
    grid = gamma_marginal_log_likelihood(counts[:, None, None], holding[:, None, None], a, b.expand(4, 41, 41))
    assert bool((grid.amax((-1, -2)) <= best + 1e-9).all()), (grid.amax((-1, -2)) - best)
    assert bool((prior.alpha > 1.0).all())  # overdispersed rates: an interior optimum


def test_empirical_bayes_prior_without_overdispersion_pools_the_rates():
    # every rate with the same counts and holding time: no spread beyond Poisson noise, so the
    # evidence grows with alpha up to its bound and the prior pins every rate at the pooled rate
    counts = torch.full((3, 3), 4.0, dtype=torch.float64).fill_diagonal_(0.0)
    holding = torch.full((3,), 2.0, dtype=torch.float64)
    prior = empirical_bayes_prior(counts, holding, max_alpha=1e3)
    assert float(prior.alpha) == pytest.approx(1e3, rel=1e-6)
    assert float(prior.alpha / prior.beta) == pytest.approx(2.0, rel=1e-9)
    with pytest.raises(InputError, match="min_alpha"):
        empirical_bayes_prior(counts, holding, min_alpha=0.5)
