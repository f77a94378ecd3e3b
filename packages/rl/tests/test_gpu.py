"""On CUDA, unchanged: data, estimates and values stay on the device (run with `nox -s gpu`)."""

from __future__ import annotations

import pytest
import torch

import stochflow.rl as sfr


@pytest.mark.gpu
def test_everything_follows_the_device():
    env = sfr.envs.OUQuadratic()
    data = env.rollout(n_paths=200, t_max=5.0, dt=0.05, seed=0, device="cuda")
    assert data.states.is_cuda and data.times.is_cuda
    x = env.grid(5).cuda()
    cpu = env.rollout(n_paths=200, t_max=5.0, dt=0.05, seed=0)
    for make in (lambda: sfr.LSTD(features=env.exact_features(), lam=0.5),
                 lambda: sfr.TD(features=env.exact_features(), epochs=100),
                 lambda: sfr.MartingaleLoss(features=env.exact_features()),
                 lambda: sfr.GTD(features=env.exact_features(), epochs=100),
                 lambda: sfr.MSTDE(features=env.exact_features())):
        v = make().fit(data).value(x)
        assert v.is_cuda
        # the same numbers as on the CPU (same seed, same paths)
        assert torch.allclose(v.cpu(), make().fit(cpu).value(x.cpu()), rtol=1e-8)
    net = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1)).double().cuda()
    assert sfr.TD(model=net, epochs=5).fit(data).value(x).is_cuda
