"""Exposure profiles of a forward against closed forms (r != 0)."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from stochflow.core.errors import InputError
from stochflow.xva import (
    CorrelatedGBM,
    Forward,
    exposure_profile,
    forward_ene,
    forward_epe,
    time_grid,
)

S0, K, T, R, VOL = 100.0, 100.0, 1.0, 0.03, 0.25
PATHS = 50_000


def forward_paths():
    t = time_grid(T, 10)
    s = CorrelatedGBM([S0], [VOL], [R]).sample(t, PATHS, seed=11).x
    v = Forward(maturity=T, strike=K).value(t[:, None], s, R, [VOL])
    return t, v


def test_discounted_epe_and_ene_match_closed_forms():
    t, v = forward_paths()
    prof = exposure_profile(t, v, R)
    disc = torch.exp(-R * t)[:, None]
    se_pos = (disc * v.clamp_min(0)).std(1).numpy() / math.sqrt(PATHS)
    se_neg = (disc * v.clamp_max(0)).std(1).numpy() / math.sqrt(PATHS)
    tt = prof.times[1:]
    assert np.all(np.abs(prof.epe[1:] - forward_epe(tt, S0, K, T, R, VOL)) < 4 * se_pos[1:])
    assert np.all(np.abs(prof.ene[1:] - forward_ene(tt, S0, K, T, R, VOL)) < 4 * se_neg[1:])


def test_pfe_matches_the_lognormal_quantile():
    t, v = forward_paths()
    q = 0.975
    prof = exposure_profile(t, v, R, pfe_quantile=q)
    for i in (3, 10):
        ti = float(t[i])
        z = norm.ppf(q)
        sq = S0 * math.exp((R - 0.5 * VOL**2) * ti + VOL * math.sqrt(ti) * z)
        exact = sq - K * math.exp(-R * (T - ti))
        # standard error of a sample quantile: sqrt(q(1-q)/n) / density at the quantile
        dens = norm.pdf(z) / (sq * VOL * math.sqrt(ti))
        se = math.sqrt(q * (1 - q) / PATHS) / dens
        assert abs(prof.pfe[i] - exact) < 4 * se


def test_bad_pfe_level():
    t, v = forward_paths()
    with pytest.raises(InputError):
        exposure_profile(t, v, R, pfe_quantile=1.5)
