"""The JAX tree under traced query times (jit, scan, vmap): the same numbers as concrete-time queries.

Each compiled query costs seconds on this machine, so the tests share a few compiled functions.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import stochflow.sde as sde
from stochflow.core.errors import InputError, InputTypeError
from stochflow.sde.brownian._backend import _mix, mix_limbs

ATOL = {"float32": 2e-6, "float64": 1e-13}


def _tree(dtype="float64", levy_area="space-time", **kw):
    kw = {"shape": (3, 2), "seed": 7, "tol": 2**-7, **kw}
    return sde.VirtualBrownianTree(-0.5, 1.5, dtype=dtype, levy_area=levy_area, backend="jax", **kw)


@pytest.fixture(scope="module")
def f64():
    """A float64 tree with both Lévy areas and its jitted, vmapped query."""
    bm = _tree("float64", "space-time-time")
    return bm, jax.jit(jax.vmap(lambda s, t: bm(s, t, levy=True)))


def _intervals(n=64, seed=0):
    """Random ends, plus the cases the plan treats apart: leaf and node boundaries, a whole tree,
    equal ends, both ends in one leaf, and ends a rounding away from a leaf boundary."""
    rng = np.random.default_rng(seed)
    ends = np.sort(rng.uniform(-0.5, 1.5, (n, 2)), axis=1)
    ends[:12] = np.sort(rng.integers(0, 2**7 + 1, (12, 2)) / 2**6 - 0.5, axis=1)  # leaf boundaries
    ends[12:16, 1] = ends[12:16, 0]
    ends[16:24, 1] = ends[16:24, 0] + rng.uniform(0, 2**-9, 8)  # mostly inside one leaf
    ends[24] = [-0.5, 1.5]
    ends[25] = [-0.5, 0.5]
    ends[26] = [0.25, 0.25 + 1e-12]
    ends[27] = [0.25 - 1e-13, 1.5]
    return ends


def test_64_bit_hash_on_32_bit_limbs_matches_the_python_hash():
    rng = np.random.default_rng(1)
    xs = [int(x) for x in rng.integers(0, 2**63, 64, dtype=np.int64)] + [0, 1, 2**32 - 1, 2**32, 2**64 - 1]
    hi = jnp.asarray(np.array([x >> 32 for x in xs], np.uint32))
    lo = jnp.asarray(np.array([x & 0xFFFFFFFF for x in xs], np.uint32))
    a, b = mix_limbs(hi, lo)
    assert [int(p) << 32 | int(q) for p, q in zip(np.asarray(a), np.asarray(b))] == [_mix(x) for x in xs]


@pytest.mark.parametrize("dtype, levy_area", [
    ("float32", "none"), ("float64", "none"), ("float32", "space-time"), ("float64", "space-time-time")])
def test_traced_queries_under_jit_equal_eager_queries(dtype, levy_area, f64):
    if levy_area == "space-time-time":
        bm, many = f64
    else:
        bm = _tree(dtype, levy_area)
        many = jax.jit(jax.vmap(lambda s, t: bm(s, t, levy=levy_area != "none")))
    levy = levy_area != "none"
    ends = _intervals()
    batched = many(jnp.asarray(ends[:, 0]), jnp.asarray(ends[:, 1]))
    for k, (s, t) in enumerate(ends):
        eager = bm(float(s), float(t), levy=levy)
        got = jax.tree_util.tree_map(lambda x, k=k: x[k], batched)
        assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(eager)
        for e, g in zip(jax.tree_util.tree_leaves(eager), jax.tree_util.tree_leaves(got)):
            assert g.dtype == e.dtype and g.shape == (3, 2)
            np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=0, atol=ATOL[dtype], err_msg=f"[{s}, {t}]")
    # not a vacuous comparison: the path moves
    assert float(jnp.abs(batched.W if levy else batched).max()) > 0.5


def test_scan_of_sequential_queries_inside_jit_equals_the_eager_loop(f64):
    bm = f64[0]
    grid = np.linspace(-0.5, 1.5, 151)

    @jax.jit
    def steps(ts):
        def body(w, st):
            inc = bm(st[0], st[1], levy=True)
            return w + inc.W, inc
        return jax.lax.scan(body, jnp.zeros((3, 2), bm.dtype), (ts[:-1], ts[1:]))

    total, incs = steps(jnp.asarray(grid))
    eager = [bm(float(a), float(b), levy=True) for a, b in zip(grid[:-1], grid[1:])]
    for name in ("W", "H", "K"):
        np.testing.assert_allclose(np.asarray(getattr(incs, name)),
                                   np.stack([np.asarray(getattr(e, name)) for e in eager]), rtol=0, atol=1e-13)
    np.testing.assert_allclose(np.asarray(total), np.asarray(bm(-0.5, 1.5)), rtol=0, atol=1e-11)


def test_increments_add_up_under_jit(f64):
    bm, many = f64
    stu = jnp.asarray(np.sort(np.random.default_rng(3).uniform(-0.5, 1.5, (64, 3)), axis=1))  # the compiled size
    whole, left, right = (many(stu[:, i], stu[:, j]).W for i, j in ((0, 2), (0, 1), (1, 2)))
    np.testing.assert_allclose(np.asarray(whole), np.asarray(left + right), rtol=0, atol=1e-13)
    assert float(jnp.std(whole)) > 0.1


def test_traced_times_out_of_order_or_range_and_one_time(f64):
    bm, many = f64
    s, t = np.zeros(64), np.ones(64)  # 64: the size already compiled
    s[:4], t[:4] = [0.5, -3.0, 0.2, -0.5], [0.2, 9.0, 0.2, 0.3]
    out = many(jnp.asarray(s), jnp.asarray(t)).W
    assert np.isnan(np.asarray(out[0])).all()  # s > t cannot raise inside jit: NaN instead
    np.testing.assert_allclose(np.asarray(out[1]), np.asarray(bm(-0.5, 1.5)), rtol=0, atol=1e-13)  # clipped
    assert not np.asarray(out[2]).any()
    np.testing.assert_allclose(np.asarray(out[3]), np.asarray(bm(0.3)), rtol=0, atol=1e-13)  # bm(t) from t0


@pytest.mark.parametrize("bad, err", [
    (lambda bm: jax.jit(lambda s: bm(s, 0.5))(jnp.zeros(2)), InputError),
    (lambda bm: jax.jit(lambda s: bm(s, 0.5))(jnp.asarray(0.1 + 0.2j)), InputTypeError),
    (lambda bm: jax.jit(lambda t: bm(float("nan"), t))(0.5), InputError),
    (lambda bm: jax.jit(lambda s: bm(s, 0.5, levy=True))(0.1), InputError),
])
def test_bad_traced_input_raises_a_typed_error_at_trace_time(bad, err):
    with pytest.raises(err) as info:
        bad(_tree(levy_area="none"))
    assert len(str(info.value)) > 20
