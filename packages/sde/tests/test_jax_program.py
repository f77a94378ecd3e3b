"""The JAX solve is one cached compiled program per SDE (and its parameters), method and shapes:
repeat calls reuse it with new ``y0``, seed and times, and never serve a stale one."""

import importlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stochflow.sde as sde
from stochflow.core.errors import InputError

DT = 2**-6
GBM = sde.GBM(0.5, 0.8)  # shared by the tests that do not change it, so they reuse one program
Y0 = jnp.linspace(0.5, 1.5, 8).reshape(4, 2)


def _euler_gbm(mu, sigma, y0, ts, seed):
    """Euler for ``dY = mu Y dt + sigma Y dW`` in numpy, over the increments ``draw_increments`` gives
    for ``solve``'s grid and ``seed`` (the seeded path's numbers), at the times ``ts``."""
    grid, out = sde.make_grid(np.asarray(ts, dtype=np.float64), DT)
    dw = np.asarray(sde.draw_increments(grid, tuple(y0.shape), seed, like=y0), dtype=np.float64)
    y = np.asarray(y0, dtype=np.float64)
    ys = [y]
    for k, h in enumerate(np.diff(grid)):
        y = y + mu * y * h + sigma * y * dw[k]
        if k + 1 in out:
            ys.append(y)
    return np.stack(ys)


def _counting_gbm(mu, sigma, traces):
    """A GBM from callables whose drift records each time it is traced (called on abstract values)."""
    def drift(t, y):
        if isinstance(y, jax.core.Tracer):
            traces.append(1)
        return mu * y

    return sde.SDE(drift, lambda t, y: sigma * y, noise="diagonal")


def test_repeat_calls_take_new_y0_seed_and_times():
    traces = []
    proc = _counting_gbm(0.5, 0.8, traces)
    ts, ts2 = [0.0, 0.5, 1.0], [0.5, 1.0, 1.5]  # the same number of steps per interval
    first = sde.solve(proc, Y0, ts, "euler", DT, seed=3)
    n_traces = len(traces)
    again = sde.solve(proc, Y0, ts, "euler", DT, seed=3)
    other_seed = sde.solve(proc, Y0, ts, "euler", DT, seed=4)
    other_y0 = sde.solve(proc, 2.0 * Y0, ts, "euler", DT, seed=3)
    other_ts = sde.solve(proc, Y0, ts2, "euler", DT, seed=3)
    assert len(traces) == n_traces  # all four served by the program compiled for the first call
    np.testing.assert_array_equal(np.asarray(again), np.asarray(first))
    assert not np.allclose(np.asarray(other_seed), np.asarray(first))
    for ys, y, s, t in ((first, Y0, 3, ts), (other_seed, Y0, 4, ts), (other_y0, 2.0 * Y0, 3, ts),
                        (other_ts, Y0, 3, ts2)):
        np.testing.assert_allclose(np.asarray(ys), _euler_gbm(0.5, 0.8, y, t, s), rtol=1e-12)


def test_changed_parameter_is_not_served_a_stale_program():
    gbm = sde.GBM(0.5, 0.8)
    before = sde.solve(gbm, Y0, [0.0, 1.0], "euler", DT, seed=0)
    gbm.sigma = 0.3
    after = sde.solve(gbm, Y0, [0.0, 1.0], "euler", DT, seed=0)
    np.testing.assert_allclose(np.asarray(before), _euler_gbm(0.5, 0.8, Y0, [0.0, 1.0], 0), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(after), _euler_gbm(0.5, 0.3, Y0, [0.0, 1.0], 0), rtol=1e-12)


def test_replaced_drift_is_not_served_a_stale_program():
    proc = sde.SDE(lambda t, y: -y, lambda t, y: 0.2 * y, noise="diagonal")
    before = sde.solve(proc, Y0, [0.0, 1.0], "euler", DT, seed=1)
    proc._drift = lambda t, y: y
    after = sde.solve(proc, Y0, [0.0, 1.0], "euler", DT, seed=1)
    np.testing.assert_allclose(np.asarray(before), _euler_gbm(-1.0, 0.2, Y0, [0.0, 1.0], 1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(after), _euler_gbm(1.0, 0.2, Y0, [0.0, 1.0], 1), rtol=1e-12)


def test_new_equal_process_reuses_the_program_and_unequal_one_does_not():
    solve_module = importlib.import_module("stochflow.sde.solve")

    sde.solve(sde.GBM(0.5, 0.8), Y0, [0.0, 1.0], "euler", DT, seed=6)
    n_programs = len(solve_module._JAX_CACHE)
    again = sde.solve(sde.GBM(0.5, 0.8), Y0, [0.0, 1.0], "euler", DT, seed=6)  # a new, equal object
    assert len(solve_module._JAX_CACHE) == n_programs  # served by the same compiled program
    other = sde.solve(sde.GBM(0.5, 0.3), Y0, [0.0, 1.0], "euler", DT, seed=6)
    np.testing.assert_allclose(np.asarray(again), _euler_gbm(0.5, 0.8, Y0, [0.0, 1.0], 6), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(other), _euler_gbm(0.5, 0.3, Y0, [0.0, 1.0], 6), rtol=1e-12)


def test_closures_over_other_values_get_their_own_program():
    def gbm_from(mu):  # the same code each time; the closure holds a different mu
        return sde.SDE(lambda t, y: mu * y, lambda t, y: 0.2 * y, noise="diagonal")

    down = sde.solve(gbm_from(-1.0), Y0, [0.0, 1.0], "euler", DT, seed=7)
    up = sde.solve(gbm_from(1.0), Y0, [0.0, 1.0], "euler", DT, seed=7)
    np.testing.assert_allclose(np.asarray(down), _euler_gbm(-1.0, 0.2, Y0, [0.0, 1.0], 7), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(up), _euler_gbm(1.0, 0.2, Y0, [0.0, 1.0], 7), rtol=1e-12)


def test_the_cache_is_bounded():
    solve_module = importlib.import_module("stochflow.sde.solve")

    for k in range(solve_module._CACHE_SIZE + 3):
        sde.solve(sde.GBM(0.5, 0.01 * (k + 1)), Y0[:1, :1], [0.0, DT], "euler", DT, seed=0)
    assert len(solve_module._JAX_CACHE) == solve_module._CACHE_SIZE


def test_float32_and_float64_get_their_own_program():
    ys64 = sde.solve(GBM, Y0, [0.0, 1.0], "euler", DT, seed=2)
    ys32 = sde.solve(GBM, Y0.astype(jnp.float32), [0.0, 1.0], "euler", DT, seed=2)
    again64 = sde.solve(GBM, Y0, [0.0, 1.0], "euler", DT, seed=2)
    assert ys64.dtype == jnp.float64 and ys32.dtype == jnp.float32
    np.testing.assert_array_equal(np.asarray(again64), np.asarray(ys64))
    np.testing.assert_allclose(np.asarray(ys32), _euler_gbm(0.5, 0.8, Y0.astype(jnp.float32), [0.0, 1.0], 2),
                               rtol=1e-5)


def test_cached_solve_still_checks_y0_each_call():
    sde.solve(GBM, Y0, [0.0, 1.0], "euler", DT, seed=0)
    with pytest.raises(InputError, match="NaN or inf"):
        sde.solve(GBM, Y0.at[1, 1].set(jnp.inf), [0.0, 1.0], "euler", DT, seed=0)
    with pytest.raises(InputError, match="NaN or inf"):
        sde.solve(GBM, Y0.at[0, 0].set(jnp.nan), [0.0, 1.0], "euler", DT, seed=0)


def test_solve_under_jit_matches_the_eager_call():
    eager = sde.solve(GBM, Y0, [0.0, 1.0], "euler", DT, seed=5)
    jitted = jax.jit(lambda y: sde.solve(GBM, y, [0.0, 1.0], "euler", DT, seed=5))(Y0)
    np.testing.assert_allclose(np.asarray(jitted), np.asarray(eager), rtol=1e-12)


def _levy_errors():
    import torch

    y0 = torch.ones(3, 1, dtype=torch.float64)
    path = sde.BrownianPath(np.linspace(0, 1, 9), (3, 1), seed=0)
    tree = sde.VirtualBrownianTree(0.0, 1.0, (3, 1), seed=0, tol=2**-4)
    jpath = sde.BrownianPath(np.linspace(0, 1, 9), (3, 1), seed=jax.random.PRNGKey(0))
    return [
        lambda: path(0.0, 0.5, levy=True),
        lambda: tree(0.0, 0.5, levy=True),
        lambda: sde.solve(sde.GBM(), y0, [0.0, 1.0], "srk", 1 / 8, brownian=path),
        lambda: sde.solve(sde.GBM(), y0, [0.0, 1.0], "srk", brownian=tree, adaptive=True),
        lambda: sde.solve(sde.GBM(), jnp.ones((3, 1)), [0.0, 1.0], "srk", 1 / 8, brownian=jpath),
    ]


def test_missing_levy_area_has_one_message():
    messages = set()
    for call in _levy_errors():
        with pytest.raises(InputError, match="Lévy area") as err:
            call()
        messages.add(str(err.value))
    assert len(messages) == 1
    assert "levy_area='space-time'" in messages.pop()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64, jnp.float16])
def test_unrolled_threefry_normals_are_jax_random_normal(dtype):
    from stochflow.sde.brownian._backend import jax_normal

    draw = jax.jit(jax_normal, static_argnums=(1, 2))
    for seed, k, n in ((0, 0, 1), (1, 5, 7), (12345, 999, 1000), (7, 2**31 + 3, 4099)):
        key = jax.random.fold_in(jax.random.PRNGKey(seed), k)
        np.testing.assert_array_equal(np.asarray(draw(key, n, dtype)),
                                      np.asarray(jax.random.normal(key, (n,), dtype)))
    keys = jax.vmap(lambda i: jax.random.fold_in(jax.random.PRNGKey(3), i))(jnp.arange(6, dtype=jnp.uint32))
    np.testing.assert_array_equal(np.asarray(jax.jit(jax.vmap(lambda k: jax_normal(k, 33, dtype)))(keys)),
                                  np.asarray(jax.vmap(lambda k: jax.random.normal(k, (33,), dtype))(keys)))
