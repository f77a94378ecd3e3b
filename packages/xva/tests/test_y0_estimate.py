"""Y0 re-estimated on fresh paths with a trained Z: plain and tilted Monte Carlo against closed forms."""

import math

import pytest
import torch
from torch import nn

from stochflow.core.errors import InputError
from stochflow.xva import BSDE, DeepBSDEModel, DeepBSDESolver, ScaledBrownianMotion
from stochflow.xva.y0_estimate import estimate_y0

# ∂_t u + Δu - λ|∇u|² = 0, u(T, x) = a|x|², X = √2 W from 0 (Cole–Hopf, a Gaussian integral):
# u(t, x) = a|x|² / (1 + 4λaτ) + (d / 2λ) ln(1 + 4λaτ), τ = T - t; Z* = √2 ∇u = 2√2 a x / (1 + 4λaτ)
DIM, LAM, A, T = 2, 1.0, 0.5, 1.0
U0 = DIM / (2 * LAM) * math.log(1 + 4 * LAM * A * T)  # ln 3
MEAN_G = A * 2 * T * DIM  # E[a|√2 W_T|²] = 2
# E∫|Z*|² dt along X = √2 W: ∫ 8a² 2td / (1 + 4λa(T - t))² dt = 2(2 - ln 3) here
ENERGY = 2 * (2 - math.log(3))


def quadratic_hjb(n_steps=50):
    return BSDE(ScaledBrownianMotion([0.0] * DIM, math.sqrt(2.0)), lambda t, x, y, z: -0.5 * LAM * (z * z).sum(-1),
                lambda x: A * (x * x).sum(-1), T, n_steps)


class ScaledExactZ(nn.Module):
    """``c Z*(t, x)``: the exact Z made too small by the factor c."""

    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, t, x):
        tau = (T - t)[:, None, None]
        return self.c * 2 * math.sqrt(2) * A * x / (1 + 4 * LAM * A * tau)


def test_closed_form_constants_agree():
    # the constants above: Y0 = E[g] - (λ/2) E∫|Z*|² for the exact Z
    assert MEAN_G - 0.5 * LAM * ENERGY == pytest.approx(U0, rel=1e-12)


@pytest.mark.parametrize("rule", ["left", "trapezoid"])
def test_exact_z_gives_the_closed_form_both_ways(rule):
    model = DeepBSDEModel(ScaledExactZ(1.0), y0=2.0, driver_rule=rule).double()
    prob = quadratic_hjb()
    for tilt in (False, True):
        est = estimate_y0(model, prob, tilt=tilt, n_paths=20000, chunk=5000, dtype=torch.float64)
        # time-discretisation error of 50 steps (left rule: (λ/2)(e(T) - e(0))Δt/2 = 0.04 with e(t) = E|Z*_t|², t = 8t here)
        tol = 4 * est.stderr + (0.05 if rule == "left" else 0.005)
        assert abs(est.value - U0) < tol, (tilt, est)
        assert 0 < est.stderr < 0.01


def test_tilt_makes_the_error_second_order_in_z():
    c = 0.9
    model = DeepBSDEModel(ScaledExactZ(c), y0=2.0, driver_rule="trapezoid").double()
    prob = quadratic_hjb()
    plain = estimate_y0(model, prob, tilt=False, n_paths=20000, chunk=5000, dtype=torch.float64)
    tilted = estimate_y0(model, prob, tilt=True, n_paths=20000, chunk=5000, dtype=torch.float64)
    # plain: E[g] - (λ/2) c² E∫|Z*|² — first order in 1 - c (0.17 above ln 3)
    assert plain.value == pytest.approx(MEAN_G - 0.5 * LAM * c * c * ENERGY, abs=4 * plain.stderr + 0.005)
    # tilted: ln 3 + (λ/2) E_Q∫|(1 - c) Z*|², between 0 and (λ/2)(1 - c)² E_P∫|Z*|² (the control pulls X to 0)
    excess = tilted.value - U0
    assert -4 * tilted.stderr - 0.005 < excess < 0.5 * LAM * (1 - c) ** 2 * ENERGY + 4 * tilted.stderr + 0.005
    assert abs(excess) < 0.1 * abs(plain.value - U0)


def test_driver_linear_in_z_leaves_the_paths_alone():
    # θ = ∂_z f = 0: the tilted estimate is the plain one on the same paths (re-simulated step by step)
    prob = BSDE(ScaledBrownianMotion([0.5, -0.5], 0.3), lambda t, x, y, z: -0.05 * y, lambda x: x.sum(-1) ** 2, 1.0, 8)
    res = DeepBSDESolver(iterations=30, batch_size=32, width=8, seed=0, dtype="float64").solve(prob)
    plain = res.estimate_y0(prob, n_paths=2000, chunk=1000)
    tilted = res.estimate_y0(prob, tilt=True, n_paths=2000, chunk=1000)
    assert tilted.value == pytest.approx(plain.value, rel=1e-10)
    assert tilted.stderr == pytest.approx(plain.stderr, rel=1e-8)
    # the driver depends on y: Y0 is found by the secant iteration; its residual mean is then zero
    assert abs(plain.value - res.y0) > 0  # the learned Y0 is not the consistent one after 30 steps


def test_solver_option_recovers_the_closed_form():
    prob = quadratic_hjb(n_steps=20)
    res = DeepBSDESolver(iterations=400, batch_size=128, width=32, skip=True, driver_rule="trapezoid",
                         learning_rate=3e-2, seed=0, y0_estimate="tilted", estimate_paths=8000).solve(prob)
    est = res.y0_estimate
    assert est is not None and est.method == "deep BSDE, tilted Monte Carlo"
    # a short training leaves Z rough (the learned Y0 is 5% low); the tilted estimate is within 1%
    assert abs(est.value / U0 - 1) < 0.01
    # an upper bound up to noise and the time step: the cost of a control
    assert est.value > U0 - 4 * est.stderr - 0.005


def test_bad_options():
    with pytest.raises(InputError, match="y0_estimate"):
        DeepBSDESolver(y0_estimate="exact")
    with pytest.raises(InputError, match="trapezoid"):
        DeepBSDESolver(network="per-step", driver_rule="trapezoid")


def test_profiled_y0_matches_the_black_scholes_call():
    # a driver with y (-r y): the profiled Y0 steps are a fixed-point iteration; the call's closed form
    from stochflow.xva import CorrelatedGBM, black_scholes, linear_driver

    r, vol, strike = 0.05, 0.2, 100.0
    prob = BSDE(CorrelatedGBM([100.0], [vol], [r]), linear_driver(r), lambda x: (x[:, 0] - strike).clamp_min(0),
                1.0, 10)
    res = DeepBSDESolver(iterations=600, batch_size=256, width=32, seed=0, y0_update="profile").solve(prob)
    assert abs(res.y0 / black_scholes(100.0, strike, 1.0, r, vol) - 1) < 0.01
    assert not res.model.y0_raw.requires_grad


def test_profiled_y0_is_the_one_consistent_with_z():
    # Y0 follows the batches' mean residual: at the end it agrees with the Monte Carlo Y0 for the trained Z
    prob = quadratic_hjb(n_steps=20)
    res = DeepBSDESolver(iterations=300, batch_size=128, width=16, skip=True, driver_rule="trapezoid", seed=1,
                         y0_update="profile").solve(prob)
    plain = res.estimate_y0(prob, n_paths=8000)
    assert abs(res.y0 - plain.value) < 4 * plain.stderr + 0.01
    assert abs(res.y0 / U0 - 1) < 0.1
    with pytest.raises(InputError, match="y0_update"):
        DeepBSDESolver(y0_update="newton")


def test_profiled_checkpoint_resume_equals_straight_run(tmp_path):
    # the Y0 steps use the schedule's factor, restored with the scheduler
    opts = dict(iterations=12, batch_size=32, width=8, seed=3, lr_milestones=(0.4,), y0_update="profile")
    prob = quadratic_hjb(n_steps=5)
    straight = DeepBSDESolver(**opts).solve(prob)
    ck = tmp_path / "ck.pt"
    DeepBSDESolver(**opts, checkpoint=ck).fit(prob, stop_after=6)
    resumed = DeepBSDESolver(**opts).solve(prob, resume=ck)
    assert resumed.y0 == straight.y0
    assert list(resumed.y0_history) == list(straight.y0_history)
    assert len(set(straight.y0_history)) > 1  # Y0 moved
