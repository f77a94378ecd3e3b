from __future__ import annotations

import math

import pytest
import torch

from stochflow.core.errors import InputError
from stochflow.rl import features as F


def test_polynomial_monomials_in_several_dimensions():
    x = torch.randn(5, 4, 2, dtype=torch.float64)
    p = F.Polynomial(3, scale=2.0)
    exps = torch.tensor(p.exponents(2), dtype=torch.float64)
    assert exps.shape == (10, 2) and exps.sum(-1).max() == 3
    assert torch.allclose(p(None, x), ((x / 2).unsqueeze(-2) ** exps).prod(-1))
    even = F.Polynomial(4, even=True, constant=False)
    assert even.exponents(1) == [(2,), (4,)] and not even.has_constant
    assert F.Polynomial(2).has_constant


def test_fourier_power_radial_and_time_state_values():
    x = torch.tensor([[0.3], [1.2]], dtype=torch.float32)
    four = F.Fourier([1.0, 2.0])(None, x)
    assert four.dtype == torch.float32 and four.shape == (2, 5)
    assert torch.allclose(four[1], torch.tensor([1.0, math.sin(1.2), math.sin(2.4), math.cos(1.2), math.cos(2.4)]))
    assert torch.allclose(F.Power([0.5, 2.0])(None, x)[1], torch.tensor([1.2**0.5, 1.44]))
    rbf = F.RadialBasis([0.0, 1.0], width=0.5, constant=False)(None, x)
    assert torch.allclose(rbf[0], torch.exp(-torch.tensor([0.09, 0.49]) / 0.5))
    ts = F.TimeState(F.Polynomial(2, even=True), F.TimeExponential([2.0], horizon=1.0))
    t = torch.tensor([0.0, 1.0])
    out = ts(t, x)
    assert out.shape == (2, 4)
    # time to go 1: (1, e^{-2}) x (1, x^2); at the horizon (1, 1) x (1, x^2)
    assert torch.allclose(out[0], torch.tensor([1.0, 0.09, math.exp(-2), math.exp(-2) * 0.09]))
    assert torch.allclose(out[1], torch.tensor([1.0, 1.44, 1.0, 1.44]))
    poly_t = F.TimeState(F.Polynomial(1), F.TimePolynomial(2, horizon=2.0))(torch.tensor([0.5]), x[:1])
    assert torch.allclose(poly_t, torch.tensor([[1.0, 0.3, 1.5, 0.45, 2.25, 0.675]]))


def test_feature_map_errors():
    with pytest.raises(InputError):
        F.Polynomial(0)
    with pytest.raises(InputError):
        F.Fourier([-1.0])
    with pytest.raises(InputError):
        F.RadialBasis([0.0], width=0.0)
    with pytest.raises(InputError, match="depends on time"):
        F.TimeState(F.Polynomial(2), F.TimePolynomial(1, horizon=1.0))(None, torch.zeros(3, 1))
    with pytest.raises(InputError):
        F.Polynomial(2, scale=-1.0)
