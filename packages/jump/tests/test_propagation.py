from __future__ import annotations

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import torch

import stochflow.jump as sfj
from stochflow.core.errors import InputError


@pytest.mark.parametrize("method", ["uniformization", "expm"])
def test_transition_matrix_equals_scipy_expm(dfr, method):
    times = torch.tensor([0.0, 0.01, 0.3, 2.0, 7.5], dtype=torch.float64)
    P = sfj.transition_matrix(dfr, times, method=method)
    assert P.shape == (5, 6, 6)
    for k, t in enumerate(times.tolist()):
        np.testing.assert_allclose(P[k].numpy(), scipy.linalg.expm(dfr.numpy() * t), atol=1e-12)


def test_transition_matrix_is_batched_and_follows_numpy():
    Q = sfj.random_generator(4, n_processes=3, seed=0).numpy()
    P = sfj.transition_matrix(Q, 0.8)
    assert isinstance(P, np.ndarray) and P.shape == (3, 4, 4)
    for b in range(3):
        np.testing.assert_allclose(P[b], scipy.linalg.expm(Q[b] * 0.8), atol=1e-12)
    P32 = sfj.transition_matrix(torch.as_tensor(Q, dtype=torch.float32), 0.8)
    assert P32.dtype == torch.float32


def test_propagate_is_p0_times_expm(dfr):
    p0 = torch.tensor([1.0, 0, 0, 0, 0, 0], dtype=torch.float64)
    p = sfj.propagate(p0, dfr, [0.5, 1.0])
    np.testing.assert_allclose(p[1].numpy(), scipy.linalg.expm(dfr.numpy())[0], atol=1e-12)
    np.testing.assert_allclose(p.sum(-1).numpy(), 1.0, atol=1e-12)


@pytest.mark.parametrize("method", ["expm", "uniformization"])
def test_van_loan_integrals_against_quadrature(method):
    Q = sfj.random_generator(3, seed=5).numpy()
    t = 0.9
    I = sfj.transition_integrals(Q, t, method=method)
    for (i, j, a, b) in [(0, 0, 0, 0), (0, 1, 0, 1), (2, 1, 0, 2), (1, 2, 2, 1), (2, 2, 1, 0)]:
        f = lambda s, i=i, j=j, a=a, b=b: scipy.linalg.expm(Q * s)[a, i] * scipy.linalg.expm(Q * (t - s))[j, b]
        ref, err = scipy.integrate.quad(f, 0.0, t, epsabs=1e-13, epsrel=1e-12)
        assert I[i, j, a, b] == pytest.approx(ref, abs=1e-11)


def test_expected_holding_times_add_up_to_the_interval(dfr):
    # sum_i I^{ii}_ab(t) = t P_ab(t): the time spent in all states is the whole interval
    t = 0.7
    I = sfj.transition_integrals(dfr, t, method="uniformization")
    total = torch.einsum("iiab->ab", I)
    np.testing.assert_allclose(total.numpy(), t * scipy.linalg.expm(dfr.numpy() * t), atol=1e-12)
    # and both methods agree
    np.testing.assert_allclose(I.numpy(), sfj.transition_integrals(dfr, t, method="expm").numpy(), atol=1e-12)


def test_bad_times_and_methods_raise():
    Q = np.array([[-1.0, 1.0], [2.0, -2.0]])
    with pytest.raises(InputError, match=">= 0"):
        sfj.transition_matrix(Q, -0.1)
    with pytest.raises(InputError, match="did you mean"):
        sfj.transition_matrix(Q, 1.0, method="uniformisation")
    with pytest.raises(InputError, match="1-d"):
        sfj.transition_matrix(Q, np.zeros((2, 2)))
