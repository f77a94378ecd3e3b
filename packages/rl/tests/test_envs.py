"""Rollouts: the simulated paths have the laws of their SDEs; data containers and grids."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import stochflow.rl as sfr
from stochflow.core.errors import InputError


def _check_moments(samples: torch.Tensor, mean: float, var: float) -> None:
    n = samples.numel()
    m, v = float(samples.mean()), float(samples.var())
    assert abs(m - mean) < 4 * math.sqrt(var / n), (m, mean)
    # standard error of the sample variance for a Gaussian: var * sqrt(2 / (n - 1))
    assert abs(v - var) < 4 * var * math.sqrt(2 / (n - 1)), (v, var)


def test_ou_rollout_has_the_exact_gaussian_law_on_irregular_grids():
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5)
    times = torch.tensor([0.0, 0.05, 0.3, 0.31, 1.0, 2.5], dtype=torch.float64)
    data = env.rollout(n_paths=20000, times=times, x0=1.0, seed=0)
    for k in (1, 3, 5):
        t = float(times[k])
        _check_moments(data.states[:, k, 0], math.exp(-t), 0.25 * (1 - math.exp(-2 * t)) / 2)
    assert torch.equal(data.rewards, data.states[..., 0] ** 2)


def test_brownian_and_gbm_rollouts():
    bm = sfr.envs.BrownianSine(mu=0.5, sigma=1.0).rollout(n_paths=20000, t_max=2.0, dt=0.5, x0=0.0, seed=1)
    _check_moments(bm.states[:, -1, 0], 1.0, 2.0)
    gbm = sfr.envs.GBMPower(mu=0.05, sigma=0.3).rollout(n_paths=20000, t_max=2.0, dt=0.5, x0=1.0, seed=2)
    _check_moments(torch.log(gbm.states[:, -1, 0]), (0.05 - 0.045) * 2.0, 0.09 * 2.0)
    assert torch.allclose(gbm.rewards, gbm.states[..., 0] ** 0.5)


def test_initial_states_cover_the_evaluation_range_and_dtypes_follow():
    env = sfr.envs.OUQuadratic()
    data = env.rollout(n_paths=500, t_max=1.0, dt=0.1, seed=3, dtype=torch.float32)
    x0 = data.states[:, 0, 0]
    assert data.dtype == torch.float32 and data.times.dtype == torch.float32
    assert float(x0.min()) >= -2.0 and float(x0.max()) <= 2.0 and float(x0.std()) > 1.0
    assert data.n_paths == 500 and data.n_steps == 10 and data.dim == 1
    assert torch.allclose(data.dt, torch.full((1, 10), 0.1))


def test_finite_horizon_rollout_ends_at_the_horizon_and_subsamples():
    env = sfr.envs.OUQuadratic(horizon=1.0, terminal=2.0)
    data = env.rollout(n_paths=3, dt=0.01, seed=0)
    assert float(data.times[0, -1]) == pytest.approx(1.0)
    coarse = data.subsample(10)
    assert coarse.n_steps == 10 and torch.equal(coarse.states[:, -1], data.states[:, -1])
    with pytest.raises(InputError, match="divisor"):
        data.subsample(7)


def test_lq_rollout_by_euler_with_stochflow_sde_has_the_affine_mean():
    env = sfr.envs.ErgodicLQ()
    data = env.rollout(n_paths=4000, t_max=1.0, dt=0.01, x0=0.5, seed=0)
    a1, a0, s2, s1, s0 = env._drift_diffusion()
    # E X_t for the affine drift: x0 e^{a1 t} + a0 (e^{a1 t} - 1)/a1
    mean = 0.5 * math.exp(a1) + a0 * (math.exp(a1) - 1) / a1
    x = data.states[:, -1, 0].numpy()
    assert abs(x.mean() - mean) < 4 * x.std() / np.sqrt(x.size) + 0.01
