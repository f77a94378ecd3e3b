"""Bad inputs, adapters, reproducibility, dtypes, any data shape, the plugin."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import stochflow.diffusion as sfd
from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion.samplers import STOCHASTIC
from stochflow.diffusion.testing import GaussianMixture

GM = GaussianMixture([0.3, 0.7], [[-1.0, 0.5], [1.0, -0.5]], [[0.05, 0.1], [0.2, 0.3]])
VP = sfd.VPSDE()


def _counting(fn):
    calls = []

    def wrapped(x, t):
        calls.append(1)
        return fn(x, t)

    return wrapped, calls


@pytest.mark.parametrize("solver", sfd.SOLVERS)
def test_wrong_score_shape(solver):
    with pytest.raises(InputError, match="shape"):
        sfd.sample(lambda x, t: x[:, :1], VP, (4, 2), solver=solver, steps=3)


@pytest.mark.parametrize("solver", sfd.SOLVERS)
def test_nan_score_names_the_step(solver):
    def score(x, t):
        s = GM.score(x, t, VP)
        return s * float("nan") if float(t[0]) < 0.5 else s

    with pytest.raises(InputError, match=r"NaN or inf at step \d+ \(t="):
        sfd.sample(score, VP, (4, 2), solver=solver, steps=6, grid="uniform")


@given(st.integers(max_value=0))
@settings(max_examples=20, deadline=None)
def test_steps_below_one(steps):
    fn, calls = _counting(GM.score_fn(VP))
    with pytest.raises(InputError, match="steps must be >= 1"):
        sfd.sample(fn, VP, (4, 2), steps=steps)
    assert not calls


def test_bad_types_and_names():
    fn, calls = _counting(GM.score_fn(VP))
    with pytest.raises(InputError, match="dpm-solver\\+\\+2m") as e:
        sfd.sample(fn, VP, (4, 2), solver="dpm-solver++2", steps=3)
    assert "did you mean" in str(e.value) and "euler-maruyama" in str(e.value)
    with pytest.raises(InputTypeError):
        sfd.sample(fn, VP, (4, 2), steps=2.5)
    with pytest.raises(InputTypeError):
        sfd.sample(fn, "vp", (4, 2))
    with pytest.raises(InputError, match="options"):
        sfd.sample(fn, VP, (4, 2), solver="ddim", snr=0.1)
    with pytest.raises(InputError, match="time grid"):
        sfd.sample(fn, VP, (4, 2), grid="cosine")
    with pytest.raises(InputError, match="shape"):
        sfd.sample(fn, VP, (0, 2))
    with pytest.raises(InputTypeError, match="shape"):
        sfd.sample(fn, VP, None)
    assert not calls


@pytest.mark.parametrize("grid", [torch.tensor([1.0, 0.5, 1e-4]), torch.tensor([1.5, 0.5]),
                                  torch.tensor([0.5, 0.8]), torch.tensor([float("nan"), 0.5])])
def test_time_outside_interval(grid):
    fn, calls = _counting(GM.score_fn(VP))
    with pytest.raises(InputError):
        sfd.sample(fn, VP, (4, 2), grid=grid.double())
    assert not calls


def test_grid_end_points_checked():
    with pytest.raises(InputError, match="grid end points"):
        sfd.sample(GM.score_fn(VP), VP, (4, 2), eps=1e-6)
    with pytest.raises(InputError):
        sfd.time_grid(VP, 5, T=2.0)


def test_schedule_parameters_checked():
    with pytest.raises(InputError):
        sfd.VPSDE(beta_min=-1.0)
    with pytest.raises(InputError):
        sfd.VESDE(sigma_min=10.0, sigma_max=1.0)
    with pytest.raises(InputError):
        sfd.VPSDE(eps=0.0)
    with pytest.raises(InputError):
        GaussianMixture([1.0, -1.0], [[0.0], [1.0]], [1.0, 1.0])


@pytest.mark.parametrize("kind", ["noise", "data", "velocity"])
def test_adapters_round_trip(any_sde, kind):
    score = GM.score_fn(any_sde)
    model = sfd.from_score(score, kind, any_sde)
    back = sfd.to_score(model, kind, any_sde)
    x = torch.randn(9, 2, dtype=torch.float64)
    t = torch.rand(9, dtype=torch.float64) * 0.9 + 0.05
    torch.testing.assert_close(back(x, t), score(x, t))


def test_adapter_closed_forms_vp():
    """ε̂ = −σ s, x̂₀ by Tweedie, v = α ε − σ x₀ against the definitions."""
    x = torch.randn(5, 2, dtype=torch.float64)
    t = torch.full((5,), 0.3, dtype=torch.float64)
    a, s = VP.schedule.alpha(t)[:, None], VP.schedule.sigma(t)[:, None]
    sc = GM.score(x, t, VP)
    eps = sfd.from_score(GM.score_fn(VP), "noise", VP)(x, t)
    x0 = sfd.from_score(GM.score_fn(VP), "data", VP)(x, t)
    v = sfd.from_score(GM.score_fn(VP), "velocity", VP)(x, t)
    torch.testing.assert_close(eps, -s * sc)
    torch.testing.assert_close(a * x0 + s * eps, x)
    torch.testing.assert_close(v, a * eps - s * x0)


def test_edm_denoiser_adapter():
    """An EDM denoiser D(x̃, σ̃) built from the mixture's x̂₀ gives back the score (VP and VE)."""
    for sde in (VP, sfd.VESDE()):
        x0_model = sfd.from_score(GM.score_fn(sde), "data", sde)

        def denoiser(xs, sig, sde=sde, x0_model=x0_model):
            t = sde.schedule.inverse_lambda(-torch.log(sig))
            return x0_model(xs * sde.schedule.alpha(t)[:, None], t)

        score = sfd.to_score(denoiser, "edm", sde)
        x = torch.randn(6, 2, dtype=torch.float64)
        t = torch.full((6,), 0.4, dtype=torch.float64)
        torch.testing.assert_close(score(x, t), GM.score(x, t, sde))


def test_model_output_in_sample_matches_score():
    noise_model = sfd.from_score(GM.score_fn(VP), "noise", VP)
    a = sfd.sample(noise_model, VP, (16, 2), steps=8, model_output="noise", dtype=torch.float64).samples
    b = sfd.sample(GM.score_fn(VP), VP, (16, 2), steps=8, dtype=torch.float64).samples
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("solver", sfd.SOLVERS)
def test_seed_dtype_nfe(solver, dtype):
    a = sfd.sample(GM.score_fn(VP), VP, (32, 2), solver=solver, steps=4, seed=7, dtype=dtype)
    b = sfd.sample(GM.score_fn(VP), VP, (32, 2), solver=solver, steps=4, seed=7, dtype=dtype)
    c = sfd.sample(GM.score_fn(VP), VP, (32, 2), solver=solver, steps=4, seed=8, dtype=dtype)
    assert a.samples.dtype == dtype and a.samples.shape == (32, 2)
    assert torch.equal(a.samples, b.samples) and not torch.equal(a.samples, c.samples)
    per_step = sfd.evaluations_per_step(solver)
    assert a.nfe == (4 * per_step if per_step is not None else b.nfe) and a.times.shape == (5,)
    assert torch.isfinite(a.samples).all()


def test_stochastic_samplers_use_noise_beyond_the_prior():
    x_T = VP.prior_sampling((64, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for solver in ("euler-maruyama", "reverse-diffusion", "pc", "sde-dpm-solver++2m", "reverse-sde"):
        a = sfd.sample(GM.score_fn(VP), VP, None, solver, steps=5, seed=1, x_T=x_T).samples
        b = sfd.sample(GM.score_fn(VP), VP, None, solver, steps=5, seed=2, x_T=x_T).samples
        assert not torch.equal(a, b), solver
    a = sfd.sample(GM.score_fn(VP), VP, None, "ddim", steps=5, seed=1, x_T=x_T).samples
    b = sfd.sample(GM.score_fn(VP), VP, None, "ddim", steps=5, seed=2, x_T=x_T).samples
    assert torch.equal(a, b)


@pytest.mark.parametrize("solver", ["dpm-solver++2m", "heun", "pc", "mrs"])
def test_image_shapes_match_flattened(solver):
    """No image-only broadcasting: an (n, C, H, W) run equals the flattened vector run."""
    means = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    img = GaussianMixture([0.5, 0.5], means, [0.1, 0.2])
    vec = GaussianMixture([0.5, 0.5], means.reshape(2, -1), [0.1, 0.2])
    x_T = torch.randn(5, 2, 3, 3, dtype=torch.float64)
    a = sfd.sample(img.score_fn(VP), VP, None, solver, steps=4, seed=0, x_T=x_T).samples
    b = sfd.sample(vec.score_fn(VP), VP, None, solver, steps=4, seed=0, x_T=x_T.reshape(5, -1)).samples
    assert a.shape == x_T.shape
    torch.testing.assert_close(a.reshape(5, -1), b)


def test_mean_reverting_prior_centre():
    mu = torch.tensor([3.0, -2.0], dtype=torch.float64)
    sde = sfd.MeanRevertingSDE(mu=mu, stationary_std=0.5)
    z = sde.prior_sampling((20000, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(z.mean(0), mu, atol=0.02, rtol=0)
    assert math.isclose(float(z.std(0).mean()), 0.5 * sde.prior_std() / 0.5, rel_tol=0.03)


def test_conformance_kit():
    from stochflow.core.testing import check_plugin

    names = {e.name for e in check_plugin("stochflow-diffusion")}
    assert {f"diffusion-{s}" for s in sfd.SOLVERS} <= names and {"diffusion-vp", "diffusion-ve", "diffusion", "diffusion-mean-reverting"} <= names


def test_registry_orders_and_nfe():
    from stochflow.core import get_registry

    reg = get_registry()
    entries = {e.name: e for e in reg.plugin("stochflow-diffusion").entries}
    for name in sfd.SOLVERS:
        entry = entries[f"diffusion-{name}"]
        assert entry.property("nfe_per_step") == sfd.evaluations_per_step(name)
        assert entry.property("solver") == name and entry.applies_to == ("diffusion",)
    assert entries["diffusion-dpm-solver-3"].order("ode") == 3


def test_plugin_module_does_not_import_torch():
    import subprocess
    import sys

    code = "import sys, stochflow.diffusion._plugin as p; p.stochflow_solvers(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.gpu
@pytest.mark.parametrize("solver", ["dpm-solver++2m", "pc", "heun"])
def test_cuda_outputs_follow_device(solver):
    a = sfd.sample(GM.score_fn(VP), VP, (64, 2), solver=solver, steps=4, seed=0, device="cuda")
    assert a.samples.device.type == "cuda" and a.times.device.type == "cuda"


@pytest.mark.parametrize("solver", sfd.SOLVERS)
def test_every_sde_float32_finite_and_close_to_float64(any_sde, solver):
    x_T = any_sde.prior_sampling((16, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    score = GM.score_fn(any_sde)
    hi = sfd.sample(score, any_sde, None, solver, steps=6, seed=0, x_T=x_T).samples
    lo = sfd.sample(score, any_sde, None, solver, steps=6, seed=0, x_T=x_T.float()).samples
    assert lo.dtype == torch.float32 and torch.isfinite(lo).all()
    if solver not in STOCHASTIC:
        torch.testing.assert_close(lo.double(), hi, rtol=1e-3, atol=1e-3)


def test_samplers_through_stochflow_sde_take_its_methods_and_reject_others():
    x_T = VP.prior_sampling((64, 2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sra = sfd.sample(GM.score_fn(VP), VP, None, "reverse-sde", steps=5, seed=1, x_T=x_T, method="sra1")
    eul = sfd.sample(GM.score_fn(VP), VP, None, "reverse-sde", steps=5, seed=1, x_T=x_T)
    assert sra.nfe == 10 and eul.nfe == 5 and not torch.equal(sra.samples, eul.samples)
    rk4 = sfd.sample(GM.score_fn(VP), VP, None, "pf-ode", steps=5, x_T=x_T, method="rk4")
    same = sfd.sample(GM.score_fn(VP), VP, None, "pf-ode-rk4", steps=5, x_T=x_T)
    assert rk4.nfe == 20 and torch.equal(rk4.samples, same.samples)
    with pytest.raises(InputError, match="method"):
        sfd.sample(GM.score_fn(VP), VP, None, "reverse-sde", steps=5, x_T=x_T, method="heun")
    with pytest.raises(InputError, match="method"):
        sfd.sample(GM.score_fn(VP), VP, None, "pf-ode", x_T=x_T, method="euler")
