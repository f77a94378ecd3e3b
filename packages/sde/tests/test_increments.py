"""``draw_increments`` and ``BrownianPath.from_increments``: solving with given increments."""

import numpy as np
import pytest
import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError, InputTypeError
from stochflow.sde.solve import make_grid

GBM = sde.GBM(mu=0.5, sigma=0.8)


def _y0(backend, shape):
    if backend == "torch":
        return torch.ones(shape, dtype=torch.float64)
    import jax.numpy as jnp

    return jnp.ones(shape, jnp.float64)


def _dtype(backend):
    if backend == "torch":
        return torch.float64
    import jax.numpy as jnp

    return jnp.float64


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_solve_with_drawn_increments_equals_solve_from_the_seed(backend):
    ts = np.array([0.0, 0.25, 1.0])
    grid = make_grid(ts, 2**-5)[0]  # the step grid solve(..., dt=2**-5) uses
    dw = sde.draw_increments(grid, (50, 2), seed=3, dtype=_dtype(backend), backend=backend)
    assert tuple(dw.shape) == (len(grid) - 1, 50, 2)
    y0 = _y0(backend, (50, 2))
    given = sde.solve(GBM, y0, ts, "euler", 2**-5, brownian=sde.BrownianPath.from_increments(grid, dw))
    seeded = sde.solve(GBM, y0, ts, "euler", 2**-5, seed=3)
    np.testing.assert_allclose(np.asarray(given), np.asarray(seeded), rtol=1e-13, atol=0)
    # the increments are the path's: Euler tracks the exact solution of this W, not of another seed's
    exact = np.asarray(GBM.exact(y0, 1.0, dw.sum(0)))
    other = sde.solve(GBM, y0, ts, "euler", 2**-5, seed=4)
    err, err_other = (np.abs(np.asarray(y[-1]) - exact).mean() for y in (given, other))
    assert err < 0.2 and err < 0.25 * err_other


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_drawn_increments_have_the_brownian_law(backend):
    grid = np.array([0.0, 0.1, 0.5, 1.0])
    inc = sde.draw_increments(grid, (20000,), seed=1, dtype=_dtype(backend), backend=backend,
                              levy_area="space-time")
    w, h = np.asarray(inc.W), np.asarray(inc.H)
    dt = np.diff(grid)[:, None]
    # variances dt and dt/12, independent of each other: 4-sigma bands of the sample moments
    np.testing.assert_allclose((w**2 / dt).mean(1), 1.0, atol=4 * np.sqrt(2 / 20000))
    np.testing.assert_allclose((12 * h**2 / dt).mean(1), 1.0, atol=4 * np.sqrt(2 / 20000))
    assert np.abs((w * h / dt).mean(1)).max() < 4 / np.sqrt(12 * 20000)


@pytest.mark.parametrize("backend", ["torch"])  # JAX: the in-scan/materialised equality is tested above
def test_srk_reads_the_given_levy_area(backend):
    grid = np.linspace(0.0, 1.0, 33)
    inc = sde.draw_increments(grid, (30, 1), seed=2, dtype=_dtype(backend), backend=backend,
                              levy_area="space-time")
    y0 = _y0(backend, (30, 1))
    bm = sde.BrownianPath.from_increments(grid, inc.W, inc.H)
    assert bm.levy_area == "space-time" and bm.shape == (30, 1)
    given = sde.solve(GBM, y0, grid, "srk", brownian=bm)
    seeded = sde.solve(GBM, y0, grid, "srk", seed=2)
    np.testing.assert_allclose(np.asarray(given), np.asarray(seeded), rtol=1e-13, atol=0)


def test_from_increments_combines_on_coarser_grids_and_answers_queries():
    grid = np.linspace(0.0, 1.0, 9)
    dw = torch.randn(8, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * np.sqrt(1 / 8)
    bm = sde.BrownianPath.from_increments(grid, dw)
    torch.testing.assert_close(bm.grid_increments(grid[::2]), dw.reshape(4, 2, 3).sum(1), rtol=0, atol=1e-15)
    torch.testing.assert_close(bm(0.25, 1.0), dw[2:].sum(0), rtol=0, atol=1e-15)
    assert bm.backend == "torch" and bm.dtype == torch.float64


@pytest.mark.parametrize("bad, error", [
    (lambda: sde.BrownianPath.from_increments([0.0, 0.5, 1.0], torch.zeros(3, 4)), InputError),  # 3 steps, 2 dts
    (lambda: sde.BrownianPath.from_increments([0.0, 0.5, 1.0], torch.zeros(2)), InputError),  # no shape
    (lambda: sde.BrownianPath.from_increments([0.0, 1.0, 0.5], torch.zeros(2, 4)), InputError),  # not increasing
    (lambda: sde.BrownianPath.from_increments([0.0, 0.5, 1.0], torch.zeros(2, 4), torch.zeros(2, 3)), InputError),
    (lambda: sde.BrownianPath.from_increments([0.0, 0.5, 1.0], torch.zeros(2, 4), None, torch.zeros(2, 4)),
     InputError),
    (lambda: sde.BrownianPath.from_increments([0.0, 0.5, 1.0], np.zeros((2, 4))), InputTypeError),
    (lambda: sde.draw_increments([0.0, 1.0], (0, 2)), InputError),
    (lambda: sde.draw_increments([0.0, 1.0], (2,), seed=-1), InputTypeError),
    (lambda: sde.draw_increments([0.0, 1.0], (2,), levy_area="area"), InputError),
])
def test_bad_increments_raise(bad, error):
    with pytest.raises(error):
        bad()


def test_solve_rejects_increments_of_the_wrong_shape_or_grid():
    grid = np.linspace(0.0, 1.0, 5)
    bm = sde.BrownianPath.from_increments(grid, torch.zeros(4, 3, 2, dtype=torch.float64))
    y0 = torch.ones(3, 1, dtype=torch.float64)
    with pytest.raises(InputError, match="shape"):
        sde.solve(GBM, y0, grid, "euler", brownian=bm)
    with pytest.raises(InputError, match="grid"):  # steps of 1/8 are not on the path's grid
        sde.solve(GBM, torch.ones(3, 2, dtype=torch.float64), grid, "euler", dt=1 / 8, brownian=bm)
    with pytest.raises(InputError, match="Lévy area"):
        sde.solve(GBM, torch.ones(3, 2, dtype=torch.float64), grid, "srk", brownian=bm)
