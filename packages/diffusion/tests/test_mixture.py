"""The analytic Gaussian-mixture score and log-density."""

import math

import numpy as np
import torch
from scipy import stats

import stochflow.diffusion as sfd
from stochflow.diffusion.testing import GaussianMixture


def _gm():
    covs = torch.tensor([[[0.3, 0.1], [0.1, 0.2]], [[0.05, 0.0], [0.0, 0.4]], [[1.0, -0.5], [-0.5, 1.0]]])
    return GaussianMixture([0.2, 0.5, 0.3], [[-1.0, 0.0], [1.5, 0.5], [0.0, -2.0]], covs)


def test_log_prob_against_scipy():
    gm = _gm()
    x = torch.randn(20, 2, dtype=torch.float64)
    ref = np.log(sum(float(w) * stats.multivariate_normal(m.numpy(), c.numpy()).pdf(x.numpy())
                     for w, m, c in zip(gm.weights, gm.means, gm.covs)))
    np.testing.assert_allclose(gm.log_prob(x).numpy(), ref, rtol=1e-12)


def test_perturbed_score_matches_finite_differences(any_sde):
    gm = _gm()
    x = 1.5 * torch.randn(12, 2, dtype=torch.float64)
    t = torch.rand(12, dtype=torch.float64) * 0.9 + 0.05  # per-sample times
    score = gm.score(x, t, any_sde)
    h = 1e-5
    fd = torch.stack([(gm.log_prob(x + h * e, t, any_sde) - gm.log_prob(x - h * e, t, any_sde)) / (2 * h)
                      for e in torch.eye(2, dtype=torch.float64)], dim=1)
    torch.testing.assert_close(score, fd, rtol=1e-6, atol=1e-6)


def test_perturbed_density_is_the_convolution():
    """Monte Carlo of p_t(x) = E_x0 N(x; α x0 + c, σ²) against log_prob at t."""
    gm = _gm()
    sde = sfd.VPSDE()
    t = torch.tensor(0.3, dtype=torch.float64)
    x0 = gm.sample(200000, seed=3)
    a, s = sde.schedule.alpha(t), sde.schedule.sigma(t)
    x = torch.tensor([[0.3, -0.4], [1.0, 0.2]], dtype=torch.float64)
    mc = torch.stack([torch.exp(-((xi - a * x0) ** 2).sum(1) / (2 * s**2)).mean() / (2 * math.pi * s**2) for xi in x])
    torch.testing.assert_close(torch.log(mc), gm.log_prob(x, t.expand(2), sde), rtol=0, atol=0.01)


def test_exact_samples_moments():
    gm = _gm()
    x, lab = gm.sample(60000, seed=0, return_labels=True)
    freq = torch.bincount(lab, minlength=3).double() / 60000
    torch.testing.assert_close(freq, gm.weights, atol=0.01, rtol=0)
    for k in range(3):
        xk = x[lab == k]
        torch.testing.assert_close(xk.mean(0), gm.means[k], atol=0.03, rtol=0)
        torch.testing.assert_close(torch.cov(xk.T), gm.covs[k], atol=0.04, rtol=0)


def test_any_shape_score_images():
    means = torch.randn(2, 1, 2, 3, dtype=torch.float64)
    gm = GaussianMixture([0.4, 0.6], means, [0.1, 0.3])
    sde = sfd.VESDE()
    x = torch.randn(3, 1, 2, 3, dtype=torch.float64)
    s = gm.score(x, 0.5, sde)
    flat = GaussianMixture([0.4, 0.6], means.reshape(2, 6), [0.1, 0.3]).score(x.reshape(3, 6), 0.5, sde)
    assert s.shape == x.shape
    torch.testing.assert_close(s.reshape(3, 6), flat)
