"""Closed-form, parity, bad-input and conformance tests of the OT solvers."""

from __future__ import annotations

import jax
import numpy as np
import ot
import pytest
import torch

from stochflow.bridge import cost_matrix, sinkhorn
from stochflow.core.errors import InputError
from stochflow.core.testing import check_plugin

jax.config.update("jax_enable_x64", True)


def _problem(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 1.0
    a = rng.uniform(0.5, 1.5, n)
    b = rng.uniform(0.5, 1.5, n)
    return a / a.sum(), b / b.sum(), cost_matrix(x, y)


@pytest.mark.parametrize("method", ["log", "sns"])
def test_plan_matches_pot_sinkhorn_log(method):
    a, b, M = _problem()
    reg = 0.05 * M.mean()
    ref = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", stopThr=1e-15, numItermax=200_000)
    out = sinkhorn(a, b, M, reg, method=method, tol=1e-12, max_iter=200_000)
    assert out.converged and out.marginal_error <= 1e-12
    np.testing.assert_allclose(out.plan, ref, atol=1e-8 * ref.max(), rtol=0)


@pytest.mark.parametrize("method", ["log", "sns"])
def test_torch_and_jax_agree_with_numpy(method):
    import jax.numpy as jnp

    a, b, M = _problem(40, seed=1)
    reg = 0.02 * M.mean()
    ref = sinkhorn(a, b, M, reg, method=method, tol=1e-10)
    t = sinkhorn(torch.tensor(a), torch.tensor(b), torch.tensor(M), reg, method=method, tol=1e-10)
    j = sinkhorn(jnp.asarray(a), jnp.asarray(b), jnp.asarray(M), reg, method=method, tol=1e-10)
    assert isinstance(t.plan, torch.Tensor) and t.plan.dtype == torch.float64
    assert isinstance(j.plan, jax.Array) and j.plan.dtype == jnp.float64
    np.testing.assert_allclose(t.plan.numpy(), ref.plan, atol=1e-9 * ref.plan.max())
    np.testing.assert_allclose(np.asarray(j.plan), ref.plan, atol=1e-9 * ref.plan.max())


def test_bad_inputs_raise_typed_errors():
    a, b, M = _problem(5)
    with pytest.raises(InputError, match="sum"):
        sinkhorn(a, b * 2, M, 0.1)
    with pytest.raises(InputError, match="negative"):
        sinkhorn(-a, b, M, 0.1)
    with pytest.raises(InputError, match="shape"):
        sinkhorn(a[:-1], b, M, 0.1)
    with pytest.raises(InputError, match="reg"):
        sinkhorn(a, b, M, 0.0)
    bad = M.copy()
    bad[0, 0] = np.inf
    with pytest.raises(InputError, match="NaN or infinite"):
        sinkhorn(a, b, bad, 0.1)


def test_plugin_conformance():
    check_plugin("stochflow-bridge")
