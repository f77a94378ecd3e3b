"""The environments' value functions in closed form, checked against their defining equations, and
the discrete-time targets against the true values (first order in dt; second with the trapezoid)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import stochflow.rl as sfr
from stochflow.rl.envs import _quadratic as q

DTS = (0.1, 0.01, 0.001)
X = torch.linspace(-1.5, 1.5, 7, dtype=torch.float64)


def derivatives(f, x):
    x = x.clone().requires_grad_(True)
    v = f(x)
    (d1,) = torch.autograd.grad(v.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    return v.detach(), d1.detach(), d2


def test_ou_discounted_value_matches_references_and_solves_the_hjb():
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5)
    v, d1, d2 = derivatives(env.true_value, X)
    # beta V = r + L V  with L V = -kappa x V' + sigma^2/2 V''
    resid = 0.5 * v - (X**2 - 1.0 * X * d1 + 0.125 * d2)
    assert resid.abs().max() < 1e-12
    assert torch.allclose(v, X**2 / 2.5 + 0.25 / (0.5 * 2.5))
    assert v.dtype == torch.float64


def test_ou_generic_quadratic_solver_agrees():
    env = sfr.envs.OUQuadratic(kappa=0.7, sigma=1.3, beta=0.2)
    k = q.continuous_discounted(np.array([1.0, 0, 0]), q.generator_matrix(-0.7, 0, 0, 0, 1.69), 0.2)
    a, b = env.coefficients()
    assert np.allclose(k, [a, 0.0, b])


def test_ou_discrete_target_matches_references_formula():
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5)
    for dt in DTS:
        k2 = env.discrete_coefficients(dt)[0]
        assert k2 == pytest.approx(dt / (1 - math.exp(-2.5 * dt)), rel=1e-12)


def test_ou_finite_horizon_solves_the_backward_equation_and_ends_at_h():
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5, horizon=2.0, terminal=1.5)
    t = torch.full_like(X, 0.7).requires_grad_(True)
    v = env.true_value(X, t)
    (dt_v,) = torch.autograd.grad(v.sum(), t)
    _, d1, d2 = derivatives(lambda x: env.true_value(x, 0.7), X)
    # J_t + L J - beta J + r = 0
    resid = dt_v + (-X * d1 + 0.125 * d2) - 0.5 * v.detach() + X**2
    assert resid.abs().max() < 1e-12
    assert torch.allclose(env.true_value(X, 2.0), 1.5 * X**2)


def test_brownian_sine_and_gbm_solve_their_hjb():
    env = sfr.envs.BrownianSine(mu=0.5, sigma=1.0, beta=0.5)
    v, d1, d2 = derivatives(env.true_value, X)
    assert (0.5 * v - (torch.sin(X) + 0.5 * d1 + 0.5 * d2)).abs().max() < 1e-12
    gbm = sfr.envs.GBMPower(mu=0.05, sigma=0.3, beta=0.5, p=0.5)
    s = torch.linspace(0.5, 2.0, 7, dtype=torch.float64)
    v, d1, d2 = derivatives(gbm.true_value, s)
    assert (0.5 * v - (s**0.5 + 0.05 * s * d1 + 0.045 * s**2 * d2)).abs().max() < 1e-12


def test_ergodic_lq_matches_jia_zhou_figures():
    env = sfr.envs.ErgodicLQ()
    r7 = math.sqrt(7)
    k2 = (1 - r7) / 2
    assert env.optimal_k2() == pytest.approx(k2, rel=1e-12)
    (c2, c1, c0), rho = env.value_coefficients()
    assert (2 * c2, c1, c0) == pytest.approx((k2, 5 - 2 * r7, 0.0), abs=1e-12)
    # classical optimum 2(3 - sqrt 7) plus the entropy-regularised log term
    assert rho == pytest.approx(2 * (3 - r7) + 0.05 * math.log(2 * math.pi * 0.1 / (2 - k2)), rel=1e-12)
    assert sfr.envs.ErgodicLQ(entropy=False).true_rho == pytest.approx(2 * (3 - r7) - 0.05, rel=1e-12)


def test_ergodic_lq_value_solves_the_poisson_equation():
    env = sfr.envs.ErgodicLQ(policy=(-0.3, -0.5, 0.2))
    v, d1, d2 = derivatives(env.true_value, X)
    a1, a0, s2, s1, s0 = env._drift_diffusion()
    resid = env.reward(X) + d1 * (a1 * X + a0) + 0.5 * d2 * (s2 * X**2 + s1 * X + s0) - env.true_rho
    assert resid.abs().max() < 1e-12


def _gauss_hermite(n=40):
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return torch.as_tensor(z), torch.as_tensor(w / w.sum())


@pytest.mark.parametrize("rule", ["left", "trapezoid"])
@pytest.mark.parametrize("make", [
    lambda: sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5),
    lambda: sfr.envs.BrownianSine(mu=0.5, sigma=1.0, beta=0.5),
    lambda: sfr.envs.GBMPower(mu=0.05, sigma=0.3, beta=0.5, p=0.5),
], ids=["ou", "brownian-sine", "gbm"])
def test_discrete_target_is_the_fixed_point_of_the_simulated_chain(make, rule):
    """V_dt(x) = R(x) + gamma E V_dt(X') with E by Gauss-Hermite quadrature over the exact step."""
    env, dt = make(), 0.1
    x = env.grid(9)
    z, w = _gauss_hermite()
    xn = env._exact_step(x.unsqueeze(-1), torch.tensor(dt, dtype=torch.float64), z)  # (9, nodes)
    g = math.exp(-env.beta * dt)
    ev = (env.discrete_value(xn.reshape(-1), dt, reward_rule=rule).reshape(xn.shape) * w).sum(-1)
    er = (env.reward(xn) * w).sum(-1)
    R = env.reward(x) * dt if rule == "left" else 0.5 * dt * (env.reward(x) + g * er)
    assert torch.allclose(env.discrete_value(x, dt, reward_rule=rule), R + g * ev, rtol=1e-10, atol=1e-12)


def test_ergodic_lq_discrete_target_is_the_fixed_point_of_the_euler_chain():
    env, dt = sfr.envs.ErgodicLQ(), 0.1
    a1, a0, s2, s1, s0 = env._drift_diffusion()
    z, w = _gauss_hermite()
    x = env.grid(9).unsqueeze(-1)
    xn = x + (a1 * x + a0) * dt + torch.sqrt((s2 * x**2 + s1 * x + s0) * dt) * z
    J = lambda y: env.discrete_value(y.reshape(-1), dt).reshape(y.shape)  # noqa: E731
    lhs = J(x[:, 0]) + env.discrete_rho(dt) * dt
    rhs = env.reward(x[:, 0]) * dt + (J(xn) * w).sum(-1)
    assert torch.allclose(lhs, rhs, rtol=1e-10, atol=1e-12)


def test_finite_horizon_discrete_target_is_the_backward_recursion():
    env, dt = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5, horizon=1.0, terminal=1.0), 0.1
    z, w = _gauss_hermite()
    x = env.grid(9)
    xn = env._exact_step(x.unsqueeze(-1), torch.tensor(dt, dtype=torch.float64), z)
    nxt = (env.discrete_value(xn.reshape(-1), dt, t=0.5).reshape(xn.shape) * w).sum(-1)
    assert torch.allclose(env.discrete_value(x, dt, t=0.4), x**2 * dt + math.exp(-0.05) * nxt, rtol=1e-10)
    assert torch.allclose(env.discrete_value(x, dt, t=1.0), x**2)


CASES = {
    "ou": (lambda: sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5), None),
    "ou-finite": (lambda: sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5, horizon=1.0, terminal=1.0), 0.0),
    "brownian-sine": (lambda: sfr.envs.BrownianSine(mu=0.5, sigma=1.0, beta=0.5), None),
    "gbm": (lambda: sfr.envs.GBMPower(mu=0.05, sigma=0.3, beta=0.5, p=0.5), None),
    "lq": (lambda: sfr.envs.ErgodicLQ(), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_discrete_target_converges_to_the_truth_at_first_order(name, slope):
    make, t = CASES[name]
    env = make()
    x = env.grid(21)
    errs = [float((env.discrete_value(x, dt, t=t) - env.true_value(x, t=t)).abs().max()) for dt in DTS]
    assert abs(slope(DTS, errs) - 1.0) < 0.1, errs
    if name == "lq":
        rho_errs = [env.discrete_rho(dt) - env.true_rho for dt in DTS]
        assert abs(slope(DTS, rho_errs) - 1.0) < 0.1, rho_errs


@pytest.mark.parametrize("name", ["ou", "ou-finite", "brownian-sine", "gbm"])
def test_trapezoidal_rule_removes_the_first_order_term_with_exact_transitions(name, slope):
    make, t = CASES[name]
    env = make()
    x = env.grid(21)
    errs = [float((env.discrete_value(x, dt, t=t, reward_rule="trapezoid") - env.true_value(x, t=t)).abs().max())
            for dt in DTS]
    assert abs(slope(DTS, errs) - 2.0) < 0.1, errs


def test_euler_scheme_stays_first_order_even_with_the_trapezoid(slope):
    env = sfr.envs.OUQuadratic(kappa=1.0, sigma=0.5, beta=0.5, scheme="euler")
    x = env.grid(21)
    errs = [float((env.discrete_value(x, dt, reward_rule="trapezoid") - env.true_value(x)).abs().max()) for dt in DTS]
    assert abs(slope(DTS, errs) - 1.0) < 0.1, errs
