"""Envelope-theorem gradients against finite differences and against the plan, on torch and JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from stochflow.bridge import cost_matrix, sinkhorn


def _problem(seed=0, n=12, m=10):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0.5, 1.5, n), rng.uniform(0.5, 1.5, m)
    M = cost_matrix(rng.normal(size=(n, 2)), rng.normal(size=(m, 2)))
    return a / a.sum(), b / b.sum(), M


@pytest.mark.parametrize("method", ["log", "sns"])
def test_torch_value_gradient_matches_finite_differences(method):
    a, b, M = _problem()
    reg = 0.2
    at, bt, Mt = (torch.tensor(v, requires_grad=True) for v in (a, b, M))
    out = sinkhorn(at, bt, Mt, reg, method=method, tol=1e-13)
    out.value.backward()
    np.testing.assert_allclose(Mt.grad.numpy(), out.plan.detach().numpy(), atol=1e-14)

    def value(a_, b_, M_):
        return float(sinkhorn(a_, b_, M_, reg, method=method, tol=1e-13).value)

    rng = np.random.default_rng(1)
    h = 1e-6
    dM = rng.normal(size=M.shape)
    fd = (value(a, b, M + h * dM) - value(a, b, M - h * dM)) / (2 * h)
    assert float((Mt.grad.numpy() * dM).sum()) == pytest.approx(fd, rel=1e-6)
    # mass-preserving perturbations of both marginals
    da, db = rng.normal(size=a.shape), rng.normal(size=b.shape)
    da -= da.mean()
    db -= db.mean()
    fd = (value(a + h * da, b + h * db, M) - value(a - h * da, b - h * db, M)) / (2 * h)
    analytic = float((at.grad.numpy() * da).sum() + (bt.grad.numpy() * db).sum())
    assert analytic == pytest.approx(fd, rel=1e-5)


def test_torch_cost_gradient_is_the_plan_and_jax_agrees():
    a, b, M = _problem(2)
    Mt = torch.tensor(M, requires_grad=True)
    out = sinkhorn(torch.tensor(a), torch.tensor(b), Mt, 0.1, method="sns", tol=1e-12)
    out.cost.backward()
    np.testing.assert_allclose(Mt.grad.numpy(), out.plan.detach().numpy(), atol=1e-14)

    g = jax.grad(lambda Mj: sinkhorn(jnp.asarray(a), jnp.asarray(b), Mj, 0.1, method="sns", tol=1e-12).value)(
        jnp.asarray(M))
    np.testing.assert_allclose(np.asarray(g), out.plan.detach().numpy(), atol=1e-10)


def test_unbalanced_value_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.5, 1.5, 8), 1.7 * rng.uniform(0.5, 1.5, 9)
    M = cost_matrix(rng.normal(size=(8, 2)), rng.normal(size=(9, 2)))
    kw = {"method": "log", "reg_m": 0.7, "tol": 1e-14, "max_iter": 100_000}
    at = torch.tensor(a, requires_grad=True)
    sinkhorn(at, torch.tensor(b), torch.tensor(M), 0.3, **kw).value.backward()
    h, da = 1e-6, rng.normal(size=8)
    fd = (float(sinkhorn(a + h * da, b, M, 0.3, **kw).value) - float(sinkhorn(a - h * da, b, M, 0.3, **kw).value)) / (2 * h)
    assert float((at.grad.numpy() * da).sum()) == pytest.approx(fd, rel=1e-5)
