"""Adaptive stepping: dopri5 on ODEs (torch loop and JAX while_loop), step doubling on SDEs with a
virtual Brownian tree, the PID controller's inputs."""

import math

import numpy as np
import pytest
import torch

import stochflow.sde as sde
from stochflow.core.errors import InputError
from stochflow.sde.adaptive import PIDController, solve_adaptive
from stochflow.sde.methods import get_method

TS = np.array([0.0, 0.5, 1.0, 3.0])


def _decay(backend):
    if backend == "torch":
        return sde.SDE(lambda t, y: -y), torch.ones(3, 2, dtype=torch.float64)
    import jax.numpy as jnp

    return sde.SDE(lambda t, y: -y), jnp.ones((3, 2), jnp.float64)


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_dopri5_error_shrinks_with_rtol(backend):
    ode, y0 = _decay(backend)
    exact = np.exp(-TS)
    errs, steps = [], []
    for rtol in (1e-3, 1e-5, 1e-7, 1e-9):
        res = solve_adaptive(ode, get_method("dopri5"), y0, TS, rtol=rtol, atol=rtol * 1e-3)
        ys = np.asarray(res.ys)
        assert ys.shape == (4, 3, 2)
        errs.append(float(np.abs(ys[:, 0, 0] - exact).max()))
        steps.append(int(res.n_accepted))
        assert errs[-1] < 100 * rtol  # global error tracks the tolerance
    assert all(a > 10 * b for a, b in zip(errs, errs[1:]))
    assert steps == sorted(steps) and steps[0] < steps[-1]


def test_dopri5_torch_loop_and_jax_while_loop_take_the_same_steps():
    import jax
    import jax.numpy as jnp

    rot = sde.SDE(lambda t, y: torch.stack([y[..., 1], -y[..., 0] - 0.1 * y[..., 1]], -1))
    jrot = sde.SDE(lambda t, y: jnp.stack([y[..., 1], -y[..., 0] - 0.1 * y[..., 1]], -1))
    y0 = torch.tensor([[1.0, 0.0], [0.5, 0.5]], dtype=torch.float64)
    a = solve_adaptive(rot, get_method("dopri5"), y0, TS, rtol=1e-6, atol=1e-9)
    b = solve_adaptive(jrot, get_method("dopri5"), jnp.asarray(y0.numpy()), TS, rtol=1e-6, atol=1e-9)
    assert a.n_accepted == int(b.n_accepted) and a.n_rejected == int(b.n_rejected)
    np.testing.assert_allclose(np.asarray(b.ys), a.ys.numpy(), rtol=0, atol=1e-12)
    # solve(..., adaptive=True) is jit-compatible on JAX
    f = jax.jit(lambda y: sde.solve(jrot, y, TS, "dopri5", adaptive=True, rtol=1e-6, atol=1e-9))
    np.testing.assert_allclose(np.asarray(f(jnp.asarray(y0.numpy()))), a.ys.numpy(), rtol=0, atol=1e-12)


def test_step_doubling_for_ode_methods_and_rejections():
    # a fast transient from a large first step: the controller must reject and recover
    ode = sde.SDE(lambda t, y: -50 * (y - torch.cos(torch.as_tensor(t, dtype=y.dtype))))
    y0 = torch.full((1, 1), 2.0, dtype=torch.float64)
    for solver in ("rk4", "dopri5"):
        res = solve_adaptive(ode, get_method(solver), y0, np.array([0.0, 1.0]), rtol=1e-6, atol=1e-9, dt0=0.5)
        assert res.n_rejected > 0
        # exact: y = c1 e^{-50 t} + (2500 cos t + 50 sin t) / 2501
        c1 = 2.0 - 2500 / 2501
        exact = c1 * math.exp(-50) + (2500 * math.cos(1) + 50 * math.sin(1)) / 2501
        assert abs(float(res.ys[-1, 0, 0]) - exact) < 1e-5


# ----------------------------------------------------------------------------- adaptive SDEs
# dY = a(t) Y dt + s Y dW with a drift spike a(t) = A exp(-((t - c)/w)^2): the exact solution
# Y_1 = y0 exp(∫a - s^2/2 + s W_1) from the tree's W_1; fixed steps waste work away from the spike.
A, C, WIDTH, S = 40.0, 0.5, 0.02, 0.5
INT_A = A * WIDTH * math.sqrt(math.pi) / 2 * (math.erf((1 - C) / WIDTH) + math.erf(C / WIDTH))


def _spike(backend):
    if backend == "torch":
        return sde.SDE(lambda t, y: A * math.exp(-(((t - C) / WIDTH) ** 2)) * y, lambda t, y: S * y)
    import jax.numpy as jnp

    return sde.SDE(lambda t, y: A * jnp.exp(-(((t - C) / WIDTH) ** 2)) * y, lambda t, y: S * y)


def _tree(backend, n):
    if backend == "torch":
        return sde.VirtualBrownianTree(0.0, 1.0, shape=(n, 1), seed=3, dtype=torch.float64,
                                       levy_area="space-time", tol=2**-14), torch.ones(n, 1, dtype=torch.float64)
    import jax.numpy as jnp

    return (sde.VirtualBrownianTree(0.0, 1.0, shape=(n, 1), seed=3, dtype=jnp.float64, levy_area="space-time",
                                    tol=2**-14, backend="jax"), jnp.ones((n, 1), jnp.float64))


@pytest.mark.parametrize("backend, n", [("torch", 500), ("jax", 100)])
def test_adaptive_srk_matches_the_exact_solution_with_fewer_steps(backend, n):
    proc = _spike(backend)
    bm, y0 = _tree(backend, n)
    res = solve_adaptive(proc, get_method("srk"), y0, np.array([0.0, 1.0]), rtol=1e-2, atol=1e-6, brownian=bm)
    exact = np.asarray(y0) * np.exp(INT_A - S**2 / 2 + S * np.asarray(bm(0.0, 1.0)))
    err = float(np.abs(np.asarray(res.ys[-1]) - exact).mean())
    assert err < 0.03
    # the accepted steps cluster at the spike
    widths = np.diff(np.concatenate([[0.0], res.step_ends]))
    near = np.abs(res.step_ends - C) < 0.1
    assert widths[near].mean() < 0.5 * widths[~near].mean()
    if backend == "torch":  # (the JAX tree's grid reads are too slow here for the fixed-step comparison)
        # step doubling costs three steps per attempt; give the fixed grid the same number of steps
        work = 3 * (res.n_accepted + res.n_rejected)
        fixed = sde.solve(proc, y0, [0.0, 1.0], "srk", 1.0 / work, brownian=bm)
        err_fixed = float(np.abs(np.asarray(fixed[-1]) - exact).mean())
        assert err < 0.5 * err_fixed


def test_rejected_steps_reuse_the_same_brownian_path():
    # replaying the accepted steps (each two half steps) on a fixed grid with the same tree gives
    # the adaptive result exactly: rejected attempts and their retries read one path
    proc = _spike("torch")
    bm, y0 = _tree("torch", 50)
    res = solve_adaptive(proc, get_method("milstein"), y0, np.array([0.0, 1.0]), rtol=1e-2, atol=1e-6,
                         brownian=bm, dt0=0.25)
    assert res.n_rejected > 0
    ends = np.concatenate([[0.0], res.step_ends])
    grid = np.sort(np.concatenate([ends, (ends[:-1] + ends[1:]) / 2]))
    replay = sde.solve(proc, y0, grid, "milstein", brownian=bm)
    torch.testing.assert_close(res.ys[-1], replay[-1], rtol=0, atol=1e-12)


def test_solve_adaptive_sde_default_tree_from_seed():
    proc = _spike("torch")
    y0 = torch.ones(20, 1, dtype=torch.float64)
    a = sde.solve(proc, y0, [0.0, 0.5, 1.0], "euler", adaptive=True, rtol=1e-2, seed=5)
    b = sde.solve(proc, y0, [0.0, 0.5, 1.0], "euler", adaptive=True, rtol=1e-2, seed=5)
    c = sde.solve(proc, y0, [0.0, 0.5, 1.0], "euler", adaptive=True, rtol=1e-2, seed=6)
    assert a.shape == (3, 20, 1) and torch.equal(a, b) and not torch.equal(a, c)


def test_controller_inputs_and_limits():
    for kwargs in (dict(safety=0.0), dict(factormin=1.5), dict(factormax=0.5), dict(dtmin=-1.0),
                   dict(max_steps=0), dict(pcoeff=float("nan"))):
        with pytest.raises(InputError):
            PIDController(**kwargs)
    ode = sde.SDE(lambda t, y: -y)
    with pytest.raises(RuntimeError, match="max_steps"):
        sde.solve(ode, torch.ones(1, 1, dtype=torch.float64), [0.0, 10.0], "dopri5", adaptive=True, rtol=1e-10,
                  atol=1e-12, controller=PIDController(max_steps=5))
    # a PI controller also meets the tolerance
    y = sde.solve(ode, torch.ones(1, 1, dtype=torch.float64), [0.0, 1.0], "dopri5", adaptive=True, rtol=1e-8,
                  atol=1e-10, controller=PIDController(pcoeff=0.2, icoeff=0.4))
    assert abs(float(y[-1, 0, 0]) - math.exp(-1)) < 1e-6
    with pytest.raises(InputError, match="Lévy area"):
        bm = sde.VirtualBrownianTree(0.0, 1.0, shape=(2, 1), seed=0, dtype=torch.float64)
        sde.solve(sde.GBM(), torch.ones(2, 1, dtype=torch.float64), [0.0, 1.0], "srk", adaptive=True, brownian=bm)
