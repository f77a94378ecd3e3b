"""Brownian objects: exact laws (KS, moments, bridge regressions), determinism, query order, torch and JAX."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

import stochflow.sde as sde
from stochflow.core.errors import InputError, InputTypeError
from stochflow.sde.brownian.levy import VARIANCES, LevyIncrement, concat_matrices

N = 20000  # independent coordinates of one path: a sample of N paths
P_MIN = 1e-3


def _np(x):
    return np.asarray(x.detach().cpu()) if hasattr(x, "detach") else np.asarray(x)


def _tree(backend="torch", **kw):
    kw = {"shape": (N,), "seed": 3, "levy_area": "space-time-time", "tol": 2**-10, **kw}
    return sde.VirtualBrownianTree(0.0, 1.0, backend=backend, **kw)


@pytest.mark.parametrize("backend, s, t", [
    ("torch", 0.1, 0.37), ("torch", 0.5, 0.75), ("torch", 0.0, 1.0), ("torch", 0.2, 0.2021), ("torch", 0.61, 0.999),
    ("jax", 0.1, 0.37), ("jax", 0.2, 0.2021)])
def test_increments_and_levy_areas_have_their_exact_law(backend, s, t):
    inc = _tree(backend)(s, t, levy=True)
    h = t - s
    z = [_np(x) / math.sqrt(v * h) for x, v in zip((inc.W, inc.H, inc.K), VARIANCES)]
    for x in z:
        assert stats.kstest(x, "norm").pvalue > P_MIN
        assert abs(x.var() - 1) < 5 * math.sqrt(2 / N)
    corr = np.corrcoef(z)[np.triu_indices(3, 1)]
    assert np.all(np.abs(corr) < 4 / math.sqrt(N))  # W, H, K uncorrelated (jointly Gaussian: independent)


def test_disjoint_increments_are_independent_and_add_up():
    bm = _tree()
    a, b, c = bm(0.1, 0.3), bm(0.3, 0.8), bm(0.1, 0.8)
    assert abs(np.corrcoef(_np(a), _np(b))[0, 1]) < 4 / math.sqrt(N)
    torch.testing.assert_close(a + b, c, rtol=0, atol=1e-12)


@pytest.mark.parametrize("levy_area", ["space-time", "space-time-time"])
def test_levy_areas_of_a_union_combine_exactly(levy_area):
    bm = _tree(levy_area=levy_area, shape=(5, 2))
    cuts = [0.05, 0.2, 0.2625, 0.7, 0.93]
    parts = [bm(a, b, levy=True) for a, b in zip(cuts[:-1], cuts[1:])]
    whole = bm(cuts[0], cuts[-1], levy=True)
    m = 2 if levy_area == "space-time" else 3
    span = cuts[-1] - cuts[0]
    g = concat_matrices((np.array(cuts[:-1]) - cuts[0]) / span, np.diff(cuts) / span, m)
    fields = ("W", "H", "K")[:m]
    for i, name in enumerate(fields):
        combined = sum(float(g[p, i, j]) * getattr(parts[p], fields[j]) for p in range(len(parts)) for j in range(m))
        torch.testing.assert_close(combined, getattr(whole, name), rtol=0, atol=1e-12)


def test_levy_areas_match_the_path_they_belong_to():
    # H and K are integrals of the bridge of the same path: check them by a Riemann sum over queries.
    bm = _tree(shape=(200,), tol=2**-16)
    s, t, n = 0.1, 0.37, 2000
    u = np.linspace(s, t, n + 1)
    w = np.stack([np.zeros(200)] + [_np(bm(s, x)) for x in u[1:]])
    inc = bm(s, t, levy=True)
    h = t - s
    bridge = w - ((u - s) / h)[:, None] * w[-1]
    h_num = np.trapezoid(bridge, u, axis=0) / h
    k_num = np.trapezoid(bridge * (h / 2 - (u - s))[:, None], u, axis=0) / h**2
    assert np.abs(h_num - _np(inc.H)).max() < 0.02 * math.sqrt(h / 12)
    assert np.abs(k_num - _np(inc.K)).max() < 0.05 * math.sqrt(h / 720)


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("r", [0.5, 0.3])
@pytest.mark.parametrize("with_area", [False, True])
def test_bridge_statistics_given_the_whole_interval(r, with_area, backend):
    # W_r given W_1 (and H_1): E = r W (+ 6 r (1 - r) H), residual variance r(1 - r) (- 3 r²(1 - r)²).
    bm = _tree(backend, levy_area="space-time" if with_area else "none")
    whole = bm(0.0, 1.0, levy=with_area)
    x = np.stack([_np(whole.W), _np(whole.H)] if with_area else [_np(whole)], 1)
    y = _np(bm(0.0, r))
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ coef
    expect = [r, 6 * r * (1 - r)] if with_area else [r]
    var = r * (1 - r) - (3 * r**2 * (1 - r) ** 2 if with_area else 0)
    se = 5 * math.sqrt(var / N) / np.sqrt([1, 1 / 12][: len(expect)])  # 5 standard errors of each slope
    assert np.all(np.abs(coef - expect) < se), (coef, expect)
    assert abs(resid.var() / var - 1) < 5 * math.sqrt(2 / N)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_query_order_calls_and_instances_do_not_change_the_path(backend):
    rng = np.random.default_rng(0)
    queries = [tuple(sorted(rng.uniform(0, 1, 2))) for _ in range(30)] + [(0.25, 0.5), (0.0, 1.0), (0.3, 0.3001)]
    a = _tree(backend, shape=(3, 2), seed=7, tol=2**-6)
    b = _tree(backend, shape=(3, 2), seed=7, tol=2**-6, cache_size=1)  # no reuse: every query walks from the root
    first = {q: _np(a(*q, levy=True).H) for q in queries}
    for q in reversed(queries):
        np.testing.assert_array_equal(_np(b(*q, levy=True).H), first[q])
        np.testing.assert_array_equal(_np(a(*q, levy=True).H), first[q])
    other = _tree(backend, shape=(3, 2), seed=8, tol=2**-6)
    assert not np.allclose(_np(other(0.0, 1.0)), _np(a(0.0, 1.0)))


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("levy_area", ["none", "space-time", "space-time-time"])
def test_grid_increments_equal_single_queries(backend, levy_area):
    bm = _tree(backend, shape=(4, 3), levy_area=levy_area, tol=2**-8)
    grid = np.concatenate([[0.0], np.sort(np.random.default_rng(1).uniform(0, 1, 40 if backend == "torch" else 8)),
                           [0.5, 1.0]])
    grid = np.unique(grid)
    levy = levy_area != "none"
    batch = bm.grid_increments(grid, levy=levy)
    one = [bm(a, b, levy=levy) for a, b in zip(grid[:-1], grid[1:])]
    names = ("W", "H", "K")[: 1 + ("space-time" in levy_area) + (levy_area == "space-time-time")]
    for name in names:
        got = _np(getattr(batch, name)) if levy else _np(batch)
        want = np.stack([_np(getattr(x, name)) if levy else _np(x) for x in one])
        assert got.shape == (len(grid) - 1, 4, 3)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_torch_and_jax_trees_have_the_same_law_and_follow_dtype():
    import jax.numpy as jnp

    t32 = sde.VirtualBrownianTree(0.0, 2.0, (3,), seed=1, dtype=torch.float32)
    j32 = sde.VirtualBrownianTree(0.0, 2.0, (3,), seed=1, dtype=jnp.float32, backend="jax")
    assert t32(0.1, 1.3).dtype == torch.float32 and j32(0.1, 1.3).dtype == jnp.float32
    assert j32.grid_increments(np.linspace(0, 2, 5)).dtype == jnp.float32


def test_jax_tree_is_jit_compatible_for_fixed_times_and_takes_a_key():
    import jax

    bm = sde.VirtualBrownianTree(0.0, 1.0, (4,), backend=jax.random.PRNGKey(5), levy_area="space-time", tol=2**-4)
    grid = np.array([0.0, 0.3, 0.5, 1.0])
    eager = bm.grid_increments(grid, levy=True)
    jitted = jax.jit(lambda: bm.grid_increments(grid, levy=True))()
    np.testing.assert_allclose(np.asarray(jitted.H), np.asarray(eager.H), rtol=0, atol=1e-12)
    one = jax.jit(lambda: bm(0.13, 0.71))()
    np.testing.assert_allclose(np.asarray(one), np.asarray(bm(0.13, 0.71)), rtol=0, atol=1e-12)
    typed = sde.VirtualBrownianTree(0.0, 1.0, (4,), seed=jax.random.key(5), tol=2**-4)
    assert typed.backend == "jax" and typed(0.2, 0.4).shape == (4,)
    same = sde.VirtualBrownianTree(0.0, 1.0, (4,), seed=jax.random.key(5), levy_area="space-time", tol=2**-4)
    np.testing.assert_array_equal(np.asarray(same(0.2, 0.4)), np.asarray(bm(0.2, 0.4)))
    # traced times are answered too: tests/test_brownian_traced.py


def test_brownian_path_draws_once_and_combines_exactly():
    grid = np.linspace(0.0, 1.0, 17)
    bp = sde.BrownianPath(grid, (500, 2), seed=4, levy_area="space-time")
    fine = bp.grid_increments(grid, levy=True)
    g = torch.Generator().manual_seed(4)
    z = torch.randn((2, 16, 500, 2), generator=g, dtype=torch.float64)
    torch.testing.assert_close(fine.W, z[0] * 0.25, rtol=0, atol=0)
    torch.testing.assert_close(fine.H, z[1] * 0.25 / math.sqrt(12), rtol=0, atol=1e-15)
    coarse = bp.grid_increments(grid[::4], levy=True)
    from stochflow.sde.convergence import coarsen

    ref = coarsen(fine.W, fine.H, 1 / 16, 4)
    torch.testing.assert_close(coarse.W, ref.W, rtol=0, atol=1e-12)
    torch.testing.assert_close(coarse.H, ref.H, rtol=0, atol=1e-12)
    torch.testing.assert_close(bp(0.25, 0.75), fine.W[4:12].sum(0), rtol=0, atol=1e-12)
    assert bp(0.5, 0.5).abs().max() == 0
    h = coarse.H.numpy().ravel() / math.sqrt(0.25 / 12)
    assert stats.kstest(h, "norm").pvalue > P_MIN


def test_brownian_path_on_jax():
    import jax

    grid = np.linspace(0.0, 1.0, 9)
    bp = sde.BrownianPath(grid, (3,), seed=2, backend="jax", levy_area="space-time-time")
    inc = bp.grid_increments(grid, levy=True)
    # step k reads normal(fold_in(key, k), (m * size,)): the numbers the jitted solver draws in its scan
    z = np.stack([np.asarray(jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(2), k), (9,))).reshape(3, 3)
                  for k in range(8)])
    np.testing.assert_allclose(np.asarray(inc.W), z[:, 0] * math.sqrt(1 / 8), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(inc.K), z[:, 2] * math.sqrt(1 / 8 / 720), rtol=1e-12)


def test_levy_increment_record():
    inc = sde.VirtualBrownianTree(0, 1, (2,), levy_area="space-time")(0.2, 0.4, levy=True)
    assert isinstance(inc, LevyIncrement) and inc.K is None and inc.H.shape == (2,)
    assert torch.equal(sde.VirtualBrownianTree(0, 1, (2,))(0.7), sde.VirtualBrownianTree(0, 1, (2,))(0.0, 0.7))


def _int64(backend):
    if backend == "torch":
        return torch.int64
    import jax.numpy as jnp

    return jnp.int64


def _vbt(b, *args, **kw):
    return sde.VirtualBrownianTree(0.0, 1.0, *args, backend=b, **kw)


def _path(b, grid, *args, **kw):
    return sde.BrownianPath(grid, *args, backend=b, **kw)


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("bad", [
    lambda b: _vbt(b, (2,))(0.6, 0.4),
    lambda b: _vbt(b, (2,))(-0.5, 0.4),
    lambda b: _vbt(b, (2,))(0.5, 1.5),
    lambda b: _vbt(b, (2,))(0.1, float("nan")),
    lambda b: _vbt(b, (2,))(0.1, 0.2, levy=True),
    lambda b: _vbt(b, (0, 2)),
    lambda b: _vbt(b, "ab"),
    lambda b: _vbt(b, (2,), levy_area="space"),
    lambda b: sde.VirtualBrownianTree(1.0, 1.0, (2,), backend=b),
    lambda b: _vbt(b, (2,), tol=0.0),
    lambda b: _vbt(b, (2,), tol=1e-30),
    lambda b: _vbt(b, (2,), seed=-1),
    lambda b: _vbt(b, (2,), seed=1.5),
    lambda b: _vbt(b, (2,), dtype=_int64(b)),
    lambda b: _vbt(b, (2,)).grid_increments([0.0, 0.5, 0.4]),
    lambda b: _vbt(b, (2,)).grid_increments([0.0, 2.0]),
    lambda b: _path(b, np.linspace(0, 1, 5), (2,))(0.1, 0.5),
    lambda b: _path(b, np.linspace(0, 1, 5), (2,)).grid_increments([0.0, 0.3]),
    lambda b: _path(b, np.linspace(0, 1, 5), (2,)).grid_increments(np.linspace(0, 1, 5), levy=True),
    lambda b: _path(b, [0.0, 1.0, 0.5], (2,)),
])
def test_bad_input_raises_a_clear_error(bad, backend):
    with pytest.raises((InputError, InputTypeError)) as info:
        bad(backend)
    assert len(str(info.value)) > 20


def test_unknown_backend_raises_a_clear_error():
    with pytest.raises(InputError, match="backend"):
        _vbt("numpy", (2,))


@pytest.mark.parametrize("name, target, case", [
    ("virtual-brownian-tree", "VirtualBrownianTree", "case_virtual_brownian_tree"),
    ("brownian-path", "BrownianPath", "case_brownian_path"),
])
def test_conformance_cases_of_the_brownian_objects(name, target, case):
    from stochflow.core import ProcessEntry
    from stochflow.core.testing import check_entry

    check_entry(ProcessEntry(name=name, target=f"stochflow.sde.brownian:{target}", backends=("torch", "jax"),
                             conformance=f"stochflow.sde.brownian._conformance:{case}"))
