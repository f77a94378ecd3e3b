"""The Brownian objects driving ``sde.solve``: Euler on GBM, SRA1's order with the tree's Lévy area."""

import math

import numpy as np
import pytest
import torch

import stochflow.sde as sde
from stochflow.sde.convergence import Levy, fitted_order
from stochflow.sde.solve import make_grid

GBM = sde.GBM(mu=0.5, sigma=0.8)
TS = np.array([0.0, 0.5, 1.0])


def _brownian(kind, backend, shape, dt, **kw):
    if kind == "tree":
        return sde.VirtualBrownianTree(0.0, 1.0, shape, seed=1, backend=backend, **kw)
    return sde.BrownianPath(make_grid(TS, dt)[0], shape, seed=1, backend=backend, **kw)


@pytest.mark.parametrize("backend", ["torch", "jax"])
@pytest.mark.parametrize("kind", ["tree", "path"])
def test_euler_on_gbm_reads_the_given_path(kind, backend):
    if backend == "torch":
        y0 = torch.ones(400, 2, dtype=torch.float64)
    else:
        import jax.numpy as jnp

        y0 = jnp.ones((400, 2), jnp.float64)
    bm = _brownian(kind, backend, (400, 2), 2**-8)
    ys = sde.solve(GBM, y0, TS, solver="euler", dt=2**-8, brownian=bm)
    assert ys.shape == (3, 400, 2) and type(ys) is type(y0)
    exact = np.asarray(GBM.exact(y0, 1.0, bm(0.0, 1.0)))
    err = np.abs(np.asarray(ys[-1]) - exact).mean()
    coarse = np.abs(np.asarray(sde.solve(GBM, y0, TS, "euler", 2**-4, brownian=bm)[-1]) - exact).mean() \
        if kind == "tree" else 4 * err
    assert err < 0.05 and err < 0.5 * coarse  # the same path at two step sizes: error shrinks
    again = sde.solve(GBM, y0, TS, solver="euler", dt=2**-8, brownian=_brownian(kind, backend, (400, 2), 2**-8))
    np.testing.assert_array_equal(np.asarray(again), np.asarray(ys))


def _ou_exact_from_tree(ou, y0, bm, level=10):
    # X_T = mu + (x - mu) e^{-theta} + sigma Σ_k e^{-theta (1 - a_k)} ∫ e^{theta (s - a_k)} dW_s over fine steps
    # [a_k, a_k + d]; with ∫(s-a) dW = d (W/2 - H) and ∫(s-a)² dW ≈ d² (W/3 - H), exact to O(d^2.5) per step.
    d = 2.0**-level
    grid = np.linspace(0.0, 1.0, 2**level + 1)
    inc = bm.grid_increments(grid, levy=True)
    th = ou.theta
    w = torch.exp(-th * (1 - torch.as_tensor(grid[:-1]))).reshape(-1, 1, 1)
    stoch = (w * (inc.W + th * d * (inc.W / 2 - inc.H) + th**2 * d * d * (inc.W / 3 - inc.H) / 2)).sum(0)
    return ou.mu + (y0 - ou.mu) * math.exp(-th) + ou.sigma * stoch


class _NoArea:
    """The tree's increments with the Lévy area replaced by zero."""

    def __init__(self, bm):
        self.bm, self.shape = bm, bm.shape

    def grid_increments(self, grid, levy=False):
        inc = self.bm.grid_increments(grid, levy=True)
        return Levy(inc.W, 0 * inc.H)


def test_sra1_with_the_tree_reaches_strong_order_one_and_a_half_on_ou():
    ou = sde.OrnsteinUhlenbeck(theta=2.0, mu=0.5, sigma=0.8)
    y0 = torch.ones(1000, 1, dtype=torch.float64)
    bm = sde.VirtualBrownianTree(0.0, 1.0, (1000, 1), seed=5, levy_area="space-time")
    exact = _ou_exact_from_tree(ou, y0, bm)
    dts = 2.0 ** -np.arange(2, 8)

    def errors(brownian):
        return np.array([float((sde.solve(ou, y0, np.array([0.0, 1.0]), "sra1", float(d), brownian=brownian)[-1]
                                - exact).abs().mean()) for d in dts])

    errs = errors(bm)
    assert np.all(np.diff(errs) < 0)
    # at least 1.5 (on a linear drift the dt^1.5 terms of SRA1 cancel and the slope is 2)
    assert fitted_order(dts, errs) > 1.4
    # without the tree's Lévy area the same scheme falls to order 1: H is the right area of this path
    blind = errors(_NoArea(bm))
    assert abs(fitted_order(dts, blind) - 1.0) < 0.15 and np.all(blind[2:] > 10 * errs[2:])


def test_sra1_with_the_tree_on_a_nonlinear_drift_has_order_one_and_a_half():
    proc = sde.SDE(lambda t, y: -torch.sin(y), lambda t, y: 0 * y + 1.0, noise="additive")
    y0 = torch.ones(1000, 1, dtype=torch.float64)
    bm = sde.VirtualBrownianTree(0.0, 1.0, (1000, 1), seed=2, levy_area="space-time")
    ts = np.array([0.0, 1.0])
    ref = sde.solve(proc, y0, ts, "sra1", 2.0**-11, brownian=bm)[-1]
    dts = 2.0 ** -np.arange(3, 9)
    errs = np.array([float((sde.solve(proc, y0, ts, "sra1", float(d), brownian=bm)[-1] - ref).abs().mean())
                     for d in dts])
    assert abs(fitted_order(dts, errs) - 1.5) < 0.1


def test_a_tree_over_the_wrong_shape_is_refused():
    from stochflow.core.errors import InputError

    with pytest.raises(InputError, match="shape"):
        sde.solve(GBM, torch.ones(3, 2), TS, dt=0.1, brownian=sde.VirtualBrownianTree(0.0, 1.0, (3, 1)))
    with pytest.raises(InputError, match="Lévy area"):
        sde.solve(sde.OrnsteinUhlenbeck(), torch.ones(3, 2), TS, "sra1", dt=0.1,
                  brownian=sde.VirtualBrownianTree(0.0, 1.0, (3, 2)))
