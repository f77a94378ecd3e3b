"""Resumable training of neural value functions (single process; the two-rank runs are in
integration_tests/test_distributed_rl.py)."""

from __future__ import annotations

import pytest
import torch

import stochflow.rl as sfr
from stochflow.core.errors import InputError


class Quadratic(torch.nn.Module):
    def __init__(self, constant: bool = True):
        super().__init__()
        self.constant = constant
        self.w = torch.nn.Parameter(torch.zeros(2 if constant else 1, dtype=torch.float64))

    def forward(self, x):
        return (self.w[0] + self.w[1] * x[..., 0] ** 2) if self.constant else self.w[0] * x[..., 0] ** 2


@pytest.fixture(scope="module")
def data():
    return sfr.envs.OUQuadratic().rollout(n_paths=40, t_max=2.0, dt=0.05, seed=11)


@pytest.mark.parametrize("make", [
    lambda m, **kw: sfr.MartingaleLoss(model=m, lr=0.05, batch_paths=10, seed=1, **kw),
    lambda m, **kw: sfr.TD(model=m, lam=0.5, lr=0.05, batch_paths=10, seed=1, **kw),
    lambda m, **kw: sfr.MSTDE(model=m, lr=0.05, batch_paths=10, seed=1, **kw),
], ids=["ml", "td", "mstde"])
def test_interrupted_and_resumed_training_equals_the_uninterrupted_one(tmp_path, data, make):
    whole = make(Quadratic(), epochs=60).fit(data)
    ckpt = tmp_path / "value.pt"
    first = make(Quadratic(), epochs=25, checkpoint=ckpt, checkpoint_every=10).fit(data)
    assert torch.load(ckpt, weights_only=False)["step"] == 25
    assert torch.equal(first.history_, whole.history_[:25])
    resumed = make(Quadratic(), epochs=60, checkpoint=ckpt, checkpoint_every=10).fit(data)
    assert torch.load(ckpt, weights_only=False)["step"] == 60
    assert torch.equal(resumed.model.w, whole.model.w)  # same batches, same Adam state: bit for bit
    assert torch.equal(resumed.history_, whole.history_)


def test_ergodic_rho_is_checkpointed_too(tmp_path):
    data = sfr.envs.OUQuadratic(ergodic=True).rollout(n_paths=20, t_max=2.0, dt=0.05, seed=2)
    whole = sfr.TD(model=Quadratic(constant=False), lr=0.05, epochs=40).fit(data)
    ckpt = tmp_path / "erg.pt"
    sfr.TD(model=Quadratic(constant=False), lr=0.05, epochs=15, checkpoint=ckpt).fit(data)
    resumed = sfr.TD(model=Quadratic(constant=False), lr=0.05, epochs=40, checkpoint=ckpt).fit(data)
    assert float(resumed.rho_) == float(whole.rho_) != 0.0
    assert torch.equal(resumed.model.w, whole.model.w)


def test_bad_checkpoint_settings(tmp_path, data):
    f = sfr.features.Polynomial(2, even=True)
    with pytest.raises(InputError, match="neural value"):
        sfr.TD(features=f, checkpoint=tmp_path / "x.pt").fit(data)
    with pytest.raises(InputError, match="checkpoint_every"):
        sfr.MartingaleLoss(model=Quadratic(), checkpoint_every=0).fit(data)
    with pytest.raises(InputError, match="path"):
        sfr.MartingaleLoss(model=Quadratic(), checkpoint=3).fit(data)
    other = tmp_path / "ml.pt"
    sfr.MartingaleLoss(model=Quadratic(), epochs=2, checkpoint=other).fit(data)
    with pytest.raises(InputError, match="MartingaleLoss"):  # a martingale-loss file is not a TD checkpoint
        sfr.TD(model=Quadratic(), epochs=4, checkpoint=other).fit(data)
