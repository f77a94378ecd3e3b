"""Strong orders fitted against exact solutions (slope within ±0.1 of theory), weak moments."""

import math

import numpy as np
import pytest
import torch

import stochflow.sde as sde
from stochflow.sde.convergence import fitted_order, strong_errors

LEVELS = list(range(3, 9))  # dt = 2^-3 ... 2^-8
GBM = sde.GBM(mu=0.5, sigma=0.8)


def _y0(n=2000):
    return torch.ones(n, 1, dtype=torch.float64)


@pytest.mark.parametrize("solver, order", [("euler", 0.5), ("milstein", 1.0)])
def test_gbm_strong_order_torch(solver, order):
    dts, errs = strong_errors(GBM, solver, _y0(), 1.0, LEVELS, seed=11)
    assert abs(fitted_order(dts, errs) - order) < 0.1
    assert np.all(np.diff(errs) < 0)


def test_gbm_strong_order_stratonovich_milstein():
    # the Stratonovich SDE with drift mu - sigma^2/2 is the same GBM
    strat = sde.SDE(lambda t, y: (GBM.mu - 0.5 * GBM.sigma**2) * y, GBM.g, noise="diagonal", kind="stratonovich")
    strat.exact = GBM.exact
    dts, errs = strong_errors(strat, "milstein", _y0(), 1.0, LEVELS, seed=12)
    assert abs(fitted_order(dts, errs) - 1.0) < 0.1


@pytest.mark.parametrize("solver, order", [("euler", 0.5), ("milstein", 1.0)])
def test_gbm_strong_order_jax(solver, order):
    import jax.numpy as jnp

    dts, errs = strong_errors(GBM, solver, jnp.ones((2000, 1), jnp.float64), 1.0, LEVELS, seed=13)
    assert abs(fitted_order(dts, errs) - order) < 0.1


def _y0_on(backend, n):
    if backend == "torch":
        return _y0(n)
    import jax.numpy as jnp

    return jnp.ones((n, 1), jnp.float64)


def _sin(y):
    if isinstance(y, torch.Tensor):
        return torch.sin(y)
    import jax.numpy as jnp

    return jnp.sin(y)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_ou_euler_strong_order_one(backend):
    ou = sde.OrnsteinUhlenbeck(theta=2.0, mu=0.5, sigma=0.8)
    dts, errs = strong_errors(ou, "euler", _y0_on(backend, 1000), 1.0, LEVELS, seed=14, reference_solver="sra1",
                              reference_level=11)
    assert abs(fitted_order(dts, errs) - 1.0) < 0.1


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_sra1_strong_order_one_and_a_half(backend):
    # additive noise with a nonlinear drift (on linear OU, SRA1's error is O(dt^2): too good to fit 1.5)
    proc = sde.SDE(lambda t, y: -_sin(y), lambda t, y: 0 * y + 1.0, noise="additive")
    dts, errs = strong_errors(proc, "sra1", _y0_on(backend, 1000), 1.0, LEVELS, seed=15, reference_solver="sra1",
                              reference_level=11)
    assert abs(fitted_order(dts, errs) - 1.5) < 0.1


def test_sra1_reads_the_levy_area():
    # with H replaced by zero the additive-noise scheme loses its order: the Lévy area matters
    from stochflow.sde import draw_increments
    from stochflow.sde.convergence import Levy, given_increments

    proc = sde.SDE(lambda t, y: -torch.sin(y), lambda t, y: 0 * y + 1.0, noise="additive")
    y0 = _y0(1000)
    grid = np.linspace(0, 1, 2**9 + 1)
    dw, h, _ = draw_increments(grid, (1000, 1), 3, like=y0, levy_area="space-time")
    ts = np.array([0.0, 1.0])
    ref = sde.solve(proc, y0, ts, "sra1", 2**-9, brownian=given_increments(dw, h, 1.0))[-1]
    good = sde.solve(proc, y0, ts, "sra1", 2**-3, brownian=given_increments(dw, h, 1.0))[-1]

    class NoArea:
        def __init__(self, bm):
            self.bm, self.shape = bm, bm.shape

        def grid_increments(self, grid, levy=False):
            inc = self.bm.grid_increments(grid, levy=True)
            return Levy(inc.W, 0 * inc.H)

    bad = sde.solve(proc, y0, ts, "sra1", 2**-3, brownian=NoArea(given_increments(dw, h, 1.0)))[-1]
    assert (good - ref).abs().mean() < 0.5 * (bad - ref).abs().mean()


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_gbm_weak_moments_match_euler_closed_forms(backend):
    # Euler on GBM: E Y_N = y0 (1 + mu h)^N, E Y_N^2 = y0^2 ((1 + mu h)^2 + sigma^2 h)^N exactly;
    # both tend to the GBM moments at weak order 1. Compare Monte Carlo within 4 standard errors.
    n, h, nsteps = 20000, 2**-4, 16
    if backend == "torch":
        y0 = torch.ones(n, 1, dtype=torch.float64)
    else:
        import jax.numpy as jnp

        y0 = jnp.ones((n, 1), jnp.float64)
    y = np.asarray(sde.solve(GBM, y0, np.array([0.0, 1.0]), "euler", h, seed=21)[-1]).ravel()
    m1 = (1 + GBM.mu * h) ** nsteps
    m2 = ((1 + GBM.mu * h) ** 2 + GBM.sigma**2 * h) ** nsteps
    assert abs(y.mean() - m1) < 4 * y.std() / math.sqrt(n)
    assert abs((y**2).mean() - m2) < 4 * (y**2).std() / math.sqrt(n)
    # and the scheme's moments converge to the exact ones at order 1
    errs = [abs((1 + GBM.mu * 2.0**-k) ** 2**k - GBM.mean(1.0, 1.0)) for k in range(3, 9)]
    assert abs(fitted_order(2.0 ** -np.arange(3, 9), np.array(errs)) - 1.0) < 0.1


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_srk_strong_order_one_and_a_half_on_gbm(backend):
    # diagonal Itô noise, exact solution from the same W; the coarse H come from the fine ones
    if backend == "torch":
        y0 = _y0()
    else:
        import jax.numpy as jnp

        y0 = jnp.ones((2000, 1), jnp.float64)
    dts, errs = strong_errors(GBM, "srk", y0, 1.0, LEVELS, seed=16)
    assert abs(fitted_order(dts, errs) - 1.5) < 0.1
    assert np.all(np.diff(errs) < 0)


def test_srk_is_sra1_on_additive_noise_and_handles_scalar_noise():
    from stochflow.sde import draw_increments
    from stochflow.sde.convergence import given_increments

    proc = sde.SDE(lambda t, y: -torch.sin(y), lambda t, y: 0 * y + 0.7, noise="additive")
    y0 = torch.linspace(-1, 1, 40, dtype=torch.float64).reshape(20, 2)
    grid = np.linspace(0, 1, 17)
    dw, h, _ = draw_increments(grid, (20, 2), 4, like=y0, levy_area="space-time")
    bm = given_increments(dw, h, 1.0)
    a = sde.solve(proc, y0, [0.0, 1.0], "srk", 1 / 16, brownian=bm)
    b = sde.solve(proc, y0, [0.0, 1.0], "sra1", 1 / 16, brownian=bm)
    assert torch.equal(a, b)
    # scalar noise: one Brownian motion drives every coordinate; equal coordinates stay equal
    scalar = sde.SDE(GBM.f, GBM.g, noise="scalar")
    ys = sde.solve(scalar, torch.ones(50, 3, dtype=torch.float64), [0.0, 1.0], "srk", 2**-5, seed=2)
    assert torch.equal(ys[-1, :, 0], ys[-1, :, 2]) and ys[-1].std() > 0.1


def test_reversible_heun_strong_orders():
    # additive noise: strong order 1.0 (nonlinear drift, reference: SRA1 on a fine grid)
    proc = sde.SDE(lambda t, y: -torch.sin(y), lambda t, y: 0 * y + 1.0, noise="additive")
    dts, errs = strong_errors(proc, "reversible-heun", _y0(1000), 1.0, LEVELS, seed=17, reference_solver="sra1",
                              reference_level=11)
    assert abs(fitted_order(dts, errs) - 1.0) < 0.1
    # Stratonovich GBM (commutative noise): converges to the exact solution at least at order 0.5
    strat = sde.SDE(lambda t, y: (GBM.mu - 0.5 * GBM.sigma**2) * y, GBM.g, noise="diagonal", kind="stratonovich")
    strat.exact = GBM.exact
    dts, errs = strong_errors(strat, "reversible-heun", _y0(1000), 1.0, LEVELS, seed=18)
    assert fitted_order(dts, errs) > 0.5 - 0.1 and errs[-1] < 0.01


@pytest.mark.parametrize("solver, order, tol", [("rk4", 4.0, 0.1), ("dopri5", 5.0, 0.2)])
def test_ode_orders_on_a_linear_ode(solver, order, tol):
    # (dopri5's error reaches 1e-13 at dt = 2^-6: no finer steps to fit, so a looser band)
    ode = sde.SDE(lambda t, y: -y)
    y0 = torch.ones(1, 1, dtype=torch.float64)
    dts = 2.0 ** -np.arange(2, 7)
    errs = [abs(float(sde.solve(ode, y0, np.array([0.0, 1.0]), solver, d)[-1, 0, 0]) - math.exp(-1)) for d in dts]
    assert abs(fitted_order(dts, np.array(errs)) - order) < tol
