"""Conformance cases for the registry entries (see :mod:`stochflow.core.testing`)."""

from __future__ import annotations

import torch

from stochflow.core.testing import Case
from stochflow.graph import datasets
from stochflow.graph.batch import GraphBatch
from stochflow.graph.sampling import pc_sampler, s4_sampler
from stochflow.graph.sde import GraphPrior, GraphSDE
from stochflow.graph.testing import GaussianGraphModel

_GM = GaussianGraphModel([0.5, -1.0], [0.3, 0.1], 0.3, 0.2)


def _mask(device="cpu"):
    return torch.tensor([[True] * 5, [True] * 3 + [False] * 2], device=device)


def case_process():
    def run(*, backend, dtype, seed, device):
        dt = getattr(torch, dtype)
        sde = GraphSDE()
        b = _GM.sample(_mask(device), seed=0, dtype=dt)
        g = torch.Generator(device=device).manual_seed(seed)
        ex, ea = sde.noise(b.mask, 2, generator=g, dtype=dt, device=device)
        Xt, At = sde.perturb(b, 0.5, ex, ea)
        X0, A0 = sde.prior_sampling(b.mask, _GM.prior(), generator=g, dtype=dt)
        return Xt, At, X0, A0

    b = _GM.sample(_mask(), seed=0)
    return Case(run=run, bad_inputs=[
        lambda: GraphSDE(x="vp"),
        lambda: GraphSDE().marginal_prob(b, torch.zeros(3)),
        lambda: GraphSDE().prior_sampling(torch.ones(2, 3), _GM.prior()),
    ])


def _solver_case(fn):
    def run(*, backend, dtype, seed, device):
        sde = GraphSDE()
        out = fn(_GM.score_fn(sde), sde, _mask(device), _GM.prior(), steps=3, seed=seed, dtype=getattr(torch, dtype))
        return out.X, out.A

    sde = GraphSDE()
    score = _GM.score_fn(sde)
    return Case(run=run, bad_inputs=[
        lambda: fn(score, sde, _mask(), _GM.prior(), steps=0),
        lambda: fn(lambda X, A, m, t: (X[..., :1], A), sde, _mask(), _GM.prior(), steps=2),
        lambda: fn(lambda X, A, m, t: (X * float("nan"), A), sde, _mask(), _GM.prior(), steps=2),
        lambda: fn(score, sde, torch.ones(2, 5), _GM.prior(), steps=2),
        lambda: fn(score, "vp", _mask(), _GM.prior(), steps=2),
    ])


def case_pc():
    return _solver_case(pc_sampler)


def case_s4():
    return _solver_case(s4_sampler)


def case_gdss():
    from stochflow.graph.training import GDSSTrainer

    graphs = datasets.community_small(6, seed=0, min_nodes=6, max_nodes=8)

    def run(*, backend, dtype, seed, device):
        dt = getattr(torch, dtype)
        b = GraphBatch.from_networkx(graphs, dtype=dt, device=device)
        model = GDSSTrainer(size="tiny", iterations=2, batch_size=4, seed=seed, progress_bar=False).fit(b).fetch_model()
        with torch.no_grad():
            return model(b.X, b.A, b.mask, torch.full((len(b),), 0.5, dtype=dt, device=device))

    return Case(run=run, bad_inputs=[
        lambda: GDSSTrainer(iterations=0).fit(graphs),
        lambda: GDSSTrainer(prior="gaussian").fit(graphs),
        lambda: GDSSTrainer().fit([]),
        lambda: GDSSTrainer(max_nodes=4).fit(graphs),
        lambda: GDSSTrainer().fit("community-small"),
    ])


def _dataset_case(fn, **small):
    def run(*, backend, dtype, seed, device):
        return GraphBatch.from_networkx(fn(seed=seed, **small), dtype=getattr(torch, dtype), device=device)

    return Case(run=run, bad_inputs=[lambda: fn(**{**small, "n_graphs": 0}), lambda: fn(**{**small, "n_graphs": -3})])


def case_community_small():
    return _dataset_case(datasets.community_small, n_graphs=4)


def case_ego_small():
    return _dataset_case(datasets.ego_small, n_graphs=4, network_nodes=300)


def case_grid():
    return _dataset_case(datasets.grid, n_graphs=3, min_side=2, max_side=4)


def case_sbm():
    return _dataset_case(datasets.sbm, n_graphs=2, min_size=4, max_size=6)


def case_planar():
    return _dataset_case(datasets.planar, n_graphs=2, n_nodes=10)


__all__ = ["GraphPrior"]
