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


def test_jax_topk_sampled_threshold_keeps_a_top_set():
    """Rows longer than the sample: at most ``k`` entries, about 90% of ``k``, and each kept value is at
    least every dropped one (a threshold set, not an arbitrary one)."""
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    rng = np.random.default_rng(1)
    x = rng.exponential(size=(2, 300_000))
    k = 15_000
    vals, idx = ops("jax").topk(jnp.asarray(x), k)
    vals, idx = np.asarray(vals), np.asarray(idx)
    for row in range(2):
        kept = vals[row] > 0
        assert 0.8 * k <= kept.sum() <= k
        chosen = np.zeros(x.shape[1], bool)
        chosen[idx[row][kept]] = True
        np.testing.assert_array_equal(vals[row][kept], x[row, idx[row][kept]])
        assert x[row, chosen].min() >= x[row, ~chosen].max()


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
