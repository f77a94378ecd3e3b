"""Schedules and SDEs against their closed forms."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

import stochflow.diffusion as sfd

T64 = torch.linspace(1e-3, 1.0, 57, dtype=torch.float64)


def test_inverse_lambda_round_trip(any_sde):
    sch = any_sde.schedule
    back = sch.inverse_lambda(sch.lambda_(T64))
    torch.testing.assert_close(back, T64, rtol=1e-9, atol=1e-9)


def test_lambda_strictly_decreasing(any_sde):
    assert (torch.diff(any_sde.schedule.lambda_(T64)) < 0).all()


def test_vp_closed_forms():
    b0, b1 = 0.1, 20.0
    sch = sfd.VPSDE(b0, b1).schedule
    beta = b0 + T64 * (b1 - b0)
    torch.testing.assert_close(sch.diffusion2(T64), beta)  # VP: g² = β(t)
    torch.testing.assert_close(sch.drift_coef(T64), -0.5 * beta)
    torch.testing.assert_close(sch.alpha(T64) ** 2 + sch.sigma(T64) ** 2, torch.ones_like(T64))


def test_subvp_diffusion_matches_song_et_al():
    b0, b1 = 0.1, 20.0
    sch = sfd.SubVPSDE(b0, b1).schedule
    beta = b0 + T64 * (b1 - b0)
    integral = b0 * T64 + 0.5 * (b1 - b0) * T64**2
    torch.testing.assert_close(sch.diffusion2(T64), beta * (1 - torch.exp(-2 * integral)))
    torch.testing.assert_close(sch.sigma(T64), 1 - torch.exp(-integral))


def test_ve_closed_forms():
    sch = sfd.VESDE(0.01, 50.0).schedule
    sig = 0.01 * (50.0 / 0.01) ** T64
    torch.testing.assert_close(sch.sigma(T64), sig)
    torch.testing.assert_close(sch.diffusion2(T64), sig**2 * 2 * math.log(50.0 / 0.01))


def test_diffusion_reproduces_variance_by_quadrature(any_sde):
    """σ_t² = ∫₀ᵗ exp(2 log α_t − 2 log α_s) g(s)² ds (+ σ₀² α_t² / α₀²), checked by quadrature."""
    sch = any_sde.schedule
    s = torch.linspace(0.05, 0.9, 20001, dtype=torch.float64)
    t0, t1 = s[0], s[-1]
    integrand = torch.exp(2 * (sch.log_alpha(t1) - sch.log_alpha(s))) * sch.diffusion2(s)
    var = torch.trapezoid(integrand, s) + torch.exp(2 * (sch.log_alpha(t1) - sch.log_alpha(t0))) * sch.sigma(t0) ** 2
    torch.testing.assert_close(var, sch.sigma(t1) ** 2, rtol=1e-6, atol=1e-9)


def test_marginal_prob_and_prior(any_sde, dtype):
    x0 = torch.randn(5, 2, dtype=dtype)
    mean, std = any_sde.marginal_prob(x0, 0.3)
    assert mean.dtype == dtype and std.shape == (5,)
    a = any_sde.schedule.alpha(torch.tensor(0.3, dtype=torch.float64))
    mu = any_sde.center(x0)
    torch.testing.assert_close(mean, (a * x0 + (1 - a) * mu).to(dtype))
    z = any_sde.prior_sampling((7, 2), generator=torch.Generator().manual_seed(0), dtype=dtype)
    s = any_sde.prior_std()
    mu_np = np.broadcast_to(np.asarray(mu, dtype=np.float64), (7, 2))
    ref = stats.norm(loc=mu_np, scale=s).logpdf(z.double().numpy()).sum(1)
    np.testing.assert_allclose(any_sde.prior_logp(z).double().numpy(), ref, rtol=1e-5 if dtype == torch.float32 else 1e-12)


def test_prior_matches_marginal_at_T_for_vp():
    sde = sfd.VPSDE()
    assert abs(sde.prior_std() - 1.0) < 1e-4


def test_reverse_sde_and_pf_ode_drifts(any_sde):
    gm = sfd.testing.GaussianMixture([1.0], [[0.2, -0.1]], [[0.5, 0.3]])
    x = torch.randn(6, 2, dtype=torch.float64)
    t = torch.full((6,), 0.4, dtype=torch.float64)
    score = gm.score(x, t, any_sde)
    f, g = any_sde.sde(x, t)
    rev_f, rev_g = any_sde.reverse(gm.score_fn(any_sde)).sde(x, t)
    torch.testing.assert_close(rev_f, f - g[:, None] ** 2 * score)
    torch.testing.assert_close(rev_g, g)
    ode = any_sde.probability_flow(gm.score_fn(any_sde))(x, t)
    torch.testing.assert_close(ode, f - 0.5 * g[:, None] ** 2 * score)


@pytest.mark.parametrize("kind", sfd.GRIDS)
def test_grids(any_sde, kind):
    g = sfd.time_grid(any_sde, 12, kind)
    assert g.shape == (13,) and g[0] == any_sde.T and g[-1] == any_sde.eps
    assert (torch.diff(g) < 0).all()
    if kind == "logsnr":
        lam = any_sde.schedule.lambda_(g)
        torch.testing.assert_close(torch.diff(lam), torch.full((12,), float(lam[1] - lam[0]), dtype=torch.float64))


def test_karras_grid_values():
    sde = sfd.VESDE(0.002, 80.0, eps=1e-9)
    g = sfd.time_grid(sde, 10, "karras")
    sig = sde.schedule.sigma(g)
    i = torch.arange(11, dtype=torch.float64) / 10
    ref = (80.0 ** (1 / 7) + i * (sde.schedule.sigma(torch.tensor(1e-9, dtype=torch.float64)) ** (1 / 7) - 80 ** (1 / 7))) ** 7
    torch.testing.assert_close(sig, ref)
