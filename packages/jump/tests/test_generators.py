from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import stochflow.jump as sfj
from stochflow.core.errors import InputError, InputTypeError


def test_dfr_structure_matches_its_definition():
    V, r, b = 1.3, 0.7, 0.4
    Q = sfj.dfr_generator(V, r, b)
    assert Q.shape == (6, 6) and Q.dtype == torch.float64
    for i in range(3):
        for j in range(3):
            if i != j:
                assert Q[i, j] == pytest.approx(np.exp(-V * (j - i) / 2), rel=1e-14)
                assert Q[3 + i, 3 + j] == pytest.approx(b)
        assert Q[i, i + 3] == pytest.approx(r) and Q[i + 3, i] == pytest.approx(r)
    assert torch.allclose(Q.sum(-1), torch.zeros(6, dtype=torch.float64), atol=1e-14)
    assert int((Q == 0).sum()) == 12  # no direct jumps between on-site i and off-site j != i


def test_dfr_parameters_recover_a_batch_exactly():
    V = torch.tensor([0.0, 1.0, 2.0, 3.0], dtype=torch.float64)
    Q = sfj.dfr_generator(V, torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=torch.float64), 0.3)
    assert Q.shape == (4, 6, 6)
    est = sfj.dfr_parameters(Q)
    assert torch.allclose(est.V, V, atol=1e-12)
    assert sfj.dfr_generator(V.float(), 1.0, 1.0).dtype == torch.float32
    assert torch.allclose(est.r, torch.tensor([0.5, 1.0, 1.5, 2.0], dtype=torch.float64), atol=1e-12)
    assert torch.allclose(est.b, torch.full((4,), 0.3, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("bad, match", [
    (np.array([[-1.0, 1.0], [0.5, -0.4]]), "sums to"),
    (np.array([[1.0, -1.0], [0.5, -0.5]]), "negative off-diagonal"),
    (np.array([[-1.0, 1.0, 0.0]]), "square"),
    (np.array([[0.0]]), "at least 2 states"),
    (np.array([[-np.nan, 1.0], [1.0, -1.0]]), "NaN"),
])
def test_bad_generators_are_rejected_with_a_reason(bad, match):
    with pytest.raises(InputError, match=match):
        sfj.validate_generator(bad)


def test_bad_types_raise_input_type_error():
    with pytest.raises(InputTypeError):
        sfj.validate_generator("not a matrix")
    with pytest.raises(InputTypeError):
        sfj.dfr_generator(True)


def test_generator_from_rates_sets_the_diagonal_and_follows_numpy():
    rates = np.array([[5.0, 1.0, 2.0], [0.5, 0.0, 0.0], [0.0, 3.0, 9.0]])
    Q = sfj.generator_from_rates(rates)
    assert isinstance(Q, np.ndarray)
    np.testing.assert_allclose(Q.sum(1), 0.0, atol=1e-15)
    np.testing.assert_allclose(np.diag(Q), [-3.0, -0.5, -3.0])


def test_random_prior_draws_valid_irreducible_generators_reproducibly():
    prior = sfj.GeneratorPrior()
    Q, p0 = prior.sample(400, n_states=5, seed=3)
    sfj.validate_generator(Q)
    off = sfj.generators.off_diagonal(Q)
    assert bool((off >= 0).all()) and bool((off <= 1).all())
    # irreducible: a unique stationary law with every state visited
    pi = sfj.stationary_distribution(Q)
    assert bool((pi > 0).all())
    assert torch.allclose(p0.sum(-1), torch.ones(400, dtype=torch.float64))
    # fully connected with probability 1/2 (+ the chance that a sparse draw has every edge):
    # the share is binomial; 5 standard errors
    full = float((off > 0).all(-1).double().mean())
    p_full = 0.5 + 0.5 * (0.5 ** (20 - 5))  # a sparse draw has its 5 cycle edges; 15 others at 1/2
    assert abs(full - p_full) < 5 * np.sqrt(p_full * (1 - p_full) / 400)
    Q2, _ = prior.sample(400, n_states=5, seed=3)
    assert torch.equal(Q, Q2)
    assert not torch.equal(Q, prior.sample(400, n_states=5, seed=4)[0])


def test_random_generator_draws_the_number_of_states_from_the_range():
    sizes = {sfj.random_generator(seed=s).shape[-1] for s in range(40)}
    assert sizes <= set(range(2, 7)) and len(sizes) >= 4


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(0, 10_000))
def test_prior_always_gives_generators(n, seed):
    Q = sfj.random_generator(n, n_processes=3, seed=seed)
    sfj.validate_generator(Q)
