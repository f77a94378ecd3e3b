"""Neural value functions (any torch.nn.Module) and seed reproducibility."""

from __future__ import annotations

import pytest
import torch

import stochflow.rl as sfr


class Quadratic(torch.nn.Module):
    """A 'network' whose function class is the linear span of {1, x^2}: its trained parameters can be
    compared with the linear estimators' closed forms on the same data."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(2, dtype=torch.float64))

    def forward(self, x):
        return self.w[0] + self.w[1] * x[..., 0] ** 2


@pytest.fixture(scope="module")
def data():
    return sfr.envs.OUQuadratic().rollout(n_paths=100, t_max=5.0, dt=0.05, seed=3)


@pytest.mark.parametrize("neural, linear", [
    (lambda m: sfr.MartingaleLoss(model=m, lr=0.05, epochs=1500), lambda f: sfr.MartingaleLoss(features=f)),
    (lambda m: sfr.TD(model=m, lr=0.05, epochs=1500), lambda f: sfr.LSTD(features=f)),
    (lambda m: sfr.TD(model=m, lam=0.5, lr=0.05, epochs=1500), lambda f: sfr.LSTD(features=f, lam=0.5)),
    (lambda m: sfr.MSTDE(model=m, lr=0.05, epochs=1500), lambda f: sfr.MSTDE(features=f)),
], ids=["ml", "td0", "td-lambda", "mstde"])
def test_neural_training_reaches_the_linear_closed_form(neural, linear, data):
    est = neural(Quadratic()).fit(data)
    theta = linear(sfr.features.Polynomial(2, even=True)).fit(data).theta_
    assert torch.allclose(est.model.w.detach(), theta, rtol=2e-3, atol=1e-4), (est.model.w, theta)
    x = torch.linspace(-1, 1, 5, dtype=torch.float64)
    assert torch.allclose(est.value(x), theta[0] + theta[1] * x**2, rtol=2e-3, atol=1e-4)


def test_td1_and_the_martingale_loss_train_identically(data):
    a = sfr.TD(model=Quadratic(), lam=1.0, lr=0.05, epochs=200, batch_paths=30, seed=4).fit(data)
    b = sfr.MartingaleLoss(model=Quadratic(), lr=0.05, epochs=200, batch_paths=30, seed=4).fit(data)
    assert torch.allclose(a.model.w, b.model.w, rtol=1e-10, atol=1e-12)


def test_mlp_on_the_ou_problem():
    env = sfr.envs.OUQuadratic()
    data = env.rollout(n_paths=400, t_max=10.0, dt=0.05, seed=5, dtype=torch.float32)
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1))
    est = sfr.MartingaleLoss(model=net, lr=0.01, epochs=600, batch_paths=100, seed=0).fit(data)
    x = torch.linspace(-1.5, 1.5, 31)
    v, truth = est.value(x), env.true_value(x.double()).float()
    assert v.dtype == torch.float32
    assert float((v - truth).norm() / truth.norm()) < 0.1


def test_neural_finite_horizon_and_ergodic_run_and_are_reasonable():
    env = sfr.envs.OUQuadratic(ergodic=True)
    data = env.rollout(n_paths=200, t_max=10.0, dt=0.05, seed=6)

    class NoConstant(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))

        def forward(self, x):
            return self.w * x[..., 0] ** 2

    est = sfr.TD(model=NoConstant(), lr=0.05, epochs=1500).fit(data)
    lin = sfr.LSTD(features=env.exact_features()).fit(data)
    assert torch.allclose(est.model.w.detach(), lin.theta_, rtol=1e-2)
    assert abs(float(est.rho_) - float(lin.rho_)) < 0.01 * float(lin.rho_)
    finite = sfr.envs.OUQuadratic(horizon=1.0, terminal=1.0)
    fdata = finite.rollout(n_paths=100, dt=0.1, seed=7)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1)).double()
    fit = sfr.MartingaleLoss(model=net, lr=0.01, epochs=50, seed=0).fit(fdata)
    assert fit.value(torch.zeros(3), t=torch.tensor([0.0, 0.5, 1.0])).shape == (3,)


def test_same_seed_same_numbers_different_seed_different_numbers():
    env = sfr.envs.BrownianSine()
    a, b, c = (env.rollout(n_paths=5, t_max=1.0, dt=0.1, seed=s) for s in (1, 1, 2))
    assert torch.equal(a.states, b.states) and torch.equal(a.rewards, b.rewards)
    assert not torch.equal(a.states, c.states)

    def fit(seed):
        torch.manual_seed(123)  # same initial network; the estimator's seed drives the batches
        net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double()
        return sfr.TD(model=net, lam=0.5, lr=0.01, epochs=20, batch_paths=2, seed=seed).fit(a).value(torch.zeros(4))

    assert torch.equal(fit(0), fit(0))
    assert not torch.equal(fit(0), fit(1))
