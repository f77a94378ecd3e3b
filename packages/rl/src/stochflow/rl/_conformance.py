"""Conformance cases for the registry entries (see :mod:`stochflow.core.testing`)."""

from __future__ import annotations

import torch

from stochflow.core.testing import Case

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def _ou_data(dtype: str, seed: int, device: str):
    from stochflow.rl.envs import OUQuadratic

    env = OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5)
    return env, env.rollout(n_paths=20, t_max=2.0, dt=0.1, seed=seed, dtype=_DTYPES[dtype], device=device)


def _estimator_case(make, *, linear_only: bool = True) -> Case:
    from stochflow.rl import Trajectories, features
    from stochflow.rl.settings import Discounted

    def run(*, backend, dtype, seed, device):
        env, data = _ou_data(dtype, seed, device)
        est = make(env.exact_features()).fit(data)
        return est.value(env.grid(5, dtype=_DTYPES[dtype]).to(device))

    env, data = _ou_data("float64", 0, "cpu")
    bad_rewards = data.rewards.clone()
    bad_rewards[0, 3] = float("nan")
    wrong = features.CallableFeatures(lambda t, x: torch.ones(*x.shape[:-1], 3, dtype=x.dtype), n_features=2)
    return Case(run=run, bad_inputs=[
        lambda: make(env.exact_features()).fit(Trajectories(data.times.flip(-1), data.states, data.rewards,
                                                             Discounted(0.5))),
        lambda: make(env.exact_features()).fit(Trajectories(data.times, data.states, data.rewards[:, :-1],
                                                             Discounted(0.5))),
        lambda: make(env.exact_features()).fit(Trajectories(data.times, data.states, bad_rewards, Discounted(0.5))),
        lambda: make(wrong).fit(data),
        lambda: make(env.exact_features()).fit(data.states),
    ])


def case_lstd() -> Case:
    from stochflow.rl import LSTD

    return _estimator_case(lambda f: LSTD(features=f, lam=0.5))


def case_td() -> Case:
    from stochflow.rl import TD

    return _estimator_case(lambda f: TD(features=f, lam=0.3, epochs=50))


def case_martingale_loss() -> Case:
    from stochflow.rl import MartingaleLoss

    return _estimator_case(lambda f: MartingaleLoss(features=f))


def case_gtd() -> Case:
    from stochflow.rl import GTD

    return _estimator_case(lambda f: GTD(features=f, epochs=50))


def case_mstde() -> Case:
    from stochflow.rl import MSTDE

    return _estimator_case(lambda f: MSTDE(features=f))


def _env_case(make, x_good: float = 1.0, **bad) -> Case:
    def run(*, backend, dtype, seed, device):
        data = make().rollout(n_paths=8, t_max=1.0, dt=0.1, seed=seed, dtype=_DTYPES[dtype], device=device)
        return data.states, data.rewards

    return Case(run=run, bad_inputs=[
        lambda: make(**bad),
        lambda: make().rollout(n_paths=0, t_max=1.0, dt=0.1),
        lambda: make().rollout(n_paths=4, t_max=1.0, dt=-0.1),
        lambda: make().rollout(n_paths=4, times=[0.0, 0.5, 0.2]),
    ])


def case_ou() -> Case:
    from stochflow.rl.envs import OUQuadratic

    return _env_case(OUQuadratic, beta=-0.5)


def case_brownian() -> Case:
    from stochflow.rl.envs import BrownianSine

    return _env_case(BrownianSine, beta=-1.0)


def case_gbm() -> Case:
    from stochflow.rl.envs import GBMPower

    return _env_case(GBMPower, sigma=-0.3)


def case_lq() -> Case:
    from stochflow.rl.envs import ErgodicLQ

    def run(*, backend, dtype, seed, device):
        # closed forms only (the rollout needs stochflow-sde): value and discrete target on a grid
        env = ErgodicLQ()
        x = env.grid(5, dtype=_DTYPES[dtype]).to(device)
        return env.true_value(x), env.discrete_value(x, 0.1)

    return Case(run=run, stochastic=False, bad_inputs=[
        lambda: ErgodicLQ(gamma=-0.1),
        lambda: ErgodicLQ(policy=(0.0, 0.0, -1.0)),
        lambda: ErgodicLQ(A=1.0, policy=(0.0, 0.0, 0.1)),
        lambda: ErgodicLQ().discrete_value([0.0], dt=0.0),
    ])
