"""Deep BSDE solver: European call against Black–Scholes, measure change, checkpoints, seeds."""

import numpy as np
import pytest
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.xva import BSDE, CorrelatedGBM, DeepBSDESolver, black_scholes, linear_driver

R, VOL, K, S0, T = 0.05, 0.2, 100.0, 100.0, 1.0


def call_problem(n_steps=20, theta=None):
    gbm = CorrelatedGBM([S0], [VOL], [R])
    return BSDE(gbm, linear_driver(R), lambda x: (x[:, 0] - K).clamp_min(0), T, n_steps, theta=theta)


@pytest.mark.slow
def test_european_call_matches_black_scholes_with_nonzero_rate():
    res = DeepBSDESolver(iterations=1000, batch_size=256, width=32, seed=0).solve(call_problem(n_steps=10))
    ref = black_scholes(S0, K, T, R, VOL)
    assert abs(res.y0 / ref - 1) <= 0.005
    assert res.loss_history.shape == (1000,) and res.y0_history[-1] == res.y0
    assert np.isfinite(res.error_indicator) and res.error_indicator > 0
    # the indicator is computed on fresh paths and reflects a trained Z: well below the payoff's spread
    assert res.error_indicator < 0.5 * float(torch.tensor(res.loss_history[:10]).sqrt().mean())
    # pathwise values at mid-life: their mean error is bounded by the a-posteriori indicator
    prob = call_problem(n_steps=10)
    paths = prob.sample(4000, seed=5, dtype=torch.float32, device="cpu")
    ys, _ = res.rollout(prob, paths)
    exact = black_scholes(paths.x[5, :, 0], K, T, R, VOL, t=float(paths.t[5]))
    assert float((ys[5] - exact).abs().mean()) < res.error_indicator


@pytest.mark.slow
def test_girsanov_tilt_leaves_the_price_unchanged():
    # paths simulated under a drift-shifted measure, driver compensated by -z·θ
    res = DeepBSDESolver(iterations=1000, batch_size=256, width=32, seed=1).solve(call_problem(n_steps=10, theta=[-0.3]))
    assert abs(res.y0 / black_scholes(S0, K, T, R, VOL) - 1) <= 0.005


def test_rollout_shapes_and_dtype():
    prob = call_problem(n_steps=10)
    res = DeepBSDESolver(iterations=3, batch_size=16, width=8, seed=0, dtype="float64").solve(prob)
    paths = prob.sample(50, seed=5, dtype=torch.float64, device="cpu")
    ys, zs = res.rollout(prob, paths)
    assert ys.shape == (11, 50) and zs.shape == (10, 50, 1) and ys.dtype == torch.float64
    assert torch.all(ys[0] == res.y0)


@pytest.mark.parametrize("network", ["shared", "per-step"])
def test_checkpoint_resume_equals_straight_run(tmp_path, network):
    opts = dict(network=network, iterations=12, batch_size=32, width=8, seed=3, lr_milestones=(0.4,))
    straight = DeepBSDESolver(**opts).solve(call_problem(n_steps=5))
    ck = tmp_path / "ck.pt"
    DeepBSDESolver(**opts, checkpoint=ck).fit(call_problem(n_steps=5), stop_after=6)
    resumed = DeepBSDESolver(**opts).solve(call_problem(n_steps=5), resume=ck)
    assert resumed.iterations == straight.iterations == 12
    np.testing.assert_array_equal(resumed.loss_history, straight.loss_history)
    assert resumed.y0 == straight.y0
    for a, b in zip(resumed.model.parameters(), straight.model.parameters()):
        assert torch.equal(a, b)


@pytest.mark.parametrize("network", ["shared", "per-step"])
def test_linear_skip_adds_a_linear_map_of_the_state(network):
    prob = call_problem(n_steps=4)
    plain = DeepBSDESolver(network=network, iterations=2, batch_size=8, width=4).solve(prob)
    skip = DeepBSDESolver(network=network, iterations=2, batch_size=8, width=4, skip=True).solve(prob)
    count = lambda res: sum(p.numel() for p in res.model.parameters())  # noqa: E731
    # one linear map (d + 1 inputs shared, d per step) to the noise dimension per network
    extra = (1 + 1) * 1 + 1 if network == "shared" else 4 * (1 * 1 + 1)
    assert count(skip) - count(plain) == extra
    paths = prob.sample(16, seed=1, dtype=torch.float32, device="cpu")
    ys, zs = skip.rollout(prob, paths)
    assert ys.shape == (5, 16) and zs.shape == (4, 16, 1) and torch.isfinite(ys).all()


def test_seed_reproduces_and_matters():
    opts = dict(iterations=5, batch_size=16, width=8)
    a = DeepBSDESolver(seed=7, **opts).solve(call_problem(n_steps=4))
    b = DeepBSDESolver(seed=7, **opts).solve(call_problem(n_steps=4))
    c = DeepBSDESolver(seed=8, **opts).solve(call_problem(n_steps=4))
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    assert not np.array_equal(a.loss_history, c.loss_history)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_dtype_follows_the_setting(dtype):
    res = DeepBSDESolver(iterations=2, batch_size=8, width=4, dtype=dtype).solve(call_problem(n_steps=3))
    assert res.model.y0.dtype == getattr(torch, dtype)


@pytest.mark.parametrize("kwargs", [dict(network="lstm"), dict(iterations=0), dict(dtype="float16"),
                                    dict(learning_rate=-1.0), dict(lr_milestones=(1.5,)), dict(batch_size=1),
                                    dict(device="quantum"), dict(seed=1.5), dict(skip="yes"),
                                    dict(z_gain=1), dict(y0_scale=-1.0)])
def test_bad_solver_settings_raise(kwargs):
    with pytest.raises((InputError, InputTypeError)):
        DeepBSDESolver(**kwargs)


def test_bad_problems_raise():
    with pytest.raises(InputTypeError):
        DeepBSDESolver().fit("not a problem")
    with pytest.raises(InputError, match="maturity"):
        BSDE(CorrelatedGBM([S0], [VOL], [R]), linear_driver(R), lambda x: x[:, 0], -1.0, 10)
    with pytest.raises(InputTypeError):
        BSDE(CorrelatedGBM([S0], [VOL], [R]), 3.0, lambda x: x[:, 0], 1.0, 10)
    with pytest.raises(InputError, match="volatilities"):
        CorrelatedGBM([S0], [-0.2], [R])


def test_resume_from_missing_checkpoint_raises(tmp_path):
    with pytest.raises(InputError, match="no checkpoint"):
        DeepBSDESolver(iterations=2).fit(call_problem(n_steps=3), resume=tmp_path / "nope.pt")
