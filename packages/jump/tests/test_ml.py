from __future__ import annotations

import numpy as np
import pytest
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError, InputTypeError, NotFittedError


def hand_paths():
    inf = float("inf")
    # path 0: 0 -(0.5)-> 1 -(1.5)-> 0 -> end at 3; path 1: 1 -(2.0)-> 2 -> end at 3
    times = torch.tensor([[0.0, 0.5, 1.5], [0.0, 2.0, inf]], dtype=torch.float64)
    states = torch.tensor([[0, 1, 0], [1, 2, 2]])
    return sfj.JumpPaths(times, states, torch.tensor([2, 1]), 3.0, 3)


def test_statistics_and_mle_on_hand_counted_paths():
    paths = hand_paths()
    counts, holding, initial = paths.statistics()
    expected_counts = torch.zeros(3, 3, dtype=torch.float64)
    expected_counts[0, 1] = expected_counts[1, 0] = expected_counts[1, 2] = 1
    assert torch.equal(counts, expected_counts)
    assert torch.allclose(holding, torch.tensor([0.5 + 1.5, 1.0 + 2.0, 1.0], dtype=torch.float64))
    assert initial.tolist() == [1.0, 1.0, 0.0]
    model = sfj.MLEstimator().fit(paths).fetch_model()
    Q = model.generator
    assert Q[0, 1] == pytest.approx(1 / 2.0) and Q[1, 0] == pytest.approx(1 / 3.0)
    assert Q[1, 2] == pytest.approx(1 / 3.0) and Q[2, 0] == 0 and Q[2, 1] == 0
    assert torch.allclose(model.initial_distribution, torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64))
    # log-likelihood: sum N log q - sum R |q_ii|
    ll = np.log(0.5) + 2 * np.log(1 / 3) - (2.0 * 0.5 + 3.0 * (2 / 3) + 1.0 * 0.0)
    assert float(model.log_likelihood) == pytest.approx(ll)


def test_gamma_prior_gives_the_posterior_mode_and_mean():
    paths = hand_paths()
    a, b = 2.0, 0.5
    mode = sfj.MLEstimator(prior=(a, b)).fit(paths).fetch_model()
    mean = sfj.MLEstimator(prior=sfj.GammaPrior(a, b), estimate="mean").fit(paths).fetch_model()
    assert mode.generator[0, 1] == pytest.approx((a - 1 + 1) / (b + 2.0))
    assert mode.generator[2, 0] == pytest.approx((a - 1) / (b + 1.0))
    assert mean.generator[0, 1] == pytest.approx((a + 1) / (b + 2.0))
    assert mean.generator_std[0, 1] == pytest.approx(np.sqrt(a + 1) / (b + 2.0))


def test_mle_is_consistent_with_fisher_standard_errors(dfr):
    paths = sfj.simulate(dfr, n_paths=2000, t_max=3.0, seed=21)
    model = sfj.MLEstimator().fit(paths).fetch_model()
    _, holding, _ = paths.statistics()
    mask = dfr > 0
    mask.fill_diagonal_(False)
    # var(q_hat_ij) = q_ij / R_i asymptotically
    se = torch.sqrt(dfr / holding[:, None])[mask]
    z = ((model.generator - dfr)[mask] / se).numpy()
    assert np.max(np.abs(z)) < 4.5
    assert np.sqrt(np.mean(z**2)) < 1.6  # chi2_18 / 18 < 2.56 with probability > 0.999
    assert float((model.generator[~mask & ~torch.eye(6, dtype=torch.bool)]).abs().max()) == 0.0


def test_error_falls_as_paths_grow(dfr):
    errors = []
    for n in (50, 500, 5000):
        paths = sfj.simulate(dfr, n_paths=n, t_max=2.5, seed=n)
        errors.append(float(sfj.MLEstimator().fit(paths).fetch_model().rate_rmse(dfr)))
    # RMSE ~ n^-1/2: a factor sqrt(10) = 3.2 per step; demand at least half of it
    assert errors[0] > 1.6 * errors[1] > 1.6**2 * errors[2]


def test_batched_fit_equals_separate_fits():
    Q = sfj.random_generator(3, n_processes=2, seed=3)
    paths = sfj.simulate(Q, n_paths=30, t_max=5.0, seed=0)
    batched = sfj.MLEstimator().fit(paths).fetch_model().generator
    for b in range(2):
        one = sfj.JumpPaths(paths.times[b], paths.states[b], paths.n_jumps[b], 5.0, 3)
        assert torch.allclose(sfj.MLEstimator().fit(one).fetch_model().generator, batched[b], atol=1e-14)


def test_numpy_paths_give_numpy_models():
    paths = sfj.simulate(np.array([[-1.0, 1.0], [2.0, -2.0]], dtype=np.float32), n_paths=20, t_max=2.0, seed=0)
    model = sfj.MLEstimator().fit(paths).fetch_model()
    assert isinstance(model.generator, np.ndarray) and model.generator.dtype == np.float32


def test_bad_estimator_inputs():
    with pytest.raises(InputTypeError, match="EMEstimator"):
        sfj.MLEstimator().fit(sfj.Observations(np.zeros((1, 2)), np.zeros((1, 2), dtype=int), n_states=2))
    with pytest.raises(InputError, match="alpha"):
        sfj.MLEstimator(prior=(0.5, 1.0))
    with pytest.raises(InputError, match="estimate"):
        sfj.MLEstimator(estimate="median")
    with pytest.raises(NotFittedError, match="fit"):
        sfj.MLEstimator().fetch_model()
