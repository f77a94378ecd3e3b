"""Gradients: backpropagation through solve on torch and JAX against closed forms, and the torch
ODE adjoint against backpropagation and against the matrix exponential."""

import math

import numpy as np
import pytest
import torch

import stochflow.sde as sde

MU, SIGMA, N_STEPS, PATHS = 0.5, 0.8, 16, 20000


def _check_mean_gradient(grads):
    # Euler on GBM: E Y_N = (1 + mu h)^N exactly, so d/dmu E Y_N = T (1 + mu h)^(N - 1); the
    # pathwise gradient averaged over paths estimates it without bias. It tends to T e^{mu T}.
    h = 1.0 / N_STEPS
    want = (1 + MU * h) ** (N_STEPS - 1)
    se = grads.std() / math.sqrt(len(grads))
    assert abs(grads.mean() - want) < 4 * se
    assert abs(want - math.exp(MU)) < 0.05 * math.exp(MU)


def test_torch_backprop_gbm_mean_gradient_in_mu():
    # one mu per path (all equal): the gradient of the sum is the vector of per-path derivatives
    mu = torch.full((PATHS, 1), MU, dtype=torch.float64, requires_grad=True)
    proc = sde.SDE(lambda t, y: mu * y, lambda t, y: SIGMA * y)
    y_t = sde.solve(proc, torch.ones(PATHS, 1, dtype=torch.float64), [0.0, 1.0], "euler", 1.0 / N_STEPS,
                    seed=31)[-1]
    (per_path,) = torch.autograd.grad(y_t.sum(), mu)
    _check_mean_gradient(per_path.ravel().numpy())


def test_jax_backprop_gbm_mean_gradient_in_mu():
    import jax
    import jax.numpy as jnp

    y0 = jnp.ones((PATHS, 1), jnp.float64)

    def total(mu):
        proc = sde.SDE(lambda t, y: mu * y, lambda t, y: SIGMA * y)
        return sde.solve(proc, y0, [0.0, 1.0], "euler", 1.0 / N_STEPS, seed=32)[-1].sum()

    per_path = jax.grad(total)(jnp.full((PATHS, 1), MU))
    _check_mean_gradient(np.asarray(per_path).ravel())


def test_torch_backprop_through_srk_and_reversible_heun_matches_pathwise_closed_form():
    # GBM: d Y_T / d y0 = Y_T / y0 along each path, for any scheme linear in y (all of these)
    for solver, proc in (("srk", sde.GBM(MU, SIGMA)),
                         ("reversible-heun", sde.SDE(lambda t, y: (MU - SIGMA**2 / 2) * y, lambda t, y: SIGMA * y,
                                                     kind="stratonovich"))):
        y0 = torch.full((64, 1), 2.0, dtype=torch.float64, requires_grad=True)
        y_t = sde.solve(proc, y0, [0.0, 1.0], solver, 2**-5, seed=3)[-1]
        y_t.sum().backward()
        torch.testing.assert_close(y0.grad, y_t.detach() / 2.0)


# ----------------------------------------------------------------------------- ODE adjoint
def _linear_ode():
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[-0.5, 1.0, 0.0], [-1.0, -0.2, 0.3], [0.1, 0.0, -0.4]]))
    return lin


def _grads(proc, params, y0, ts, adjoint, **kw):
    y0 = y0.clone().requires_grad_(True)
    for p in params:
        p.grad = None
    ys = sde.solve(proc, y0, ts, adjoint=adjoint, **kw)
    loss = (ys[1:] ** 2).sum() + torch.sin(ys[-1]).sum()
    loss.backward()
    return [y0.grad.clone()] + [p.grad.clone() for p in params]


def test_adjoint_equals_backprop_and_the_matrix_exponential_on_a_linear_ode():
    lin = _linear_ode()
    proc = sde.SDE(drift=lambda t, y: lin(y))  # a lambda: the parameters are passed explicitly
    y0 = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    ts = np.array([0.0, 0.5, 1.0])
    kw = dict(solver="rk4", dt=0.02)
    back = _grads(proc, [lin.weight], y0, ts, False, **kw)
    adj = _grads(proc, [lin.weight], y0, ts, True, adjoint_params=[lin.weight], **kw)
    for a, b in zip(adj, back):
        torch.testing.assert_close(a, b, rtol=1e-7, atol=1e-9)
    # closed form: y(1) = y0 expm(W^T), so d sum(y(1)) / d y0 = 1 expm(W^T)^T = 1 expm(W)
    y0g = y0.clone().requires_grad_(True)
    sde.solve(proc, y0g, [0.0, 1.0], "rk4", 0.02, adjoint=True, adjoint_params=[lin.weight])[-1].sum().backward()
    want = torch.ones(4, 3, dtype=torch.float64) @ torch.linalg.matrix_exp(lin.weight.detach())
    torch.testing.assert_close(y0g.grad, want, rtol=1e-7, atol=1e-9)


def test_adjoint_of_a_neural_ode_with_adaptive_dopri5():
    torch.manual_seed(2)
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)).double()
    proc = sde.SDE(drift=lambda t, y: net(y))
    params = list(net.parameters())
    y0 = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    ts = np.array([0.0, 0.7, 1.5])
    kw = dict(solver="dopri5", adaptive=True, rtol=1e-9, atol=1e-11)
    back = _grads(proc, params, y0, ts, False, **kw)
    adj = _grads(proc, params, y0, ts, True, adjoint_params=net.parameters(), **kw)  # a lambda: pass them
    assert all(float(a.abs().max()) > 1e-3 for a in back)
    for a, b in zip(adj, back):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-8)


def test_adjoint_finds_the_parameters_of_a_module_drift():
    class Drift(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.k = torch.nn.Parameter(torch.tensor(0.7, dtype=torch.float64))

        def forward(self, t, y):
            return -self.k * y

    drift = Drift()
    y0 = torch.ones(2, 1, dtype=torch.float64)
    ys = sde.solve(sde.SDE(drift), y0, [0.0, 1.0], "rk4", 0.05, adjoint=True)
    # one graph node for the whole solve (no per-step graph is kept)
    assert type(ys.grad_fn).__name__ == "_AdjointBackward" and ys.grad_fn.next_functions[0][0] is None
    ys[-1].sum().backward()
    # d/dk (2 e^{-k}) = -2 e^{-k}
    assert abs(float(drift.k.grad) + 2 * math.exp(-0.7)) < 1e-6


@pytest.mark.parametrize("kwargs, match", [
    (dict(process=sde.GBM()), "ODEs only"),
    (dict(adjoint_params=torch.ones(3)), "adjoint_params"),
    (dict(adjoint_params=[1.0]), "adjoint_params"),
])
def test_adjoint_bad_inputs(kwargs, match):
    from stochflow.core.errors import InputError, InputTypeError

    args = dict(process=sde.SDE(lambda t, y: -y), solver="rk4")
    args.update(kwargs)
    if "process" in kwargs and kwargs["process"].is_ode is False:
        args["solver"] = "euler"
    with pytest.raises((InputError, InputTypeError), match=match):
        sde.solve(args.pop("process"), torch.ones(2, 1, dtype=torch.float64), [0.0, 1.0], dt=0.1, adjoint=True,
                  **args)
