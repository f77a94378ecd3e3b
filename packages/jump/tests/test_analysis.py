from __future__ import annotations

import numpy as np
import pytest
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError, InputTypeError


def two_state(a: float, b: float) -> torch.Tensor:
    return torch.tensor([[-a, a], [b, -b]], dtype=torch.float64)


def reversible_generator(n: int, seed: int) -> torch.Tensor:
    """``q_ij = s_ij sqrt(pi_j / pi_i)`` with ``s`` symmetric: detailed balance with respect to ``pi``."""
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(n))
    s = rng.uniform(0.2, 1.0, (n, n))
    s = (s + s.T) / 2
    rates = s * np.sqrt(pi[None, :] / pi[:, None])
    np.fill_diagonal(rates, 0.0)
    return torch.as_tensor(rates - np.diag(rates.sum(1))), torch.as_tensor(pi)


def test_two_state_closed_forms():
    a, b = 0.7, 2.3
    Q = two_state(a, b)
    np.testing.assert_allclose(sfj.stationary_distribution(Q).numpy(), [b / (a + b), a / (a + b)], atol=1e-14)
    np.testing.assert_allclose(sfj.relaxation_times(Q).numpy(), [1 / (a + b)], atol=1e-14)
    np.testing.assert_allclose(sfj.mean_first_passage_times(Q).numpy(), [[0, 1 / a], [1 / b, 0]], atol=1e-14)


def test_stationary_law_is_invariant_and_batched():
    Q = sfj.random_generator(5, n_processes=4, seed=1)
    pi = sfj.stationary_distribution(Q)
    assert pi.shape == (4, 5)
    assert torch.allclose(torch.einsum("bs,bst->bt", pi, Q), torch.zeros(4, 5, dtype=torch.float64), atol=1e-13)
    assert torch.allclose(pi.sum(-1), torch.ones(4, dtype=torch.float64))


def test_mean_first_passage_times_solve_the_backward_equation(dfr):
    m = sfj.mean_first_passage_times(dfr)
    # for i != j: 1 + sum_k q_ik m_kj = 0 (one step of first-step analysis)
    for j in range(6):
        for i in range(6):
            if i != j:
                assert 1 + float((dfr[i] * m[:, j]).sum()) == pytest.approx(0, abs=1e-12)
    # Kemeny's constant: sum_j pi_j m_ij is the same for every start i
    pi = sfj.stationary_distribution(dfr)
    kemeny = (m * pi[None, :]).sum(-1)
    assert torch.allclose(kemeny, kemeny[0].expand(6), atol=1e-12)


def test_relaxation_times_are_the_decay_of_correlations(dfr):
    tau = sfj.relaxation_times(dfr)
    assert tau.shape == (5,) and bool((tau[:-1] >= tau[1:]).all())
    # p(t) - pi decays like exp(-t / tau_1) for large t
    P = sfj.transition_matrix(dfr, torch.tensor([6.0, 7.0], dtype=torch.float64))
    pi = sfj.stationary_distribution(dfr)
    d6, d7 = ((P[k, 0] - pi).abs().max() for k in range(2))
    assert float(d7 / d6) == pytest.approx(np.exp(-1 / float(tau[0])), rel=1e-3)


def test_entropy_production_vanishes_exactly_under_detailed_balance():
    for seed in range(3):
        Q, _ = reversible_generator(4, seed)
        assert abs(float(sfj.entropy_production(Q))) < 1e-12
    assert abs(sfj.dfr_entropy_production(V=0.0, r=0.7, b=1.3)) < 1e-12


def test_entropy_production_of_a_driven_ring():
    # three states on a ring, rate kp clockwise and km counter-clockwise: pi uniform, net current
    # J = (kp - km) / 3 per edge, sigma = 3 J log(kp / km)
    kp, km = 2.0, 0.5
    rates = np.zeros((3, 3))
    for i in range(3):
        rates[i, (i + 1) % 3], rates[i, (i - 1) % 3] = kp, km
    Q = sfj.generator_from_rates(rates)
    assert float(sfj.entropy_production(Q)) == pytest.approx((kp - km) * np.log(kp / km), rel=1e-12)
    assert sfj.dfr_entropy_production(1.0, 1.0, 1.0) > 0.01
    irreversible = sfj.generator_from_rates(np.array([[0, 1.0, 0], [0, 0, 1.0], [1.0, 0, 0]]))
    assert float(sfj.entropy_production(irreversible)) == float("inf")


def test_hellinger_distance_is_small_for_the_truth_and_large_for_a_wrong_model(dfr):
    obs = sfj.simulate(dfr, n_paths=2000, t_max=2.5, seed=2).observe(20, grid="irregular", flip_prob=0.1, seed=3)
    p0 = torch.full((6,), 1 / 6, dtype=torch.float64)
    truth = sfj.MarkovJumpModel(dfr, p0, torch.tensor(0.1, dtype=torch.float64))
    wrong = sfj.MarkovJumpModel(sfj.dfr_generator(3.0, 0.2, 1.0), p0, torch.tensor(0.1, dtype=torch.float64))
    h_true, h_wrong = float(truth.hellinger_distance(obs)), float(wrong.hellinger_distance(obs))
    # 4000 labels per bin: the sampling Hellinger distance of a 6-bin histogram is about
    # sqrt(5 / (8 n)) = 0.0125
    assert h_true < 0.03
    assert h_wrong > 3 * h_true
    with pytest.raises(InputTypeError):
        sfj.hellinger_distance(dfr, obs)


def test_model_analyses_follow_the_generator_and_sample(dfr):
    model = sfj.MarkovJumpModel(dfr.numpy(), np.full(6, 1 / 6))
    assert isinstance(model.stationary_distribution(), np.ndarray)
    assert model.propagate([0.0, 1.0]).shape == (2, 6)
    assert model.transition_matrix(0.5).shape == (6, 6)
    paths = model.sample(10, 1.0, seed=0)
    assert isinstance(paths.times, np.ndarray) and paths.n_paths == 10
    np.testing.assert_allclose(model.dfr_parameters().V, 1.0, atol=1e-12)


def test_model_save_and_load_round_trip(tmp_path, dfr):
    obs = sfj.simulate(dfr, n_paths=20, t_max=2.5, seed=0).observe(10, grid="irregular", flip_prob=0.1, seed=1)
    model = sfj.EMEstimator(max_iter=5, progress=False).fit(obs).fetch_model()
    path = model.save(tmp_path / "m.json")
    back = sfj.MarkovJumpModel.load(path)
    assert torch.allclose(back.generator, model.generator)
    assert torch.allclose(back.initial_distribution, model.initial_distribution)
    assert float(back.flip_prob) == pytest.approx(float(model.flip_prob))
    assert back.n_iter == model.n_iter
    bad = tmp_path / "bad.json"
    bad.write_text('{"generator": [[0]]}')
    with pytest.raises(InputError, match="stamp"):
        sfj.MarkovJumpModel.load(bad)
    with pytest.raises(InputError, match="cannot read"):
        sfj.MarkovJumpModel.load(tmp_path / "missing.json")
