"""DSM training: a 2-D mixture learned within a CPU budget, resumable checkpoints, networks."""

import pytest
import torch

import stochflow.diffusion as sfd
from stochflow.core.errors import InputError, NotFittedError
from stochflow.diffusion.metrics import mode_weight_tv, sliced_w2
from stochflow.diffusion.nets import MLPScore, SmallUNet
from stochflow.diffusion.testing import GaussianMixture
from stochflow.diffusion.training import ScoreTrainer, dsm_loss, ema_decay_at

GM = GaussianMixture([1.0, 2.0, 3.0], [[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]], [0.1, 0.1, 0.2])


@pytest.mark.slow
def test_dsm_learns_2d_mixture_to_stated_sliced_w2():
    """Stated target: sliced W2 < 0.3 and mode-weight TV < 0.05 after 1500 Adam steps (≈10 CPU-seconds)."""
    torch.manual_seed(0)
    sde = sfd.VPSDE()
    data = GM.sample(5000, seed=0, dtype=torch.float32)
    ref = GM.sample(3000, seed=5)
    untrained = ScoreTrainer(sde, MLPScore(2), iterations=1, seed=0).fit(data).fetch_model()
    model = ScoreTrainer(sde, MLPScore(2), iterations=1500, seed=0).fit(data).fetch_model()
    with torch.no_grad():
        x = sfd.sample(model, sde, (3000, 2), "dpm-solver++2m", steps=50, seed=1).samples
        x0 = sfd.sample(untrained, sde, (3000, 2), "dpm-solver++2m", steps=50, seed=1).samples
    assert sliced_w2(x, ref) < 0.3 and mode_weight_tv(GM, x) < 0.05
    assert sliced_w2(x0, ref) > 1.0


def test_checkpoint_resume_is_exact(tmp_path):
    sde = sfd.VPSDE()
    data = GM.sample(500, seed=0, dtype=torch.float64)

    def net():
        torch.manual_seed(3)
        return MLPScore(2, hidden=16, layers=2)

    straight = ScoreTrainer(sde, net(), iterations=40, batch_size=32, seed=1).fit(data)
    ck = tmp_path / "dsm.pt"
    ScoreTrainer(sde, net(), iterations=20, batch_size=32, seed=1, checkpoint=ck, checkpoint_every=10).fit(data)
    resumed = ScoreTrainer(sde, net(), iterations=40, batch_size=32, seed=1, checkpoint=ck).fit(data)
    assert resumed.losses_ == straight.losses_[20:]
    for a, b in zip(straight.fetch_model().parameters(), resumed.fetch_model().parameters()):
        assert torch.equal(a, b)
    assert all(p.dtype == torch.float64 for p in resumed.fetch_model().parameters())


def test_weightings_and_bad_inputs(dtype):
    sde = sfd.VESDE()
    net = MLPScore(2, hidden=8, layers=1).to(dtype)
    x0 = GM.sample(16, seed=0, dtype=dtype)
    t = torch.full((16,), 0.5, dtype=dtype)
    z = torch.randn(16, 2, dtype=dtype)
    a = dsm_loss(net, sde, x0, t, z, "sigma2")
    b = dsm_loss(net, sde, x0, t, z, "likelihood")
    g2 = sde.schedule.diffusion2(t[:1]) / sde.schedule.sigma(t[:1]) ** 2
    torch.testing.assert_close(b, a * g2[0])
    with pytest.raises(InputError, match="weighting"):
        ScoreTrainer(sde, net, weighting="ml").fit(x0)
    with pytest.raises(InputError, match="iterations"):
        ScoreTrainer(sde, net, iterations=0).fit(x0)
    with pytest.raises(InputError, match="NaN"):
        ScoreTrainer(sde, net).fit(x0 * float("nan"))
    with pytest.raises(NotFittedError):
        ScoreTrainer(sde, net).fetch_model()


def test_small_unet_trains_on_images():
    sde = sfd.VPSDE()
    torch.manual_seed(0)
    unet = SmallUNet(channels=1, base=8, time_dim=16)
    imgs = torch.randn(32, 1, 8, 8)
    out = unet(imgs[:2], torch.rand(2))
    assert out.shape == (2, 1, 8, 8)
    tr = ScoreTrainer(sde, unet, iterations=3, batch_size=4).fit(imgs)
    score = tr.fetch_model()
    with torch.no_grad():
        s = sfd.sample(score, sde, (2, 1, 8, 8), "ddim", steps=2).samples
    assert s.shape == (2, 1, 8, 8) and torch.isfinite(s).all()
    with pytest.raises(InputError, match="divisible"):
        unet(torch.randn(1, 1, 6, 6), torch.rand(1))


def test_fit_under_distributed_data_parallel(tmp_path):
    """One-process gloo group: fit wraps the net in DDP unchanged and still learns (loss falls)."""
    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'pg'}", rank=0, world_size=1)
    try:
        torch.manual_seed(0)
        tr = ScoreTrainer(sfd.VPSDE(), MLPScore(2, hidden=32, layers=2), iterations=200, batch_size=64,
                          seed=0).fit(GM.sample(1000, seed=0, dtype=torch.float32))
    finally:
        dist.destroy_process_group()
    first, last = sum(tr.losses_[:20]) / 20, sum(tr.losses_[-20:]) / 20
    assert last < 0.7 * first


def test_ema_warms_up_so_a_short_run_is_not_its_random_init():
    # min(decay, (1 + k) / (10 + k)) at update k: after one step the EMA is 2/11 init + 9/11 trained
    assert [ema_decay_at(0.999, k) for k in (1, 90, 10**6)] == [2 / 11, 0.91, 0.999]
    assert ema_decay_at(0.5, 1) == 2 / 11 and ema_decay_at(0.5, 20) == 0.5
    torch.manual_seed(0)
    net = MLPScore(2, hidden=16)
    init = [p.detach().clone() for p in net.parameters()]
    data = torch.randn(64, 2, dtype=torch.float32)
    tr = ScoreTrainer(sfd.VPSDE(), net, iterations=1, batch_size=16, ema_decay=0.999, progress_bar=False).fit(data)
    ema = list(tr.fetch_model().parameters())
    assert len(ema) == len(init)
    for e, i, r in zip(ema, init, net.parameters()):
        assert torch.allclose(e, 2 / 11 * i + 9 / 11 * r.detach(), atol=1e-7)
