"""The PNAS test problems: drivers, terminals and the Cole–Hopf reference."""

import pytest
import torch

from stochflow.core.errors import InputError
from stochflow.xva.pnas import allen_cahn, black_scholes_default_risk, hjb, hjb_reference


def test_hjb_reference_reproduces_the_published_value_at_lambda_one():
    value, se = hjb_reference(100, 1.0, n_samples=1_000_000, seed=0)
    assert abs(value - 4.5901) < 4 * se + 5e-5  # PNAS quotes four digits


def test_hjb_reference_moves_away_from_the_mean_as_lambda_grows():
    mean_g, _ = hjb_reference(100, 1e-6, n_samples=200_000, seed=1)
    v10, se10 = hjb_reference(100, 10.0, n_samples=200_000, seed=1)
    assert mean_g - v10 > 0.02 * mean_g  # Jensen: -(1/λ) ln E e^{-λg} < E g, by more than 2% at λ = 10
    with pytest.raises(InputError):
        hjb_reference(100, -1.0)


def test_default_risk_driver_is_piecewise_linear_in_the_intensity():
    prob = black_scholes_default_risk(dim=3, n_steps=4)
    y = torch.tensor([40.0, 60.0, 80.0])
    z = torch.zeros(3, 3)
    gamma = torch.tensor([0.2, 0.11, 0.02])
    expected = -(1 / 3) * gamma * y - 0.02 * y
    torch.testing.assert_close(prob.f(0.0, None, y, z), expected)
    paths = prob.sample(5, seed=0, dtype=torch.float64, device="cpu")
    torch.testing.assert_close(prob.terminal(paths), paths.x[-1].min(-1).values)


def test_allen_cahn_and_hjb_shapes():
    for prob in (allen_cahn(dim=4, n_steps=3), hjb(dim=4, lam=2.0, n_steps=3)):
        paths = prob.sample(6, seed=0, dtype=torch.float32, device="cpu")
        assert paths.x.shape == (4, 6, 4) and prob.terminal(paths).shape == (6,)
        assert torch.all(paths.x[0] == 0)
