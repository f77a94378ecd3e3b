"""Deterministic samplers against the exact PF-ODE flow map of Gaussian data; fitted orders."""

import numpy as np
import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.diffusion.testing import GaussianMixture

D = 16


def _gaussian(seed=0):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(D, D, generator=g, dtype=torch.float64)
    evals = torch.logspace(-2, 0, D, dtype=torch.float64)  # from near-manifold to unit variance
    U, _ = torch.linalg.qr(A)
    cov = U @ torch.diag(evals) @ U.T
    m = torch.randn(D, generator=g, dtype=torch.float64)
    return GaussianMixture([1.0], m[None], ((cov + cov.T) / 2)[None]), m, U, evals


def exact_flow(sde, m, U, evals, x_t, t, s):
    """x_s = α_s m + c_s + C_s^{1/2} C_t^{-1/2} (x_t − α_t m − c_t), with C = α²Σ + σ²I."""
    sch = sde.schedule
    t, s = torch.tensor(t, dtype=torch.float64), torch.tensor(s, dtype=torch.float64)
    mu = sde.center(x_t)
    a_t, a_s, sig_t, sig_s = sch.alpha(t), sch.alpha(s), sch.sigma(t), sch.sigma(s)
    scale = torch.sqrt((a_s**2 * evals + sig_s**2) / (a_t**2 * evals + sig_t**2))
    r = x_t - (a_t * m + (1 - a_t) * mu)
    return a_s * m + (1 - a_s) * mu + ((r @ U) * scale) @ U.T


def _errors(sde, solver, steps_list, **kw):
    gm, m, U, evals = _gaussian()
    g = torch.Generator().manual_seed(1)
    x_T = sde.prior_std() * torch.randn(64, D, generator=g, dtype=torch.float64) + sde.center(torch.zeros(1, D, dtype=torch.float64))
    exact = exact_flow(sde, m, U, evals, x_T, sde.T, sde.eps)
    errs = []
    for n in steps_list:
        out = sfd.sample(gm.score_fn(sde), sde, None, solver=solver, steps=n, x_T=x_T, lower_order_final=False, **kw)
        errs.append(float((out.samples - exact).norm(dim=1).mean()))
    return np.array(errs)


def _slope(steps, errs):
    return -np.polyfit(np.log(steps), np.log(errs), 1)[0]


@pytest.mark.parametrize("solver,order,steps", [
    ("ddim", 1, [20, 40, 80, 160]),
    ("dpm-solver-1", 1, [20, 40, 80, 160]),
    ("dpm-solver-2", 2, [10, 20, 40, 80]),
    ("dpm-solver++2m", 2, [20, 40, 80, 160]),
    ("mrs", 2, [20, 40, 80, 160]),
    ("heun", 2, [10, 20, 40, 80]),
    ("dpm-solver-3", 3, [20, 40, 80, 160]),
    ("dpm-solver++3m", 3, [20, 40, 80, 160]),
])
def test_convergence_order_vp(solver, order, steps):
    errs = _errors(sfd.VPSDE(), solver, steps)
    assert np.all(np.diff(errs) < 0), errs
    slope = _slope(steps, errs)
    # third-order multistep runs super-convergent (≈4) on Gaussian data in this range; the
    # anchors' D2 (without the factor 2) gives ≈2 here, which this bound rejects
    assert order - 0.25 < slope < order + (1.25 if solver == "dpm-solver++3m" else 0.25), (errs, slope)


@pytest.mark.parametrize("order,variant,steps", [
    (1, "bh2", [20, 40, 80, 160]),
    (1, "bh1", [20, 40, 80, 160]),
    (2, "bh2", [20, 40, 80, 160]),
    (2, "bh1", [20, 40, 80, 160]),
    (3, "bh2", [80, 160, 320, 640]),  # UniPC-3 is pre-asymptotic (error cancellation) below ~80 steps
])
def test_unipc_convergence_order_is_predictor_order_plus_one(order, variant, steps):
    """UniP-p with the corrector UniC-p: order p + 1 against the exact flow map."""
    errs = _errors(sfd.VPSDE(), "unipc", steps, order=order, variant=variant)
    assert np.all(np.diff(errs) < 0), errs
    assert abs(_slope(steps, errs) - (order + 1)) < 0.25, (errs, _slope(steps, errs))


@pytest.mark.parametrize("order", [1, 2])
def test_unipc_predictor_alone_has_its_order(order):
    steps = [20, 40, 80, 160]
    errs = _errors(sfd.VPSDE(), "unipc", steps, order=order, corrector=False)
    assert abs(_slope(steps, errs) - order) < 0.25, errs


@pytest.mark.parametrize("make", [sfd.VESDE, sfd.SubVPSDE,
                                  lambda: sfd.MeanRevertingSDE(mu=torch.linspace(-1, 1, D, dtype=torch.float64))],
                         ids=["ve", "subvp", "mr"])
@pytest.mark.parametrize("solver,order,kw", [("ddim", 1, {}), ("dpm-solver++2m", 2, {}), ("mrs", 2, {}),
                                             ("unipc", 3, {"order": 2})])
def test_convergence_order_other_sdes(make, solver, order, kw):
    steps = [20, 40, 80, 160]
    errs = _errors(make(), solver, steps, **kw)
    assert abs(_slope(steps, errs) - order) < 0.25, errs


@pytest.mark.parametrize("prediction", ["noise", "data", "velocity"])
def test_mrs_parameterisations_converge(prediction):
    sde = sfd.MeanRevertingSDE(mu=0.7)
    steps = [20, 40, 80, 160]
    errs = _errors(sde, "mrs", steps, prediction=prediction)
    assert errs[-1] < 1e-3 and abs(_slope(steps, errs) - 2) < 0.3, errs


def test_ddim_equals_dpm_solver_1_and_float32_close(dtype):
    gm, *_ = _gaussian()
    sde = sfd.VPSDE()
    a = sfd.sample(gm.score_fn(sde), sde, (16, D), "ddim", steps=7, seed=3, dtype=dtype).samples
    b = sfd.sample(gm.score_fn(sde), sde, (16, D), "dpm-solver-1", steps=7, seed=3, dtype=dtype).samples
    assert a.dtype == dtype
    torch.testing.assert_close(a, b)


def test_pf_ode_through_stochflow_sde_follows_its_tolerance_to_the_exact_flow_map():
    """Adaptive Dormand–Prince (stochflow-sde) against the closed-form flow map: the error tracks
    the tolerance and tighter tolerances cost more evaluations."""
    sde = sfd.VPSDE()
    gm, m, U, evals = _gaussian()
    x_T = torch.randn(64, D, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    exact = exact_flow(sde, m, U, evals, x_T, sde.T, sde.eps)
    errs, nfes = [], []
    for tol in (1e-3, 1e-5, 1e-7):
        out = sfd.sample(gm.score_fn(sde), sde, None, solver="pf-ode", x_T=x_T, rtol=tol, atol=tol)
        errs.append(float((out.samples - exact).norm(dim=1).mean()))
        nfes.append(out.nfe)
        assert errs[-1] < 10 * tol, (tol, errs)
    assert nfes[0] < nfes[1] < nfes[2], nfes


@pytest.mark.parametrize("make", [sfd.VPSDE, sfd.VESDE], ids=["vp", "ve"])
def test_pf_ode_rk4_through_stochflow_sde_is_fourth_order(make):
    steps = [10, 20, 40, 80]
    errs = _errors(make(), "pf-ode-rk4", steps)
    assert np.all(np.diff(errs) < 0) and abs(_slope(steps, errs) - 4) < 0.35, errs
    fixed = sfd.sample(_gaussian()[0].score_fn(make()), make(), (4, D), solver="pf-ode", method="rk4", steps=10)
    assert fixed.nfe == 40
