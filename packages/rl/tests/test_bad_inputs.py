"""Bad inputs raise typed errors (stochflow.core.errors) before any work."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import stochflow.rl as sfr
from stochflow.core.errors import InputError, InputTypeError, NotFittedError
from stochflow.rl import features as F


@pytest.fixture(scope="module")
def data():
    return sfr.envs.OUQuadratic().rollout(n_paths=10, t_max=1.0, dt=0.1, seed=0)


def test_non_increasing_times(data):
    times = data.times[0].clone()
    times[4] = times[3]
    with pytest.raises(InputError, match="strictly increasing"):
        sfr.Trajectories(times, data.states, data.rewards, sfr.Discounted(0.5))


@given(st.lists(st.floats(-10, 10, allow_nan=False), min_size=3, max_size=12))
@settings(max_examples=50, deadline=None)
def test_any_non_increasing_grid_is_refused(ts):
    arr = np.array(ts)
    states = np.zeros((2, len(ts)))
    if (np.diff(arr) > 0).all():
        assert sfr.Trajectories(arr, states, states, sfr.Discounted(1.0)).n_steps == len(ts) - 1
    else:
        with pytest.raises(InputError):
            sfr.Trajectories(arr, states, states, sfr.Discounted(1.0))


def test_mismatched_lengths(data):
    with pytest.raises(InputError, match="rewards must have shape"):
        sfr.Trajectories(data.times, data.states, data.rewards[:, :-1], sfr.Discounted(0.5))
    with pytest.raises(InputError, match="times must have shape"):
        sfr.Trajectories(data.times[:, :-1], data.states, data.rewards, sfr.Discounted(0.5))
    with pytest.raises(InputError, match="rewards must have shape"):
        sfr.Trajectories(data.times, data.states, data.rewards[:-1], sfr.Discounted(0.5))


@pytest.mark.parametrize("beta", [-0.5, float("nan"), float("inf")])
def test_negative_or_nonfinite_beta(beta):
    with pytest.raises(InputError):
        sfr.Discounted(beta)
    with pytest.raises(InputError):
        sfr.FiniteHorizon(1.0, beta=beta)
    with pytest.raises(InputError):
        sfr.envs.OUQuadratic(beta=beta)


def test_nan_rewards_and_states(data):
    r = data.rewards.clone()
    r[1, 2] = math.nan
    with pytest.raises(InputError, match="rewards contain NaN"):
        sfr.Trajectories(data.times, data.states, r, sfr.Discounted(0.5))
    s = data.states.clone()
    s[0, 0, 0] = math.inf
    with pytest.raises(InputError, match="states contain"):
        sfr.Trajectories(data.times, s, data.rewards, sfr.Discounted(0.5))


@pytest.mark.parametrize("make", [sfr.LSTD, sfr.TD, sfr.MartingaleLoss, sfr.GTD, sfr.MSTDE])
def test_features_of_the_wrong_shape(make, data):
    wrong = F.CallableFeatures(lambda t, x: torch.ones(*x.shape[:-1], 4, dtype=x.dtype), n_features=3)
    with pytest.raises(InputError, match="returned features of shape"):
        make(features=wrong).fit(data)
    rbf = F.RadialBasis(torch.zeros(3, 2), width=1.0)  # 2-d centres, 1-d states
    with pytest.raises(InputError, match="dimensional"):
        make(features=rbf).fit(data)
    with pytest.raises(InputTypeError):
        make(features="x^2").fit(data)


def test_wrong_test_function_shape_and_kind(data):
    f = F.Polynomial(2)
    with pytest.raises(InputError, match="test function must return"):
        sfr.LSTD(features=f, test_function=lambda t, x: torch.ones(*x.shape[:-1], 2)).fit(data)
    with pytest.raises(InputError, match="test_function"):
        sfr.LSTD(features=f, test_function="hessian").fit(data)


def test_setting_specific_errors(data):
    finite = sfr.envs.OUQuadratic(horizon=1.0)
    fdata = finite.rollout(n_paths=4, dt=0.1, seed=0)
    with pytest.raises(InputError, match="time-state features"):
        sfr.LSTD(features=F.Polynomial(2)).fit(fdata)
    with pytest.raises(InputError, match="end at the horizon"):
        sfr.Trajectories(fdata.times[:, :-1], fdata.states[:, :-1], fdata.rewards[:, :-1], fdata.setting)
    erg = sfr.envs.OUQuadratic(ergodic=True).rollout(n_paths=4, t_max=1.0, dt=0.1, seed=0)
    with pytest.raises(InputError, match="constant"):
        sfr.LSTD(features=F.Polynomial(2)).fit(erg)
    est = sfr.LSTD(features=finite.exact_features()).fit(fdata)
    with pytest.raises(InputError, match="pass t"):
        est.value(torch.zeros(3))
    with pytest.raises(InputError, match="grid"):
        finite.discrete_value(torch.zeros(3), 0.1, t=0.55)


def test_estimator_parameters(data):
    f = F.Polynomial(2)
    with pytest.raises(InputError, match="lam"):
        sfr.LSTD(features=f, lam=1.5).fit(data)
    with pytest.raises(InputError, match="lr"):
        sfr.TD(features=f, lr=-1.0).fit(data)
    with pytest.raises(InputError, match="epochs"):
        sfr.TD(features=f, epochs=0).fit(data)
    with pytest.raises(InputError, match="reward_rule"):
        sfr.LSTD(features=f, reward_rule="simpson").fit(data)
    with pytest.raises(InputError, match="exactly one"):
        sfr.TD(features=f, model=torch.nn.Linear(1, 1)).fit(data)
    with pytest.raises(InputTypeError, match="FeatureMap"):
        sfr.GTD(features=torch.nn.Linear(1, 1)).fit(data)
    with pytest.raises(InputTypeError, match="nn.Module"):
        sfr.TD(model=lambda x: x).fit(data)
    with pytest.raises(InputError, match="theta0"):
        sfr.TD(features=f, theta0=[0.0]).fit(data)
    with pytest.raises(InputTypeError, match="Trajectories"):
        sfr.LSTD(features=f).fit((data.times, data.states, data.rewards))
    with pytest.raises(NotFittedError):
        sfr.LSTD(features=f).value(torch.zeros(2))


def test_singular_features_are_reported(data):
    dup = F.CallableFeatures(lambda t, x: torch.cat([x, x], dim=-1), n_features=2)
    with pytest.raises(InputError, match="singular|not finite"):
        sfr.LSTD(features=dup).fit(data)


def test_environment_and_rollout_arguments():
    with pytest.raises(InputError):
        sfr.envs.GBMPower(mu=0.5, sigma=0.3, beta=0.5, p=2.0)  # infinite value
    with pytest.raises(InputError):
        sfr.envs.OUQuadratic(kappa=0.0)
    with pytest.raises(InputTypeError):
        sfr.envs.OUQuadratic(sigma="0.5")
    env = sfr.envs.OUQuadratic()
    with pytest.raises(InputError, match="whole number"):
        env.rollout(n_paths=2, t_max=1.0, dt=0.3)
    with pytest.raises(InputTypeError):
        env.rollout(n_paths=2, t_max=1.0, dt=0.1, seed=1.5)
    with pytest.raises(InputError, match="horizon"):
        sfr.envs.OUQuadratic(horizon=1.0).rollout(n_paths=2, t_max=2.0, dt=0.1)
    with pytest.raises(InputError, match="scheme"):
        sfr.envs.OUQuadratic(scheme="milstein")


def test_trace_plot_needs_an_iterative_fit(data):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from stochflow.rl.plotting import plot_trace

    fig, ax = plt.subplots()
    with pytest.raises(InputError, match="history_"):
        plot_trace(ax, sfr.LSTD(features=F.Polynomial(2)).fit(data))
    plot_trace(ax, sfr.GTD(features=F.Polynomial(2), epochs=20).fit(data))
    assert len(ax.lines) == 3
    plt.close(fig)
