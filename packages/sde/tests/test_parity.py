"""Parity with torchsde: the same increments give the same paths to 1e-10 in float64."""

import numpy as np
import pytest
import torch
import torchsde

import stochflow.sde as sde
from stochflow.sde import draw_increments
from stochflow.sde.convergence import given_increments

DT = 2**-5


class _Increments(torchsde.BrownianInterval.__mro__[1]):  # torchsde.BaseBrownian
    """Hands torchsde the same pre-drawn increments, looked up by step index."""

    def __init__(self, dw):
        self.dw = dw

    def __call__(self, ta, tb=None, return_U=False, return_A=False):
        k = int(round(float(ta) / DT))
        assert abs(float(tb) - float(ta) - DT) < 1e-12
        return self.dw[k]

    def __repr__(self):
        return "Increments"

    dtype = property(lambda self: self.dw.dtype)
    device = property(lambda self: self.dw.device)
    shape = property(lambda self: self.dw.shape[1:])
    levy_area_approximation = property(lambda self: "none")


class _TorchsdeSDE(torch.nn.Module):
    def __init__(self, proc, sde_type):
        super().__init__()
        self.noise_type, self.sde_type, self.proc = "diagonal", sde_type, proc

    def f(self, t, y):
        return self.proc.f(t, y)

    def g(self, t, y):
        return self.proc.g(t, y)


def _nonlinear(kind):
    return sde.SDE(lambda t, y: torch.sin(y) - 0.3 * y * t, lambda t, y: 0.5 * torch.cos(y) + 0.2 * y,
                   noise="diagonal", kind=kind)


@pytest.mark.parametrize("solver, kind", [("euler", "ito"), ("milstein", "ito"), ("milstein", "stratonovich")])
def test_parity_with_torchsde_path_by_path(solver, kind):
    proc = _nonlinear(kind)
    y0 = torch.linspace(-1, 1, 64, dtype=torch.float64).reshape(32, 2)
    ts = torch.tensor([0.0, 0.25, 0.5, 1.0], dtype=torch.float64)
    grid, _ = sde.make_grid(ts.numpy(), DT)
    dw = draw_increments(grid, (32, 2), 5, like=y0)
    ours = sde.solve(proc, y0, ts, solver, DT, brownian=given_increments(dw, None, 1.0))
    theirs = torchsde.sdeint(_TorchsdeSDE(proc, kind), y0, ts, bm=_Increments(dw), method=solver, dt=DT)
    assert ours.shape == theirs.shape == (4, 32, 2)
    assert torch.max(torch.abs(ours - theirs)) < 1e-10
    assert torch.max(torch.abs(ours[-1] - y0)) > 0.1  # the paths moved


def test_torchsde_heun_parity():
    proc = _nonlinear("stratonovich")
    y0 = torch.full((16, 2), 0.3, dtype=torch.float64)
    ts = torch.tensor([0.0, 1.0], dtype=torch.float64)
    grid, _ = sde.make_grid(ts.numpy(), DT)
    dw = draw_increments(grid, (16, 2), 6, like=y0)
    for solver in ("heun", "midpoint", "euler_heun"):
        ours = sde.solve(proc, y0, ts, solver.replace("_", "-"), DT, brownian=given_increments(dw, None, 1.0))
        theirs = torchsde.sdeint(_TorchsdeSDE(proc, "stratonovich"), y0, ts, bm=_Increments(dw), method=solver,
                                 dt=DT)
        assert torch.max(torch.abs(ours - theirs)) < 1e-10, solver


@pytest.mark.parametrize("solver, kind", [("euler", "ito"), ("milstein", "ito"), ("milstein", "stratonovich")])
def test_jax_matches_torch_on_the_same_increments(solver, kind):
    # with the torchsde parity above, the JAX backend matches torchsde on every case it is checked against
    import jax.numpy as jnp

    proc = _nonlinear(kind)
    y0 = torch.linspace(-1, 1, 64, dtype=torch.float64).reshape(32, 2)
    grid = np.linspace(0, 1, 2**5 + 1)
    dw = draw_increments(grid, (32, 2), 7, like=y0)
    jproc = sde.SDE(lambda t, y: jnp.sin(y) - 0.3 * y * t, lambda t, y: 0.5 * jnp.cos(y) + 0.2 * y, kind=kind)
    a = sde.solve(proc, y0, [0.0, 0.5, 1.0], solver, DT, brownian=given_increments(dw, None, 1.0))
    b = sde.solve(jproc, jnp.asarray(y0.numpy()), [0.0, 0.5, 1.0], solver, DT,
                  brownian=given_increments(jnp.asarray(dw.numpy()), None, 1.0))
    np.testing.assert_allclose(np.asarray(b), a.numpy(), atol=1e-12)
    assert np.max(np.abs(np.asarray(b[-1]) - np.asarray(y0.numpy()))) > 0.1  # the paths moved


@pytest.mark.parametrize("proc", [sde.GBM(mu=0.5, sigma=0.8), sde.CIR(kappa=2.0, theta=0.5, sigma=0.6)])
@pytest.mark.parametrize("kind", ["ito", "stratonovich"])
def test_milstein_analytic_derivative_equals_the_automatic_one(proc, kind):
    auto = sde.SDE(proc.f, proc.g, noise="diagonal", kind=kind)
    given = sde.SDE(proc.f, proc.g, noise="diagonal", kind=kind, diffusion_derivative=proc.dg)
    y0 = torch.linspace(0.1, 1.5, 64, dtype=torch.float64).reshape(32, 2)
    ts = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    a = sde.solve(auto, y0, ts, "milstein", DT, seed=3)
    b = sde.solve(given, y0, ts, "milstein", DT, seed=3)
    # equal to rounding (CIR's sqrt amplifies rounding in paths that come close to 0)
    assert torch.max(torch.abs(a - b)) < 1e-8 and torch.max(torch.abs(b[-1] - y0)) > 0.1
    if isinstance(proc, sde.GBM) and kind == "ito":  # and the analytic path keeps parity with torchsde
        grid, _ = sde.make_grid(ts.numpy(), DT)
        dw = draw_increments(grid, (32, 2), 3, like=y0)
        theirs = torchsde.sdeint(_TorchsdeSDE(proc, kind), y0, ts, bm=_Increments(dw), method="milstein", dt=DT)
        assert torch.max(torch.abs(sde.solve(proc, y0, ts, "milstein", DT, seed=3) - theirs)) < 1e-10


def test_milstein_backpropagates_through_the_automatic_derivative():
    # d/dsigma of one Ito Milstein step of GBM from y0: y0 (dw + sigma (dw^2 - dt)) with g g' = sigma^2 y
    sigma = torch.tensor(0.8, dtype=torch.float64, requires_grad=True)
    proc = sde.SDE(lambda t, y: 0 * y, lambda t, y: sigma * y, noise="diagonal")
    y0 = torch.full((4, 1), 2.0, dtype=torch.float64)
    dw = torch.tensor([[0.3], [-0.1], [0.05], [0.2]], dtype=torch.float64).reshape(1, 4, 1)
    ys = sde.solve(proc, y0, [0.0, 0.25], "milstein", brownian=sde.BrownianPath.from_increments([0.0, 0.25], dw))
    ys[-1].sum().backward()
    expected = (y0 * (dw[0] + sigma.detach() * (dw[0] ** 2 - 0.25))).sum()
    assert abs(float(sigma.grad) - float(expected)) < 1e-12


def test_diffusion_derivative_is_for_diagonal_noise_only():
    from stochflow.core.errors import InputError

    with pytest.raises(InputError, match="diagonal"):
        sde.SDE(lambda t, y: y, lambda t, y: y, noise="scalar", diffusion_derivative=lambda t, y: 1 + 0 * y)
