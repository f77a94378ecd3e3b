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
