"""Reversible Heun: the forward pass can be undone exactly (up to rounding), on any noise type."""

import numpy as np
import pytest
import torch

import stochflow.sde as sde
from stochflow.sde import draw_increments
from stochflow.sde._xp import namespace
from stochflow.sde.convergence import given_increments
from stochflow.sde.methods import get_method, reversible_heun_backward

MIX = torch.tensor([[0.3, -0.2], [0.1, 0.4], [-0.25, 0.15]], dtype=torch.float64)


def _general():
    return sde.SDE(lambda t, y: torch.sin(y) - 0.5 * y * t, lambda t, y: torch.cos(y)[..., None] * MIX,
                   noise="general", kind="stratonovich")


def _diagonal():
    return sde.SDE(lambda t, y: torch.sin(y) - 0.5 * y, lambda t, y: 0.6 * torch.cos(y), kind="stratonovich")


@pytest.mark.parametrize("make, m", [(_general, 2), (_diagonal, 3)])
def test_reversible_heun_reconstructs_the_start_backwards(make, m):
    proc, xp, method = make(), namespace("torch"), get_method("reversible-heun")
    y0 = torch.linspace(-1, 1, 30, dtype=torch.float64).reshape(10, 3)
    n, dt = 64, 1 / 64
    grid = np.linspace(0, 1, n + 1)
    dw = draw_increments(grid, (10, m), 9, like=y0)
    state = method.init(proc, 0.0, y0, xp)
    for k in range(n):
        state = method.step(proc, grid[k], dt, state, dw[k], None, xp)
    # the same numbers as solve() on this path
    ys = sde.solve(proc, y0, [0.0, 1.0], "reversible-heun", dt, brownian=given_increments(dw, None, 1.0))
    assert torch.equal(ys[-1], state[0]) and float((ys[-1] - y0).abs().max()) > 0.3
    for k in range(n - 1, -1, -1):
        state = reversible_heun_backward(proc, grid[k + 1], dt, state, dw[k], xp)
    assert float((state[0] - y0).abs().max()) < 1e-12
    assert float((state[1] - y0).abs().max()) < 1e-12  # the auxiliary state returns to y0 too


def test_plain_heun_is_not_reversible_this_way():
    # the same backward recursion applied to an ordinary Heun trajectory misses y0 by O(dt): the
    # reconstruction above is a property of the reversible scheme, not of the test
    proc, xp = _diagonal(), namespace("torch")
    y0 = torch.linspace(-1, 1, 30, dtype=torch.float64).reshape(10, 3)
    grid = np.linspace(0, 1, 33)
    dw = draw_increments(grid, (10, 3), 9, like=y0)
    heun = get_method("heun")
    y = y0
    for k in range(32):
        y = heun.step(proc, grid[k], 1 / 32, y, dw[k], None, xp)
    state = (y, y, proc.f(1.0, y), proc.g(1.0, y))
    for k in range(31, -1, -1):
        state = reversible_heun_backward(proc, grid[k + 1], 1 / 32, state, dw[k], xp)
    assert float((state[0] - y0).abs().max()) > 1e-3


def test_reversible_heun_on_jax_matches_torch():
    import jax.numpy as jnp

    proc = _diagonal()
    jproc = sde.SDE(lambda t, y: jnp.sin(y) - 0.5 * y, lambda t, y: 0.6 * jnp.cos(y), kind="stratonovich")
    y0 = torch.linspace(-1, 1, 30, dtype=torch.float64).reshape(10, 3)
    grid = np.linspace(0, 1, 33)
    dw = draw_increments(grid, (10, 3), 9, like=y0)
    a = sde.solve(proc, y0, [0.0, 0.5, 1.0], "reversible-heun", 1 / 32, brownian=given_increments(dw, None, 1.0))
    b = sde.solve(jproc, jnp.asarray(y0.numpy()), [0.0, 0.5, 1.0], "reversible-heun", 1 / 32,
                  brownian=given_increments(jnp.asarray(dw.numpy()), None, 1.0))
    np.testing.assert_allclose(np.asarray(b), a.numpy(), atol=1e-12)
