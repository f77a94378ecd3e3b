"""Closed-form, parity, bad-input and conformance tests of the OT solvers."""

from __future__ import annotations

import jax
import numpy as np
import ot
import pytest
import torch

from stochflow.bridge import cost_matrix, sinkhorn
from stochflow.core.errors import InputError

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


@pytest.mark.parametrize("batched", [False, True])
def test_jax_history_matches_torch(batched):
    """The per-iteration error history: one entry per iteration, the same values on both backends, a JAX array
    (sliced on the host, single and batched problems)."""
    import jax.numpy as jnp

    a, b, M = _problem(30, seed=2)
    reg = 0.05 * M.mean()
    if batched:
        a, b, M = np.stack([a, a]), np.stack([b, b]), np.stack([M, M])
        reg = np.array([reg, 2 * reg])
    t = sinkhorn(torch.tensor(a), torch.tensor(b), torch.tensor(M), torch.tensor(reg), method="sns", tol=1e-10)
    j = sinkhorn(jnp.asarray(a), jnp.asarray(b), jnp.asarray(M), jnp.asarray(reg), method="sns", tol=1e-10)
    assert isinstance(j.history, jax.Array) and j.history.shape == tuple(t.history.shape)
    assert np.all(np.asarray(j.history)[..., -1] <= 1e-10)
    np.testing.assert_allclose(np.asarray(j.history), t.history.numpy(), rtol=1e-6, atol=1e-14)


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


def test_bad_inputs_fail_before_any_work(monkeypatch):
    """Every bad input raises before a single iteration runs; messages say what to do."""
    from stochflow.bridge import logsinkhorn
    from stochflow.core.errors import InputTypeError

    def boom(*args, **kwargs):
        raise AssertionError("the solver started on bad input")

    monkeypatch.setattr(logsinkhorn, "init_state", boom)
    a, b, M = _problem(5)
    nan_a = a.copy()
    nan_a[1] = np.nan
    cases = [
        (lambda: sinkhorn(a, b * 2, M, 0.1), InputError, r"sum\(a\) = 1, sum\(b\) = 2"),
        (lambda: sinkhorn(a, -b, M, 0.1, method="sns"), InputError, "negative"),
        (lambda: sinkhorn(nan_a, b, M, 0.1), InputError, "NaN"),
        (lambda: sinkhorn(a, b, M[:, :-1], 0.1), InputError, "shape"),
        (lambda: sinkhorn(a, b, M[None, None], 0.1), InputError, "shape"),
        (lambda: sinkhorn(a, b, M, -0.5), InputError, "reg must be positive"),
        (lambda: sinkhorn(a, b, M, float("nan")), InputError, "reg must be positive"),
        (lambda: sinkhorn(a, b, M, 0.1, method="newton"), InputError, "method"),
        (lambda: sinkhorn(a, b, M, 0.1, method="sns", reg_m=1.0), InputError, "method='log'"),
        (lambda: sinkhorn(torch.tensor(a), b, M, 0.1), InputTypeError, "one framework"),
        (lambda: sinkhorn(a, b, M.astype(int), 0.1), InputTypeError, "floating"),
        (lambda: sinkhorn(a, b, M, 0.1, tol=0.0), InputError, "tol"),
        (lambda: sinkhorn(a, b, M, 0.1, max_iter=0), InputError, "max_iter"),
    ]
    for call, err, match in cases:
        with pytest.raises(err, match=match):
            call()


def test_registered_solver_names_and_targets():
    from stochflow.core.registry import get_registry

    reg = get_registry()
    for name, method in (("sinkhorn-log", "log"), ("sinkhorn-sns", "sns")):
        entry = reg.get("solver", name)
        assert "ot" in entry.applies_to and entry.plugin == "stochflow-bridge"
        a, b, M = _problem(6)
        out = entry.load()(a, b, M, 0.2, tol=1e-10)
        assert out.method == method and out.converged
