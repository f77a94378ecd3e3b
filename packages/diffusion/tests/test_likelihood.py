"""PF-ODE log-likelihood against the closed form for Gaussian data."""

import math

import numpy as np
import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.core.errors import InputError
from stochflow.diffusion.likelihood import bits_per_dim, log_likelihood
from stochflow.diffusion.testing import GaussianMixture

GAUSS = GaussianMixture([1.0], [[0.5, -1.0, 0.2]], [[[0.3, 0.1, 0.0], [0.1, 0.2, 0.0], [0.0, 0.0, 0.05]]])


def _full(sde, v):
    return torch.tensor(v, dtype=torch.float64).expand(8)


@pytest.mark.parametrize("make", [sfd.VPSDE, sfd.VESDE, sfd.SubVPSDE, lambda: sfd.MeanRevertingSDE(mu=0.3)],
                         ids=["vp", "ve", "subvp", "mr"])
def test_ode_part_matches_closed_form_with_fourth_order(make):
    """log p_T(x_T) + ∫ div = log p_eps(x) exactly for Gaussian data; RK4 error falls ≈ 2⁴ per halving."""
    sde = make()
    x = GAUSS.sample(8, seed=0)
    ref = GAUSS.log_prob(x, _full(sde, sde.eps), sde)
    errs = []
    for steps in (20, 40, 80):
        r = log_likelihood(GAUSS.score_fn(sde), sde, x, steps=steps)
        errs.append(float((GAUSS.log_prob(r.x_T, _full(sde, sde.T), sde) + r.delta - ref).abs().max()))
        assert r.nfe == 4 * steps
    assert errs[-1] < 1e-4
    assert np.log2(errs[0] / errs[-1]) / 2 > 3.5, errs
    # the full estimate differs only by the prior term log p_T − log N(μ, σ_T²)
    r = log_likelihood(GAUSS.score_fn(sde), sde, x, steps=80)
    gap = GAUSS.log_prob(r.x_T, _full(sde, sde.T), sde) - sde.prior_logp(r.x_T)
    torch.testing.assert_close(r.logp + gap, ref, atol=1e-4, rtol=0)


MIXTURE = GaussianMixture([0.2, 0.5, 0.3], [[-1.5, 0.0, 0.5], [1.0, 1.0, -0.5], [0.5, -1.5, 0.0]],
                          [[0.05, 0.2, 0.1], [0.3, 0.02, 0.1], [0.1, 0.1, 0.1]])


@pytest.mark.parametrize("make", [sfd.VPSDE, sfd.VESDE], ids=["vp", "ve"])
def test_mixture_log_density_through_adaptive_pf_ode(make):
    """Exact score of a 3-component mixture: ``log p_T(x_T) + ∫ div`` equals the analytic
    ``log p_eps(x)``; the adaptive solver (stochflow-sde's dopri5) meets its tolerance."""
    sde = make()
    x = MIXTURE.sample(6, seed=2)
    ref = MIXTURE.log_prob(x, _full(sde, sde.eps)[:6], sde)
    errs = []
    for tol in (1e-4, 1e-7):
        r = log_likelihood(MIXTURE.score_fn(sde), sde, x, method="dopri5", rtol=tol, atol=tol)
        errs.append(float((MIXTURE.log_prob(r.x_T, _full(sde, sde.T)[:6], sde) + r.delta - ref).abs().max()))
    assert errs[1] < 1e-5 and errs[1] < errs[0], errs
    hutch = log_likelihood(MIXTURE.score_fn(sde), sde, x, method="dopri5", rtol=1e-5, atol=1e-5,
                           trace="hutchinson", n_probes=64, seed=0)
    # the probe noise of a 3-D trace with 64 probes, integrated over the path: well below 0.5 nats
    assert float((hutch.delta - r.delta).abs().max()) < 0.5


def test_hutchinson_is_unbiased(dtype):
    sde = sfd.VPSDE()
    x = GAUSS.sample(8, seed=1, dtype=dtype)
    exact = log_likelihood(GAUSS.score_fn(sde), sde, x, steps=10)
    hutch = log_likelihood(GAUSS.score_fn(sde), sde, x, steps=10, trace="hutchinson", n_probes=256, seed=3)
    assert exact.logp.dtype == dtype and hutch.logp.dtype == dtype
    assert float((hutch.delta - exact.delta).abs().max()) < 0.15
    one = log_likelihood(GAUSS.score_fn(sde), sde, x, steps=10, trace="hutchinson", n_probes=1, seed=3)
    assert not torch.equal(one.delta, exact.delta)


def test_bits_per_dim_convention():
    logp = torch.tensor([-10.0], dtype=torch.float64)
    assert math.isclose(float(bits_per_dim(logp, 4)), 10 / (4 * math.log(2)) + 7)
    assert math.isclose(float(bits_per_dim(logp, 4, data_range=1.0)), 10 / (4 * math.log(2)) + 8)
    # a uniform density on [-1, 1]^D has log p = −D log 2, i.e. exactly 8 bits/dim for 8-bit data
    assert math.isclose(float(bits_per_dim(torch.tensor(-3 * math.log(2.0)), 3)), 8.0)


def test_likelihood_bad_inputs():
    sde = sfd.VPSDE()
    x = GAUSS.sample(2)
    with pytest.raises(InputError, match="trace"):
        log_likelihood(GAUSS.score_fn(sde), sde, x, trace="skilling")
    with pytest.raises(InputError, match="steps"):
        log_likelihood(GAUSS.score_fn(sde), sde, x, steps=0)
    with pytest.raises(InputError, match="method"):
        log_likelihood(GAUSS.score_fn(sde), sde, x, method="rk45")
    with pytest.raises(InputError, match="NaN"):
        log_likelihood(GAUSS.score_fn(sde), sde, x * float("nan"))
