"""Conformance cases for the registry entries (see :mod:`stochflow.core.testing`)."""

from __future__ import annotations

import torch

from stochflow.core.testing import Case
from stochflow.diffusion.samplers import SAMPLERS, STOCHASTIC
from stochflow.diffusion.sampling import sample
from stochflow.diffusion.sde import VESDE, VPSDE, MeanRevertingSDE, SubVPSDE
from stochflow.diffusion.testing import GaussianMixture

_GM = GaussianMixture([0.3, 0.7], [[-1.0, 0.5], [1.0, -0.5]], [0.05, 0.2])


def _process_case(make):
    def run(*, backend, dtype, seed, device):
        sde = make()
        dt = getattr(torch, dtype)
        g = torch.Generator(device=device).manual_seed(seed)
        x0 = torch.randn(4, 2, generator=g, dtype=dt, device=device)
        t = torch.full((4,), 0.5, dtype=dt, device=device)
        mean, std = sde.marginal_prob(x0, t)
        prior = sde.prior_sampling((4, 2), generator=g, dtype=dt, device=device)
        return mean, std, prior, sde.prior_logp(prior), sde.sde(x0, t)[0]

    return Case(run=run, bad_inputs=[lambda: make().marginal_prob(torch.zeros(3, 2), torch.zeros(2)),
                                     lambda: make().prior_sampling((0, 2)),
                                     lambda: make().marginal_prob([1.0, 2.0], 0.5)])


def case_vp():
    return _process_case(VPSDE)


def case_ve():
    return _process_case(VESDE)


def case_subvp():
    return _process_case(SubVPSDE)


def case_mean_reverting():
    return _process_case(lambda: MeanRevertingSDE(mu=0.5))


def _solver_case(name):
    def run(*, backend, dtype, seed, device):
        sde = VPSDE()
        out = sample(_GM.score_fn(sde), sde, (8, 2), solver=name, steps=3, seed=seed, dtype=getattr(torch, dtype),
                     device=device)
        return out.samples

    sde = VPSDE()
    score = _GM.score_fn(sde)
    return Case(run=run, stochastic=True, bad_inputs=[
        lambda: sample(score, sde, (8, 2), solver=name, steps=0),
        lambda: sample(lambda x, t: x[:, :1], sde, (8, 2), solver=name, steps=2),
        lambda: sample(lambda x, t: x * float("nan"), sde, (8, 2), solver=name, steps=2),
        lambda: sample(score, sde, (8, 2), solver=name, grid=torch.tensor([2.0, 0.5])),
    ])


def case_dsm():
    from stochflow.diffusion.nets import MLPScore
    from stochflow.diffusion.training import ScoreTrainer

    def run(*, backend, dtype, seed, device):
        dt = getattr(torch, dtype)
        torch.manual_seed(0)
        data = _GM.sample(64, seed=0, dtype=dt, device=device)
        model = ScoreTrainer(VPSDE(), MLPScore(2, hidden=8, layers=1), iterations=2, batch_size=8,
                             seed=seed).fit(data).fetch_model()
        with torch.no_grad():
            return model(data[:4], torch.full((4,), 0.5, dtype=dt, device=device))

    data = _GM.sample(8, seed=0)
    return Case(run=run, bad_inputs=[
        lambda: ScoreTrainer(VPSDE(), MLPScore(2), weighting="uniform").fit(data),
        lambda: ScoreTrainer(VPSDE(), MLPScore(2), iterations=0).fit(data),
        lambda: ScoreTrainer("vp", MLPScore(2)).fit(data),
    ])


for _name in SAMPLERS:
    globals()[f"case_solver_{_name.replace('-', '_').replace('+', 'p')}"] = (lambda n: lambda: _solver_case(n))(_name)

__all__ = ["STOCHASTIC"]
