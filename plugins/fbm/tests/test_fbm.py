"""MA-fBM: closed forms against quadrature, covariance against exact fBM, sampling, SDE noise, registry."""

import math

import numpy as np
import pytest
import torch
from scipy import integrate, special

import stochflow.sde as sde
from stochflow.core.errors import InputError, InputTypeError
from stochflow.core.testing import check_plugin
from stochflow_fbm import MarkovFBM, fbm_covariance, optimal_weights, ou_speeds, weight_system
from stochflow_fbm._gamma import scaled_upper_gamma
from stochflow_fbm.weights import fbm_constant, ou_cross_covariance

GRID = np.linspace(0.0, 1.0, 41)
S, T = np.meshgrid(GRID, GRID)


def test_scaled_upper_gamma_matches_scipy_and_never_overflows():
    for a in (0.55, 1.0, 1.3):
        x = np.array([0.0, 1e-3, 0.4, 1.2, 2.5, 7.0, 60.0, 400.0])
        np.testing.assert_allclose(scaled_upper_gamma(a, x), np.exp(x) * special.gammaincc(a, x), rtol=1e-12)
    assert np.all(np.isfinite(scaled_upper_gamma(0.8, np.array([1e4, 1e8]))))


@pytest.mark.parametrize("hurst", [0.3, 0.7])
def test_cross_moment_with_fbm_matches_quadrature(hurst):
    # E[B^H_t (Y_t - Y_0)] from the Mandelbrot–Van Ness kernel, integrated numerically
    g, t, a = 2.5, 0.7, hurst + 0.5
    def kern(s):
        return ((t - s) ** (hurst - 0.5) if s < t else 0.0) - ((-s) ** (hurst - 0.5) if s < 0 else 0.0)

    def ou(s):
        return (math.exp(-g * (t - s)) if s < t else 0.0) - (math.exp(g * s) if s < 0 else 0.0)

    val = sum(integrate.quad(lambda s: kern(s) * ou(s), lo, hi, limit=400)[0]
              for lo, hi in [(-np.inf, -1), (-1, 0), (0, t)])
    want = fbm_constant(hurst) * val / math.gamma(a)
    got = fbm_constant(hurst) * g**-a * (2 - math.exp(-g * t) - scaled_upper_gamma(a, np.array([g * t]))[0])
    assert got == pytest.approx(want, rel=1e-8)
    # and the constant gives Var B^H_t = t^{2H}
    var = sum(integrate.quad(lambda s: kern(s) ** 2, lo, hi, limit=400)[0] for lo, hi in [(-np.inf, -1), (-1, 0), (0, t)])
    assert fbm_constant(hurst) ** 2 * var / math.gamma(a) ** 2 == pytest.approx(t ** (2 * hurst), rel=1e-7)


def test_linear_system_matches_its_integrals():
    hurst, horizon, gam = 0.3, 1.0, ou_speeds(3, 1.0, 0.5, 20.0)
    A, b = weight_system(hurst, gam, horizon)
    a_num = integrate.quad_vec(lambda t: ou_cross_covariance(gam, t, t), 0, horizon)[0]
    np.testing.assert_allclose(A, a_num, rtol=1e-9)
    a = hurst + 0.5
    cross = lambda t: fbm_constant(hurst) * gam**-a * (2 - np.exp(-gam * t) - scaled_upper_gamma(a, gam * t))  # noqa: E731
    np.testing.assert_allclose(b, integrate.quad_vec(cross, 0, horizon)[0], rtol=1e-8)


@pytest.mark.parametrize("hurst", [0.3, 0.5, 0.7])
def test_covariance_approaches_fbm_as_terms_grow(hurst):
    errs = []
    for k in (2, 4, 8, 16):
        fbm = MarkovFBM(hurst=hurst, n_terms=k)
        errs.append(np.abs(fbm.covariance(S, T) - fbm_covariance(hurst, S, T)).max())
    assert errs[-1] < 5e-3
    if hurst != 0.5:  # H = 1/2 is Brownian motion: already close with two terms
        assert errs[0] > 0.1 and errs[1] > errs[2] > errs[3]
    else:
        assert max(errs) < 1e-4


def test_l2_weights_are_optimal():
    hurst, gam = 0.3, ou_speeds(6, 1.0, 1e-3, 1e3)
    A, b = weight_system(hurst, gam, 1.0)
    w = optimal_weights(hurst, gam)

    def loss(v):  # ∫ E(B - B̂)² dt up to the constant ∫ t^{2H} dt
        return v @ A @ v - 2 * b @ v

    rng = np.random.default_rng(0)
    assert all(loss(w) <= loss(w + 1e-3 * rng.normal(size=6)) for _ in range(20))


@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_samples_have_the_markov_covariance(backend):
    fbm = MarkovFBM(hurst=0.7, n_terms=12)
    ts = np.array([0.25, 0.5, 1.0])
    x = np.asarray(fbm.sample(ts, n_paths=20000, seed=3, backend=backend))
    emp = x @ x.T / x.shape[1]
    cov = fbm.covariance(ts[:, None], ts[None, :])
    assert np.abs(emp - cov).max() < 5 * math.sqrt(2 / 20000)


def test_driven_sde_reproduces_the_covariance_through_solve():
    # dX = dB̂ with X_0 = 0: X_t = B̂_t, solved with the state carrying the OU components
    fbm = MarkovFBM(hurst=0.3, n_terms=6, gammas=ou_speeds(6, 1.0, 0.05, 20.0))
    system = fbm.driven_sde(kind="ito")
    y0 = fbm.initial_state(torch.zeros(8000, 1, dtype=torch.float64), seed=2)
    assert y0.shape == (8000, 1, 7)
    ts = np.array([0.0, 0.5, 1.0])
    bm = sde.VirtualBrownianTree(0.0, 1.0, (8000, 1, 1), seed=4)
    xs = sde.solve(system, y0, ts, solver="euler", dt=2**-9, brownian=bm)[..., 0, 0].numpy()
    emp = xs[1:] @ xs[1:].T / xs.shape[1]
    cov = fbm.covariance(ts[1:, None], ts[None, 1:])
    assert np.abs(emp - cov).max() < 0.04
    # the same Brownian path drives X: rerunning gives the same paths
    again = sde.solve(system, y0, ts, solver="euler", dt=2**-9, brownian=bm)[..., 0, 0].numpy()
    np.testing.assert_array_equal(again, xs)


def test_driven_sde_with_state_dependent_noise_runs_stratonovich():
    fbm = MarkovFBM(hurst=0.7, n_terms=4, gammas=ou_speeds(4, 1.0, 0.1, 10.0))
    system = fbm.driven_sde(drift=lambda t, x: -x, diffusion=lambda t, x: 0.3 * x)
    y0 = fbm.initial_state(torch.ones(16, 2, dtype=torch.float64))
    ys = sde.solve(system, y0, np.linspace(0, 1, 5), solver="heun", dt=2**-7, seed=0)
    assert ys.shape == (5, 16, 2, 5) and torch.isfinite(ys).all()


def test_plugin_conformance():
    names = {e.name for e in check_plugin("stochflow-fbm")}
    assert names == {"markov-fbm", "fbm"}


@pytest.mark.parametrize("bad", [
    lambda: MarkovFBM(hurst=0.0),
    lambda: MarkovFBM(hurst=1.0),
    lambda: MarkovFBM(hurst="a"),
    lambda: MarkovFBM(n_terms=0),
    lambda: MarkovFBM(horizon=-1.0),
    lambda: MarkovFBM(gammas=[1.0, -2.0]),
    lambda: ou_speeds(4, 1.0, 10.0, 1.0),
    lambda: MarkovFBM().sample([0.0, 0.5, 0.5]),
    lambda: MarkovFBM().sample([-1.0, 0.5]),
    lambda: MarkovFBM().sample([0.0, 1.0], n_paths=2.5),
    lambda: MarkovFBM().sample([0.0, 1.0], backend="numpy"),
    lambda: MarkovFBM().sample([0.0, 1.0], dtype="int32"),
    lambda: MarkovFBM().driven_sde(drift=3),
    lambda: MarkovFBM().initial_state(np.zeros(3)),
])
def test_bad_input_raises(bad):
    with pytest.raises((InputError, InputTypeError)) as info:
        bad()
    assert len(str(info.value)) > 15


def test_demo_plots_paths_and_the_covariance_error(tmp_path):
    from stochflow.core import get_registry
    from stochflow.core.demo import run_demo

    done = run_demo(get_registry().get("demo", "fbm"), tmp_path)
    assert done.error is None, done.error
    assert sorted(p.name for p in done.result.figures) == ["fbm_covariance_error.png", "fbm_paths.png"]
    for path in done.result.figures:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # with K = 16 OU terms the covariance is within 1e-2 of the exact fBM covariance (about 3e-4 and 3e-3)
    assert done.result.metrics["cov_error_H0.3_K16"] < 1e-2 and done.result.metrics["cov_error_H0.7_K16"] < 1e-2
