"""Parity with k-diffusion's own samplers on exactly matched grids (same x_T → same output).

k-diffusion samples in the EDM/VE coordinates x̃ = x/α_t, σ̃ = σ_t/α_t = e^{−λ_t} with a denoiser
D(x̃, σ̃); ours in the VP variable x on a grid of times t. The bridge (``benchmarks/kdiffusion_sampling.py``,
shared with the benchmark) gives k-diffusion the mixture's exact score as D(x̃, σ̃) = x̂₀(α_t x̃, t(σ̃)),
t(σ̃) = λ⁻¹(−log σ̃). Our grid is t_i = λ⁻¹(−log σ̃_i) for k-diffusion's own Karras sigmas σ̃_i, so both
take the same steps and, in exact arithmetic, the same path:

* ``ddim`` (η = 0) is ``sample_euler`` (no churn): x̃_t = x̂₀ + σ̃_t ε̂ = x̃_s + (σ̃_t − σ̃_s)(x̃_s − D)/σ̃_s;
* ``dpm-solver++2m`` is ``sample_dpmpp_2m``: (σ̃_t/σ̃_s) x̃_s − (e^{−h} − 1)[D + (D − D_prev)/(2r)], the
  VP form divided by α_t; both take a first-order first step. They differ only in the last step:
  k-diffusion lowers the order only on a step to σ̃ = 0, ours (``lower_order_final``, runs under 15
  steps) on the last step whatever it ends on. So they agree with ``lower_order_final=False`` or 15+
  steps; with ``lower_order_final=True`` ours equals k-diffusion's 2M up to the last node followed by one
  ``sample_euler`` step (a first-order DPM-Solver++ step is the Euler step in x̃), tested below;
* ``heun`` is ``sample_heun`` (no churn): the Euler predictor and trapezoidal corrector of dx̃/dσ̃ = ε̂.

k-diffusion's grids end with σ̃ = 0, which is no time of ours (t = 0 has σ = 0, outside [eps, T]); its
step to 0 returns D(x̃, σ̃_last) for all three samplers. Each test runs both ends: the grid without the
0 (σ̃_min last, no special step), and the grid with it, against ours followed by the data prediction
x̂₀ at the last time. Evaluations are counted on both sides and must match too.

k-diffusion's package ``__init__`` imports torchvision, which does not import beside this project's
pinned torch; the bridge loads its ``sampling.py`` and ``utils.py`` unchanged without it. The nox
``tests(diffusion)`` session installs k-diffusion (``--no-deps``) and the test extra lists what those
two files import, so these tests run in CI; they skip only where k-diffusion is not installed at all.
"""

import importlib.util
from pathlib import Path

import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.diffusion.testing import GaussianMixture

if importlib.util.find_spec("k_diffusion") is None:
    pytest.skip("k-diffusion is a parity anchor: pip install --no-deps -c constraints.txt k-diffusion==0.1.1.post1 "
                "(nox -s 'tests(diffusion)' installs it)", allow_module_level=True)


def _bridge():
    """benchmarks/kdiffusion_sampling.py, the one definition of how k-diffusion is loaded and called."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "kdiffusion_sampling.py"
    spec = importlib.util.spec_from_file_location("_stochflow_diffusion_kdiffusion_bridge", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BRIDGE = _bridge()
K, KVERSION = BRIDGE.load_sampling()  # a broken install fails here (collection error), never skips

D = 5
G = torch.Generator().manual_seed(0)
GM = GaussianMixture([0.3, 0.7], 2 * torch.randn(2, D, generator=G, dtype=torch.float64),
                     torch.rand(2, D, generator=G, dtype=torch.float64) * 0.2 + 0.01)
SDE = sfd.VPSDE()
TOL = {"rtol": 1e-12, "atol": 1e-12}


def _counted():
    """k-diffusion's model: the bridge's denoiser of the mixture, counting its calls."""
    return BRIDGE.CountedDenoiser(GM.score_fn(SDE), SDE)


def _setup(nodes, seed):
    """k-diffusion's Karras sigmas (``nodes`` nonzero σ̃ over our [eps, T], then 0), our times at those
    σ̃, and x̃_T = σ̃_max z (k-diffusion's start) with x_T = α_{t_0} x̃_T (ours)."""
    sigmas = BRIDGE.karras_sigmas(K, nodes, *BRIDGE.karras_sigma_range(SDE))
    grid = SDE.schedule.inverse_lambda(-torch.log(sigmas[:-1])).clamp(SDE.eps, SDE.T)
    z = torch.randn(16, D, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    xt_T = sigmas[0] * z
    return sigmas, grid, xt_T, SDE.schedule.alpha(grid[0]) * xt_T


def _ours(solver, grid, x_T, final, **options):
    """Ours in k-diffusion's coordinates: x̃ = x/α at the last time, or x̂₀ there when k-diffusion ends at 0."""
    res = sfd.sample(GM.score_fn(SDE), SDE, None, solver, x_T=x_T, grid=grid, **options)
    if final == "zero":
        return sfd.from_score(GM.score_fn(SDE), "data", SDE)(res.samples, grid[-1]), res.nfe + 1
    return res.samples / SDE.schedule.alpha(grid[-1]), res.nfe


def _theirs(fn, sigmas, xt_T, final):
    model = _counted()
    out = getattr(K, fn)(model, xt_T.clone(), sigmas if final == "zero" else sigmas[:-1], disable=True)
    return out, model.calls


@pytest.mark.parametrize("final", ["sigma_min", "zero"])
@pytest.mark.parametrize("nodes", [6, 13])
def test_ddim_is_kdiffusion_euler(nodes, final):
    sigmas, grid, xt_T, x_T = _setup(nodes, seed=nodes)
    ours, nfe = _ours("ddim", grid, x_T, final)
    theirs, calls = _theirs("sample_euler", sigmas, xt_T, final)
    assert nfe == calls == nodes - 1 + (final == "zero")
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize("final", ["sigma_min", "zero"])
@pytest.mark.parametrize("nodes,lower_order_final", [(7, False), (21, True), (21, False)])
def test_dpm_solver_pp_2m_is_kdiffusion_dpmpp_2m(nodes, lower_order_final, final):
    """Without lowering the order on our last step (off, or 20 steps ≥ 15 where ours never lowers it)."""
    sigmas, grid, xt_T, x_T = _setup(nodes, seed=10 + nodes)
    ours, nfe = _ours("dpm-solver++2m", grid, x_T, final, lower_order_final=lower_order_final)
    theirs, calls = _theirs("sample_dpmpp_2m", sigmas, xt_T, final)
    assert nfe == calls == nodes - 1 + (final == "zero")
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize("nodes", [4, 9])
def test_dpm_solver_pp_2m_lower_order_final_is_kdiffusion_2m_then_euler(nodes):
    """Ours with a first-order last step (lower_order_final, < 15 steps) = k-diffusion's 2M to the
    second-last node (which it reaches without evaluating D there), then its Euler step to the last."""
    sigmas, grid, xt_T, x_T = _setup(nodes, seed=20 + nodes)
    ours, nfe = _ours("dpm-solver++2m", grid, x_T, "sigma_min", lower_order_final=True)
    model = _counted()
    x = K.sample_dpmpp_2m(model, xt_T.clone(), sigmas[:-2], disable=True)
    theirs = K.sample_euler(model, x, sigmas[-3:-1], disable=True)
    assert nfe == model.calls == nodes - 1
    torch.testing.assert_close(ours, theirs, **TOL)
    full, _ = _theirs("sample_dpmpp_2m", sigmas, xt_T, "sigma_min")  # k-diffusion's plain 2M differs: a real case
    assert (ours - full).abs().max() > 1e-6


@pytest.mark.parametrize("final", ["sigma_min", "zero"])
@pytest.mark.parametrize("nodes", [4, 9])
def test_heun_is_kdiffusion_heun(nodes, final):
    sigmas, grid, xt_T, x_T = _setup(nodes, seed=30 + nodes)
    ours, nfe = _ours("heun", grid, x_T, final)
    theirs, calls = _theirs("sample_heun", sigmas, xt_T, final)
    assert nfe == calls == 2 * (nodes - 1) + (final == "zero")
    torch.testing.assert_close(ours, theirs, **TOL)


@pytest.mark.parametrize("nodes", [13, 21])
@pytest.mark.parametrize("solver,fn,options", [("ddim", "sample_euler", {}), ("heun", "sample_heun", {}),
                                               ("dpm-solver++2m", "sample_dpmpp_2m", {"lower_order_final": False})])
def test_float32_parity(solver, fn, options, nodes):
    """The same runs in float32 on both sides agree to float32 rounding: measured ≤ 6e-6 (outputs of size
    ≈ 5), as far as either float32 run lies from the float64 one. On 3-step grids (σ̃ 152 → 28 → 3 → 0.01)
    both float32 runs drift up to 5e-4 from float64 and from each other alike, so those are not used here."""
    sigmas, grid, xt_T, x_T = _setup(nodes, seed=40 + nodes)
    ours, _ = _ours(solver, grid, x_T.float(), "zero", **options)
    theirs, _ = _theirs(fn, sigmas.float(), xt_T.float(), "zero")
    assert ours.dtype == theirs.dtype == torch.float32
    torch.testing.assert_close(ours, theirs, rtol=1e-4, atol=1e-4)
