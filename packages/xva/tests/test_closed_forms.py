"""Closed forms against independent computations (quadrature, Monte Carlo, published figures)."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate
from scipy.stats import norm

from stochflow.core.errors import InputError
from stochflow.xva import closed_forms as cf
from stochflow.xva.forward import CorrelatedGBM, time_grid


def test_cva_of_forward_matches_published_figure():
    # (1 - R) ∫ λ e^{-λt} EPE(t) dt at S0 = K = 100, σ = 0.25, T = 1, r = 0, λ = 0.1, R = 0.3
    assert cf.cva_forward_exponential(100, 100, 1.0, 0.0, 0.25, 0.1, 0.3) == pytest.approx(0.43780, abs=5e-6)


def test_fva_of_forward_matches_published_figure():
    assert cf.fva_forward(100, 100, 1.0, 0.02, 0.04) == pytest.approx(0.039209, abs=5e-7)


def test_first_passage_matches_published_figure():
    pd = 1 - cf.first_passage_survival(1.0, 100.0, 70.0, -0.02, 0.2)
    assert pd == pytest.approx(0.088758, abs=5e-7)


def test_forward_epe_matches_direct_integral_with_nonzero_rate():
    # E[e^{-rt}(S_t - K e^{-r(T-t)})^+] by Gauss-Hermite-free quadrature over the normal density
    s0, k, T, r, vol, t = 100.0, 105.0, 2.0, 0.05, 0.3, 0.7

    def integrand(zz):
        st = s0 * math.exp((r - 0.5 * vol**2) * t + vol * math.sqrt(t) * zz)
        return math.exp(-r * t) * max(st - k * math.exp(-r * (T - t)), 0.0) * norm.pdf(zz)

    ref, _ = integrate.quad(integrand, -12, 12, limit=200)
    assert cf.forward_epe(t, s0, k, T, r, vol) == pytest.approx(ref, rel=1e-7)
    # the formula without the rT term is wrong for r != 0
    d1_wrong = (math.log(s0 / k) + 0.5 * vol**2 * t) / (vol * math.sqrt(t))
    wrong = s0 * norm.cdf(d1_wrong) - k * math.exp(-r * T) * norm.cdf(d1_wrong - vol * math.sqrt(t))
    assert abs(wrong - ref) > 1e-2


def test_epe_plus_ene_is_forward_value():
    t = np.linspace(0.1, 1.0, 5)
    total = cf.forward_epe(t, 100, 95, 1.0, 0.03, 0.2) + cf.forward_ene(t, 100, 95, 1.0, 0.03, 0.2)
    np.testing.assert_allclose(total, 100 - 95 * math.exp(-0.03), rtol=1e-12)


def test_black_scholes_put_call_parity_and_limits():
    c = cf.black_scholes(100, 90, 1.5, 0.04, 0.3, "call")
    p = cf.black_scholes(100, 90, 1.5, 0.04, 0.3, "put")
    assert c - p == pytest.approx(100 - 90 * math.exp(-0.04 * 1.5), rel=1e-12)
    assert cf.black_scholes(100, 90, 1.0, 0.04, 0.3, "call", t=1.0) == pytest.approx(10.0)


def test_black_scholes_against_monte_carlo_on_exact_gbm_paths():
    model = CorrelatedGBM([100.0], [0.25], [0.03])
    t = time_grid(1.0, 1, dtype=torch.float64)
    x = model.sample(t, 200_000, seed=3).x[-1, :, 0]
    pay = math.exp(-0.03) * (x - 100).clamp_min(0)
    se = float(pay.std()) / math.sqrt(pay.numel())
    assert abs(float(pay.mean()) - cf.black_scholes(100, 100, 1.0, 0.03, 0.25)) < 4 * se


@pytest.mark.parametrize("kwargs", [dict(intensity=-0.1, recovery=0.3), dict(intensity=0.1, recovery=1.2),
                                    dict(intensity=0.1, recovery=-0.01)])
def test_cva_closed_form_rejects_bad_credit_inputs(kwargs):
    with pytest.raises(InputError):
        cf.cva_forward_exponential(100, 100, 1.0, 0.0, 0.25, **kwargs)


def test_black_scholes_rejects_negative_vol():
    with pytest.raises(InputError, match="volatility"):
        cf.black_scholes(100, 100, 1.0, 0.0, -0.2)
