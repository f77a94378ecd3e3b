"""Parity with diffusers where the time grids can be matched exactly (same x_T → same output)."""

import math

import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.diffusion.schedule import Schedule
from stochflow.diffusion.sde import DiffusionSDE
from stochflow.diffusion.testing import GaussianMixture

diffusers = pytest.importorskip("diffusers", reason="diffusers is a parity anchor in the 'test' extra")

D = 5
G = torch.Generator().manual_seed(0)
GM = GaussianMixture([0.4, 0.6], torch.randn(2, D, generator=G, dtype=torch.float64),
                     torch.rand(2, D, generator=G, dtype=torch.float64) * 0.3 + 0.02)


class Tabulated(Schedule):
    """diffusers' discrete DDPM schedule at t = (k + 1)/1000 (grid points only)."""

    def __init__(self, alphas_cumprod):
        self.acp = alphas_cumprod.to(torch.float64)

    def _k(self, t):
        return torch.round(t * 1000).long() - 1

    def log_alpha(self, t):
        return 0.5 * torch.log(self.acp[self._k(t)])

    def sigma(self, t):
        return torch.sqrt(1 - self.acp[self._k(t)])


def _eps_model(x, alpha, sigma):
    return -sigma * GM.score_at(x, alpha, sigma)


@pytest.mark.parametrize("steps", [6, 20])
def test_dpm_solver_pp_2m_matches_diffusers(steps):
    sched = diffusers.DPMSolverMultistepScheduler(algorithm_type="dpmsolver++", solver_order=2,
                                                  final_sigmas_type="sigma_min", lower_order_final=True)
    ks = torch.linspace(999, 20, steps).round().long().tolist()
    sched.set_timesteps(timesteps=ks)
    x_T = torch.randn(16, D, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = x_T.clone()
    for t in sched.timesteps:
        s = float(sched.sigmas[sched.step_index if sched.step_index is not None else 0])
        a = 1 / math.sqrt(1 + s**2)
        x = sched.step(_eps_model(x, a, s * a), t, x).prev_sample
    sde = DiffusionSDE(Tabulated(sched.alphas_cumprod), T=1.0, eps=1e-3)
    grid = torch.tensor([(k + 1) / 1000 for k in ks] + [1e-3], dtype=torch.float64)
    ours = sfd.sample(lambda y, t: GM.score(y, t, sde), sde, None, "dpm-solver++2m", x_T=x_T, grid=grid).samples
    torch.testing.assert_close(ours, x, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("steps", [5, 12])
def test_ddim_matches_diffusers_euler_on_our_grid(steps):
    """DDIM is Euler in (x/α, σ/α); diffusers' EulerDiscrete with our σ̃ grid gives the same path."""
    sde = sfd.VPSDE()
    grid = sfd.time_grid(sde, steps, "logsnr")
    sig = torch.exp(-sde.schedule.lambda_(grid))
    sched = diffusers.EulerDiscreteScheduler()
    sched.set_timesteps(sigmas=sig.tolist())
    x_T = torch.randn(16, D, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = x_T / sde.schedule.alpha(grid[0])
    for i, t in enumerate(sched.timesteps[:steps]):
        s = float(sched.sigmas[i])
        a = 1 / math.sqrt(1 + s**2)
        xin = sched.scale_model_input(x, t)
        x = sched.step(_eps_model(xin, a, s * a), t, x).prev_sample
    ours = sfd.sample(GM.score_fn(sde), sde, None, "ddim", x_T=x_T, grid=grid).samples
    torch.testing.assert_close(ours, x * sde.schedule.alpha(grid[-1]), rtol=1e-5, atol=1e-5)


class SigmaTable(Schedule):
    """A diffusers scheduler's σ̃ table (``sched.sigmas``, σ̃ = σ/α) at t = 1 − k/len(table)."""

    def __init__(self, sigmas):
        self.sig = sigmas.to(torch.float64)

    def _k(self, t):
        return torch.round((1 - t) * len(self.sig)).long()

    def log_alpha(self, t):
        return -0.5 * torch.log1p(self.sig[self._k(t)] ** 2)

    def sigma(self, t):
        s = self.sig[self._k(t)]
        return s / torch.sqrt(1 + s**2)


@pytest.mark.parametrize("steps,order,variant,lower_order_final", [
    (5, 1, "bh2", True), (12, 2, "bh2", True), (12, 3, "bh2", True), (12, 2, "bh1", True), (12, 3, "bh1", True),
    (20, 3, "bh2", False), (20, 2, "bh1", True),
])
def test_unipc_matches_diffusers(steps, order, variant, lower_order_final):
    """Our grid is diffusers' own σ̃ table (ending at σ̃_min), so both take the same steps."""
    sched = diffusers.UniPCMultistepScheduler(solver_order=order, solver_type=variant, final_sigmas_type="sigma_min",
                                              lower_order_final=lower_order_final)
    sched.set_timesteps(steps)
    x_T = torch.randn(16, D, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    x = x_T.clone()
    for i, t in enumerate(sched.timesteps):
        s = float(sched.sigmas[i])
        a = 1 / math.sqrt(1 + s**2)
        x = sched.step(_eps_model(x, a, s * a), t, x).prev_sample
    n = len(sched.sigmas)
    sde = DiffusionSDE(SigmaTable(sched.sigmas), T=1.0, eps=1 / n)
    grid = torch.tensor([1 - k / n for k in range(n)], dtype=torch.float64)
    ours = sfd.sample(lambda y, t: GM.score(y, t, sde), sde, None, "unipc", x_T=x_T, grid=grid, order=order,
                      variant=variant, lower_order_final=lower_order_final)
    assert ours.nfe == steps
    # diffusers computes the step coefficients in float32; the paths differ by ~1e-7 here
    torch.testing.assert_close(ours.samples, x, rtol=1e-5, atol=1e-5)
