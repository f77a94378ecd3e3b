"""The backends' selection of the largest plan entries for the sparsified Hessian."""

import numpy as np
import pytest
import torch

from stochflow.bridge._xp import ops


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_topk_small_rows_exact(backend):
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(2, 50))
    if backend == "jax":
        pytest.importorskip("jax")
        import jax.numpy as jnp

        xx = jnp.asarray(x)
    else:
        xx = torch.from_numpy(x)
    vals, idx = ops(backend).topk(xx, 7)
    vals, idx = np.asarray(vals), np.asarray(idx)
    for row in range(2):
        assert sorted(idx[row].tolist()) == sorted(np.argsort(-x[row])[:7].tolist())
        np.testing.assert_array_equal(np.sort(vals[row]), np.sort(x[row, idx[row]]))


def test_jax_topk_long_rows_is_exact():
    """Rows longer than the sample (the sampled-threshold candidate path), a row of ties (the sample's
    threshold then admits every entry, so the whole-row fallback runs) and a row with ties at the ``k``-th
    value: exactly ``k`` distinct entries, every entry above the ``k``-th largest value and only ties at it;
    on continuous rows the same set as ``torch.topk``."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    N, k = 300_000, 15_000
    x = np.stack([rng.exponential(size=N), np.exp(-40 * rng.uniform(size=N)), np.full(N, 0.25),
                  np.round(rng.exponential(size=N), 1)])
    vals, idx = ops("jax").topk(jnp.asarray(x), k)
    vals, idx = np.asarray(vals), np.asarray(idx)
    ref = torch.topk(torch.from_numpy(x), k, dim=-1).indices.numpy()
    for row in range(x.shape[0]):
        assert len(set(idx[row].tolist())) == k
        np.testing.assert_array_equal(vals[row], x[row, idx[row]])
        kth = np.sort(x[row])[N - k]
        assert vals[row].min() == kth
        assert set(np.flatnonzero(x[row] > kth).tolist()) <= set(idx[row].tolist())
        if row < 2:
            assert set(idx[row].tolist()) == set(ref[row].tolist())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_jax_kth_largest_equals_sort(dtype):
    """The bisection on bit patterns returns exactly ``sort(x)[:, N - k]``: negative values, ties, signed
    zeros and infinities included."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    rng = np.random.default_rng(2)
    rows = [rng.normal(size=(3, 400)), rng.exponential(size=(2, 400)) ** 6, np.round(rng.normal(size=(2, 400)), 1),
            np.tile([0.0, -0.0, 1.0, np.inf, -np.inf, 2.0, 2.0, -3.5], (1, 50))]
    for x in rows:
        x = x.astype(dtype)
        for k in (1, 2, 37, 133, 400):
            got = np.asarray(ops("jax").kth_largest(jnp.asarray(x), k))
            np.testing.assert_array_equal(got, np.sort(x, axis=-1)[:, 400 - k])
