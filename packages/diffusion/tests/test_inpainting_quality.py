"""Inpainting, and sampler accuracy on a Gaussian mixture against the data-vs-data noise floor."""

import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion.inpainting import inpaint
from stochflow.diffusion.metrics import mode_weight_tv, sliced_w2
from stochflow.diffusion.testing import GaussianMixture


def test_inpaint_independent_coordinates(dtype):
    """With independent coordinates the fill must follow the unknown coordinate's own law."""
    gm = GaussianMixture([1.0], [[1.0, -2.0, 0.5]], [[0.5, 0.4, 0.1]])
    sde = sfd.VPSDE()
    xk = torch.tensor([[2.0, 0.0, -1.0]], dtype=dtype).repeat(3000, 1)
    mask = torch.tensor([1.0, 0.0, 1.0], dtype=dtype)
    out = inpaint(gm.score_fn(sde), sde, xk, mask, steps=200, seed=0)
    x = out.samples
    assert x.dtype == dtype and out.nfe == 200
    assert torch.equal(x[:, 0], xk[:, 0]) and torch.equal(x[:, 2], xk[:, 2])
    assert abs(float(x[:, 1].mean()) + 2.0) < 0.05 and abs(float(x[:, 1].var()) - 0.4) < 0.05


def test_inpaint_image_mask_and_bad_inputs():
    means = torch.randn(2, 1, 3, 3, dtype=torch.float64)
    gm = GaussianMixture([0.5, 0.5], means, [0.05, 0.05])
    sde = sfd.VESDE()
    xk = gm.sample(4, seed=1)
    mask = torch.zeros(1, 1, 3, 3, dtype=torch.float64)
    mask[..., :, 0] = 1
    out = inpaint(gm.score_fn(sde), sde, xk, mask, steps=5)
    assert out.samples.shape == xk.shape and torch.equal(out.samples[..., 0], xk[..., 0])
    with pytest.raises(InputError, match="broadcast"):
        inpaint(gm.score_fn(sde), sde, xk, torch.ones(2, 2), steps=5)
    with pytest.raises(InputError, match="only 0"):
        inpaint(gm.score_fn(sde), sde, xk, 0.5 * mask, steps=5)
    with pytest.raises(InputTypeError):
        inpaint(gm.score_fn(sde), sde, xk, [1, 0], steps=5)
    with pytest.raises(InputError, match="steps"):
        inpaint(gm.score_fn(sde), sde, xk, mask, steps=0)


@pytest.mark.slow
@pytest.mark.parametrize("solver", ["dpm-solver++2m", "ddim", "sde-dpm-solver++2m", "euler-maruyama",
                                    "reverse-diffusion", "pc", "heun", "dpm-solver-3", "mrs", "reverse-sde"])
def test_accuracy_shrinks_to_noise_floor(solver):
    gm = GaussianMixture([1.0, 2.0, 3.0], [[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]], [0.05, 0.1, 0.2])
    sde = sfd.VPSDE()
    n = 3000
    ref = gm.sample(n, seed=10)
    floors = [sliced_w2(gm.sample(n, seed=s), ref) for s in (11, 12, 13)]
    w = {}
    for steps in (3, 1000):
        x = sfd.sample(gm.score_fn(sde), sde, (n, 2), solver=solver, steps=steps, seed=0, dtype=torch.float64).samples
        w[steps] = (sliced_w2(x, ref), mode_weight_tv(gm, x))
    assert w[3][0] > 2 * max(floors)
    assert w[1000][0] < 1.5 * max(floors), (w, floors)
    assert w[1000][1] < 0.03
