"""``z_network="gradient"`` (Z = σᵀ∇u of a scalar network) and the trapezoidal driver rule, on small
problems with closed forms."""

import math

import numpy as np
import pytest
import torch

from stochflow.core.errors import InputError
from stochflow.xva import BSDE, CorrelatedGBM, DeepBSDESolver
from stochflow.xva.bsde import BSDEProblem
from stochflow.xva.forward import ScaledBrownianMotion
from stochflow.xva.networks import GradientZNet, Standardize
from stochflow.xva.solver import DeepBSDEModel

S, T, D = 1.0, 1.0, 2


def source_problem(n_steps):
    """``X = S W`` in ``D`` dimensions, ``g = |x|²``, driver ``f = |x|²`` (a running source):
    ``u(t, x) = (1 + T - t)|x|² + D S² ((T - t) + (T - t)²/2)``, so ``Y0 = D S² (T + T²/2)`` and
    ``Z = S ∇u = 2 S (1 + T - t) x``."""
    fwd = ScaledBrownianMotion([0.0] * D, S)
    return BSDE(fwd, lambda t, x, y, z: (x * x).sum(-1), lambda x: (x * x).sum(-1), T, n_steps)


EXACT_Y0 = D * S**2 * (T + T**2 / 2)


def test_gradient_network_is_the_gradient_of_its_potential():
    torch.manual_seed(0)
    net = GradientZNet(3, 2.0, Standardize(torch.randn(3), torch.rand(3) + 0.5), 5, 2, 0.7, skip=True).double()
    with torch.no_grad():
        net.skip_quadratic.normal_()
    t = torch.tensor([0.0, 0.5, 1.5], dtype=torch.float64)
    x = torch.randn(3, 4, 3, dtype=torch.float64, requires_grad=True)
    (expected,) = torch.autograd.grad(net.potential(t, x).sum(), x)
    torch.testing.assert_close(net(t, x), expected)


def test_gbm_diffusion_transpose_is_sigma_transpose():
    corr = np.array([[1.0, 0.5], [0.5, 1.0]])
    gbm = CorrelatedGBM([100.0, 90.0], [0.2, 0.3], [0.01, 0.01], corr=corr)
    x = torch.tensor([[110.0, 80.0]], dtype=torch.float64)
    v = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    sigma = np.diag([0.2 * 110.0, 0.3 * 80.0]) @ np.linalg.cholesky(corr)  # dX = σ dB, B independent
    np.testing.assert_allclose(gbm.diffusion_transpose(x, v)[0].numpy(), sigma.T @ v[0].numpy(), rtol=1e-12)


class _ZeroZ(torch.nn.Module):
    def forward(self, t, x):
        return torch.zeros(*x.shape[:2], D, dtype=x.dtype)


@pytest.mark.parametrize("rule", ["left", "trapezoid"])
def test_driver_rule_sums_the_driver_by_its_rule(rule):
    prob = source_problem(n_steps=4)
    paths = prob.sample(3, seed=0, dtype=torch.float64, device="cpu")
    ys, _ = DeepBSDEModel(_ZeroZ(), 0.0, driver_rule=rule).rollout(prob, paths)
    f = (paths.x * paths.x).sum(-1)  # (N + 1, B)
    dt = T / 4
    expected = f[:-1].sum(0) * dt if rule == "left" else 0.5 * (f[:-1] + f[1:]).sum(0) * dt
    torch.testing.assert_close(ys[-1], -expected)  # Y_N = Y_0 - Σ f Δt (no Z)


def test_gradient_z_with_trapezoid_matches_the_closed_form():
    prob = source_problem(n_steps=8)
    solver = DeepBSDESolver(z_network="gradient", skip=True, driver_rule="trapezoid", width=16, iterations=400,
                            batch_size=256, seed=0, dtype="float64")
    res = solver.solve(prob)
    # the trapezoid integrates E|X_t|² = D S² t exactly: no O(Δt) bias left (the left rule would give 2.875)
    assert abs(res.y0 - EXACT_Y0) < 0.03
    paths = prob.sample(2000, seed=9, dtype=torch.float64, device="cpu")
    _, z = res.rollout(prob, paths)
    exact = 2 * S * (1 + T - paths.t[:-1])[:, None, None] * paths.x[:-1]
    assert float(((z - exact) ** 2).mean().sqrt()) < 0.1 * float((exact**2).mean().sqrt())


def test_gradient_option_needs_a_shared_network_and_a_diffusion():
    with pytest.raises(InputError, match="shared"):
        DeepBSDESolver(z_network="gradient", network="per-step")
    with pytest.raises(InputError, match="z_network"):
        DeepBSDESolver(z_network="hessian")
    with pytest.raises(InputError, match="driver_rule"):
        DeepBSDESolver(driver_rule="midpoint")

    class NoDiffusion(BSDEProblem):
        maturity, n_steps, dim, noise_dim = 1.0, 2, 1, 1

        def sample(self, batch, *, seed, dtype, device, keys=()):
            return ScaledBrownianMotion([0.0], 1.0).sample(self.grid(dtype, device), batch, seed=seed, keys=keys)

        def driver(self, n, t, x, y, z, paths):
            return 0 * y

        def terminal(self, paths):
            return paths.x[-1, :, 0]

    with pytest.raises(InputError, match="diffusion"):
        DeepBSDESolver(z_network="gradient", iterations=1, batch_size=4).fit(NoDiffusion())


def test_left_rule_keeps_its_bias_on_the_same_problem():
    # the same problem and settings with the left rule: Y0 ≈ D S²(T + T²/2 (1 - 1/N)) = 2.875 at N = 8
    res = DeepBSDESolver(z_network="gradient", skip=True, width=16, iterations=400, batch_size=256, seed=0,
                         dtype="float64").solve(source_problem(n_steps=8))
    left = D * S**2 * (T + T**2 / 2 * (1 - 1 / 8))
    assert abs(res.y0 - left) < 0.03 and abs(res.y0 - EXACT_Y0) > 0.09
    assert math.isfinite(res.error_indicator)


def test_z_gain_is_one_learnable_factor_on_z():
    prob = source_problem(n_steps=4)
    opts = dict(iterations=2, batch_size=8, width=4, seed=0, dtype="float64")
    plain = DeepBSDESolver(**opts).solve(prob)
    gained = DeepBSDESolver(z_gain=True, **opts).solve(prob)
    count = lambda res: sum(p.numel() for p in res.model.parameters())  # noqa: E731
    assert count(gained) == count(plain) + 1
    paths = prob.sample(6, seed=1, dtype=torch.float64, device="cpu")
    _, z = gained.rollout(prob, paths)
    with torch.no_grad():
        gained.model.z_gain.mul_(2.0)
    _, z2 = gained.rollout(prob, paths)
    torch.testing.assert_close(z2, 2 * z)


def test_y0_scale_sets_the_step_scale_of_y0():
    prob = source_problem(n_steps=3)
    default = DeepBSDESolver(iterations=1, batch_size=8, width=4, seed=0).solve(prob)
    small = DeepBSDESolver(iterations=1, batch_size=8, width=4, seed=0, y0_scale=0.01).solve(prob)
    assert float(small.model.y0_scale) == pytest.approx(0.01)
    # one Adam step moves the raw parameter by the learning rate: Y0 by lr × scale
    assert abs(small.y0 - float(small.model.y0_offset)) == pytest.approx(1e-2 * 0.01, rel=1e-3)
    assert abs(default.y0 - float(default.model.y0_offset)) > 10 * abs(small.y0 - float(small.model.y0_offset))
