from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.linalg
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError, InputTypeError
from stochflow.jump.prior import empirical_bayes_prior, rates_from_statistics


@pytest.mark.slow
def test_em_recovers_the_dfr_from_sparse_noisy_irregular_paths(dfr):
    # the setting: 300 paths on [0, 2.5], 50 irregular observations each, 10% label flips.
    # Stated tolerances: FIM-MJP reports a rate RMSE of 0.110 for noise-aware EM here, i.e. a
    # standard error of about 0.11 per rate; (V, r, b) average six rates each (SE about 0.05), so
    # 0.2 is about four standard errors; the RMSE is allowed twice the published figure.
    paths = sfj.simulate(dfr, n_paths=300, t_max=2.5, seed=0)
    obs = paths.observe(50, grid="irregular", flip_prob=0.1, seed=1)
    model = sfj.EMEstimator(progress=False).fit(obs).fetch_model()
    assert model.converged
    V, r, b = (float(x) for x in model.dfr_parameters())
    assert abs(V - 1) < 0.2 and abs(r - 1) < 0.2 and abs(b - 1) < 0.2, (V, r, b)
    assert float(model.rate_rmse(dfr)) < 0.22
    # 15000 labels, 10% flipped: binomial SE 0.0024, plus the uncertainty of the hidden states
    assert abs(float(model.flip_prob) - 0.1) < 0.02
    # ignoring the noise is far worse (FIM-MJP: 1.19)
    plain = sfj.EMEstimator(noise=0.0, progress=False, max_iter=30).fit(obs).fetch_model()
    assert float(plain.rate_rmse(dfr)) > 3 * float(model.rate_rmse(dfr))


@pytest.mark.slow
def test_em_error_falls_as_paths_grow(dfr):
    errors = []
    for n in (30, 300, 3000):
        obs = sfj.simulate(dfr, n_paths=n, t_max=2.5, seed=n).observe(26, grid="regular")
        errors.append(float(sfj.EMEstimator(noise=0.0, progress=False).fit(obs).fetch_model().rate_rmse(dfr)))
    # RMSE ~ n^-1/2 (a factor 3.2 per step); demand half of it
    assert errors[0] > 1.6 * errors[1] > 1.6**2 * errors[2], errors


@pytest.mark.slow
def test_em_on_a_dense_grid_approaches_the_complete_data_mle(dfr):
    paths = sfj.simulate(dfr, n_paths=100, t_max=2.5, seed=3)
    dt = 0.001
    obs = paths.observe(2501, grid="regular")
    em = sfj.EMEstimator(noise=0.0, prior=None, progress=False).fit(obs).fetch_model()
    mle = sfj.MLEstimator().fit(paths).fetch_model()
    # EM and the MLE differ only by the jumps hidden inside one grid interval, a share of about
    # lambda dt of the jumps (lambda <= 5.4): the difference is about sqrt(2 lambda dt) standard errors
    _, holding, _ = paths.statistics()
    se = torch.sqrt(dfr.clamp_min(0.05) / holding[:, None])
    off = ~torch.eye(6, dtype=torch.bool)
    lam = float((-torch.diagonal(dfr)).max())
    assert float(((em.generator - mle.generator).abs() / se)[off].max()) < 4 * np.sqrt(2 * lam * dt)


def test_em_log_posterior_never_decreases(dfr):
    obs = sfj.simulate(dfr, n_paths=30, t_max=2.5, seed=5).observe((8, 30), grid="irregular", flip_prob=0.1, seed=6)
    model = sfj.EMEstimator(progress=False, tol=0.0, max_iter=40).fit(obs).fetch_model()
    h = np.array(model.history)
    assert len(h) >= 20
    assert np.all(np.diff(h) >= -1e-9 * np.abs(h[1:]))
    assert h[-1] > h[0] + 1.0


def test_both_integral_methods_give_the_same_fit(dfr):
    obs = sfj.simulate(dfr, n_paths=40, t_max=2.5, seed=7).observe(20, grid="irregular", flip_prob=0.05, seed=8)
    fits = [sfj.EMEstimator(method=m, tol=0.0, max_iter=8, progress=False).fit(obs).fetch_model()
            for m in ("expm", "uniformization")]
    assert torch.allclose(fits[0].generator, fits[1].generator, atol=1e-9, rtol=1e-9)
    assert torch.allclose(fits[0].flip_prob, fits[1].flip_prob, atol=1e-10)


@pytest.mark.slow
def test_learned_noise_on_clean_data_is_small(dfr):
    obs = sfj.simulate(dfr, n_paths=200, t_max=2.5, seed=9).observe(50, grid="regular")
    model = sfj.EMEstimator(progress=False).fit(obs).fetch_model()
    assert float(model.flip_prob) < 0.01


def test_a_single_path_gives_a_finite_generator_under_the_prior(dfr):
    obs = sfj.simulate(dfr, n_paths=1, t_max=2.5, seed=10).observe(50, grid="irregular", flip_prob=0.1, seed=11)
    model = sfj.EMEstimator(progress=False).fit(obs).fetch_model()
    Q = model.generator
    assert bool(torch.isfinite(Q).all())
    sfj.validate_generator(Q)
    assert float(sfj.generators.off_diagonal(Q).max()) < 20.0


def test_batched_fit_equals_separate_fits_and_numpy_follows(dfr):
    Q = torch.stack([dfr, sfj.dfr_generator(2.0, 0.5, 1.0)])
    obs = sfj.simulate(Q, n_paths=20, t_max=2.5, seed=12).observe(15, grid="irregular", seed=13)
    est = lambda: sfj.EMEstimator(tol=0.0, max_iter=6, progress=False)
    batched = est().fit(obs).fetch_model()
    assert batched.generator.shape == (2, 6, 6) and batched.flip_prob.shape == (2,)
    for b in range(2):
        one = sfj.Observations(obs.times[b].numpy(), obs.states[b].numpy(), obs.mask[b].numpy(),
                               n_states=6, t_max=2.5)
        m = est().fit(one).fetch_model()
        assert isinstance(m.generator, np.ndarray)
        np.testing.assert_allclose(m.generator, batched.generator[b].numpy(), atol=1e-10)


def test_float32_observations_give_float32_models(dfr):
    obs = sfj.simulate(dfr.float(), n_paths=10, t_max=2.5, seed=0).observe(10, grid="irregular", seed=1)
    model = sfj.EMEstimator(max_iter=3, progress=False).fit(obs).fetch_model()
    assert model.generator.dtype == torch.float32 and model.initial_distribution.dtype == torch.float32


def test_pseudo_generator_is_the_first_order_estimate_on_a_regular_grid():
    # on a regular grid: q_ij = n_ij / (n_i dt)
    times = np.array([[0.0, 1.0, 2.0, 3.0, 4.0]])
    states = np.array([[0, 0, 1, 1, 0]])
    model = sfj.PseudoGeneratorEstimator().fit(sfj.Observations(times, states, n_states=2)).fetch_model()
    np.testing.assert_allclose(model.generator, [[-0.5, 0.5], [0.5, -0.5]])


@pytest.mark.parametrize("kwargs, match", [
    (dict(noise=1.5), "noise"),
    (dict(noise="estimate"), "noise"),
    (dict(init="random"), "init"),
    (dict(init=np.array([[-1.0, 1.0], [1.0, -2.0]])), "sums to"),
    (dict(method="pade"), "method"),
    (dict(max_iter=0), "max_iter"),
    (dict(prior=(0.5, 1.0)), "alpha"),
    (dict(prior="hierarchical"), "empirical"),
    (dict(estimate="median"), "estimate"),
])
def test_bad_em_parameters(kwargs, match):
    with pytest.raises(InputError, match=match):
        sfj.EMEstimator(**kwargs)


def test_expected_holding_times_cover_the_observed_time(dfr):
    # the E-step splits each path's time from 0 to its last observation among the states
    obs = sfj.simulate(dfr, n_paths=7, t_max=2.5, seed=4).observe(12, grid="irregular", flip_prob=0.05, seed=2)
    est = sfj.EMEstimator(progress=False).fit(obs)
    counts, holding = est.statistics_
    t, _, m = obs.tensors(torch.float64)
    last = torch.where(m, t, torch.zeros_like(t)).amax(-1).sum()
    assert float(holding.sum()) == pytest.approx(float(last), rel=1e-10)
    assert counts.shape == (6, 6) and bool((counts >= 0).all())
    # the reported generator is the M-step of those statistics (the MAP under the prior)
    Q, _ = rates_from_statistics(counts, holding, est.prior_)
    torch.testing.assert_close(est.fetch_model().generator, Q, rtol=1e-12, atol=1e-12)


def test_posterior_mean_estimate_adds_one_over_beta_plus_holding_time_to_every_rate(dfr):
    # Gamma(alpha + N, beta + R): mean - mode = 1 / (beta + R_i), the same along row i, and the
    # posterior variance (alpha + N) / (beta + R)^2 = mean * (mean - mode)
    obs = sfj.simulate(dfr, n_paths=20, t_max=2.5, seed=5).observe(20, grid="regular", seed=1)
    prior = sfj.GammaPrior(2.0, 0.5)
    mode_est = sfj.EMEstimator(prior=prior, progress=False).fit(obs)
    mean_est = sfj.EMEstimator(prior=prior, progress=False, estimate="mean").fit(obs)
    mode, mean = mode_est.fetch_model(), mean_est.fetch_model()
    assert mode.n_iter == mean.n_iter  # the same EM run; only the reported rates differ
    _, holding = mean_est.statistics_
    off = ~torch.eye(6, dtype=torch.bool)
    gap = (mean.generator - mode.generator)
    want = (1.0 / (0.5 + holding))[:, None].expand(6, 6)
    torch.testing.assert_close(gap[off], want[off], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mean.generator_std[off] ** 2, (mean.generator * gap)[off], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(mean.generator.sum(-1), torch.zeros(6, dtype=torch.float64), rtol=0, atol=1e-12)


def test_empirical_prior_is_the_evidence_maximiser_of_the_default_fit_statistics(dfr):
    obs = sfj.simulate(torch.stack([dfr, 2 * dfr]), n_paths=15, t_max=2.5, seed=6).observe(15, seed=3)
    default = sfj.EMEstimator(progress=False).fit(obs)
    est = sfj.EMEstimator(prior="empirical", progress=False).fit(obs)
    want = empirical_bayes_prior(*default.statistics_)
    torch.testing.assert_close(est.prior_.alpha, want.alpha, rtol=1e-8, atol=0)
    torch.testing.assert_close(est.prior_.beta, want.beta, rtol=1e-8, atol=0)
    assert est.prior_.alpha.shape == (2, 1, 1)  # one prior per process
    # and the fit is EM's fixed point under that prior
    Q, _ = rates_from_statistics(*est.statistics_, est.prior_)
    torch.testing.assert_close(est.fetch_model().generator, Q, rtol=1e-12, atol=1e-12)
    assert est.fetch_model().converged


def test_em_rejects_wrong_data_and_wrong_init(dfr):
    paths = sfj.simulate(dfr, n_paths=3, t_max=1.0, seed=0)
    with pytest.raises(InputTypeError, match="MLEstimator"):
        sfj.EMEstimator().fit(paths)
    with pytest.raises(InputTypeError, match="Observations"):
        sfj.EMEstimator().fit(np.zeros((3, 4)))
    obs = paths.observe(5)
    with pytest.raises(InputError, match="states"):
        sfj.EMEstimator(init=sfj.random_generator(3, seed=0)).fit(obs)


def test_observation_log_likelihood_against_a_sum_over_hidden_paths():
    # two states, one path, three observations with 20% flips: sum over the 2^4 hidden states at
    # times 0 (unobserved), t1, t2, t3 of p0 * transitions * emissions
    Q = np.array([[-0.7, 0.7], [1.3, -1.3]])
    p0 = np.array([0.25, 0.75])
    times, labels, eps = np.array([0.4, 0.9, 2.0]), np.array([1, 0, 0]), 0.2
    E = np.array([[1 - eps, eps], [eps, 1 - eps]])
    steps = np.diff(np.concatenate([[0.0], times]))
    total = 0.0
    for hidden in itertools.product(range(2), repeat=4):
        p = p0[hidden[0]]
        for k, dt in enumerate(steps):
            p *= scipy.linalg.expm(Q * dt)[hidden[k], hidden[k + 1]] * E[hidden[k + 1], labels[k]]
        total += p
    obs = sfj.Observations(times[None], labels[None], n_states=2, t_max=2.0)
    ll = sfj.observation_log_likelihood(obs, Q, p0, eps)
    assert abs(float(ll) - np.log(total)) < 1e-12
    # exact labels: the Markov chain of the observed states
    exact = np.log(p0 @ scipy.linalg.expm(Q * 0.4))[1] + np.log(scipy.linalg.expm(Q * 0.5)[1, 0]) \
        + np.log(scipy.linalg.expm(Q * 1.1)[0, 0])
    assert abs(float(sfj.observation_log_likelihood(obs, Q, p0)) - exact) < 1e-12


def test_observation_log_likelihood_rejects_a_generator_of_the_wrong_size(dfr):
    obs = sfj.simulate(dfr, n_paths=2, t_max=1.0, seed=0).observe(5)
    with pytest.raises(InputError, match="states"):
        sfj.observation_log_likelihood(obs, sfj.random_generator(3, seed=0), np.full(3, 1 / 3))
