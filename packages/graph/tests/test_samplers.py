"""Samplers against the exact score of Gaussian graph data: output moments match the data's."""

from __future__ import annotations

import pytest
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion.sde import VESDE, VPSDE
from stochflow.graph.batch import pair_mask
from stochflow.graph.sampling import node_masks, pc_sampler, quantize, s4_sampler, sample, sample_node_counts
from stochflow.graph.sde import GraphSDE
from stochflow.graph.testing import GaussianGraphModel

GM = GaussianGraphModel([0.5, -1.0], [0.3, 0.05], 0.3, 0.2)
SDES = {
    "vp-gdss": lambda: GraphSDE(VPSDE(0.1, 1.0), VPSDE(0.1, 1.0)),
    "vp-20": lambda: GraphSDE(VPSDE(0.1, 20.0), VPSDE(0.1, 20.0)),
    "vp-ve": lambda: GraphSDE(VPSDE(0.1, 1.0), VESDE(0.2, 3.0)),
}
RUNS = [
    ("graph-pc", {"snr": 0.16}),
    ("graph-pc", {"predictor": "euler-maruyama", "n_corrector": 0}),
    ("graph-s4", {"snr": 0.16}),
]


def _mask(B):
    m = torch.ones(B, 8, dtype=torch.bool)
    m[::2, 6:] = False
    return m


@pytest.mark.parametrize("sde_name", list(SDES))
@pytest.mark.parametrize("solver, opts", RUNS, ids=["pc-rd", "em", "s4"])
def test_sampled_moments_match_the_data(sde_name, solver, opts):
    sde = SDES[sde_name]()
    mask = _mask(300)
    out = sample(GM.score_fn(sde), sde, mask, GM.prior(), solver=solver, steps=100, seed=1, dtype=torch.float64,
                 **opts)
    X, A = out.X[mask], out.A[pair_mask(mask)]
    # the samplers stop at t = eps, where the marginal is N(α m, α² v + σ²) (σ_eps = 0.2 for this VE)
    eps = torch.tensor(sde.eps, dtype=torch.float64)
    ax, sx = sde.coefficients("x", eps)
    aa, sa = sde.coefficients("a", eps)
    # ~2100 node features and ~6300 edge entries: standard errors ≈ 0.012 and 0.006 for the means
    assert torch.allclose(X.mean(0), ax * GM.mean_x, atol=0.05)
    assert torch.allclose(X.var(0), ax**2 * GM.var_x + sx**2, rtol=0.12)
    assert float(A.mean()) == pytest.approx(float(aa) * GM.mean_a, abs=0.03)
    assert float(A.var()) == pytest.approx(float(aa**2 * GM.var_a + sa**2), rel=0.1)
    assert out.nfe == 100 * (1 if solver == "graph-s4" else 1 + opts.get("n_corrector", 1))


def test_a_wrong_prior_or_too_few_steps_is_detected():
    """The moment test has teeth: the same checks fail for a sampler started from a shifted prior
    with one step."""
    sde = SDES["vp-gdss"]()
    wrong = GaussianGraphModel([2.0, 1.0], [0.3, 0.05], 1.0, 0.2)
    out = pc_sampler(GM.score_fn(sde), sde, _mask(200), wrong.prior(), steps=1, seed=0, dtype=torch.float64)
    X = out.X[_mask(200)]
    assert not torch.allclose(X.mean(0), GM.mean_x, atol=0.05)


@pytest.mark.parametrize("fn", [pc_sampler, s4_sampler])
def test_samples_are_symmetric_zero_diagonal_masked_and_seeded(fn):
    sde = SDES["vp-ve"]()
    mask = _mask(6)
    a = fn(GM.score_fn(sde), sde, mask, GM.prior(), steps=10, seed=3)
    b = fn(GM.score_fn(sde), sde, mask, GM.prior(), steps=10, seed=3)
    c = fn(GM.score_fn(sde), sde, mask, GM.prior(), steps=10, seed=4)
    assert torch.equal(a.A, b.A) and torch.equal(a.X, b.X) and not torch.equal(a.A, c.A)
    assert torch.equal(a.A, a.A.transpose(1, 2)) and a.A.diagonal(dim1=1, dim2=2).abs().max() == 0
    assert a.A[~pair_mask(mask)].abs().max() == 0 and a.X[~mask].abs().max() == 0
    graphs = a.graphs(threshold=0.3)
    assert [g.number_of_nodes() for g in graphs] == mask.sum(1).tolist()
    q = a.batch(threshold=0.3).A
    assert set(q.unique().tolist()) <= {0.0, 1.0}
    assert sum(g.number_of_edges() for g in graphs) == int(q.sum()) // 2


def test_post_processing_helpers():
    A = torch.tensor([[[0.0, 0.7, 0.2], [0.7, 0.0, 0.9], [0.2, 0.9, 0.0]]])
    m = torch.tensor([[True, True, False]])
    assert quantize(A, m).tolist() == [[[0, 1, 0], [1, 0, 0], [0, 0, 0]]]
    assert node_masks(torch.tensor([1, 3]), 4).tolist() == [[True, False, False, False], [True, True, True, False]]
    counts = sample_node_counts([12, 12, 12, 20], 4000, generator=torch.Generator().manual_seed(0))
    assert set(counts.tolist()) == {12, 20} and abs(float((counts == 12).float().mean()) - 0.75) < 0.03
    with pytest.raises(InputError):
        node_masks(torch.tensor([0, 3]), 4)
    with pytest.raises(InputError):
        sample_node_counts([], 3)


def test_bad_sampler_inputs():
    sde = GraphSDE()
    s = GM.score_fn(sde)
    m = _mask(2)
    with pytest.raises(InputError, match="steps"):
        pc_sampler(s, sde, m, GM.prior(), steps=0)
    with pytest.raises(InputError, match="shapes"):
        s4_sampler(lambda X, A, mk, t: (X[..., :1], A), sde, m, GM.prior(), steps=2)
    with pytest.raises(InputError, match="NaN"):
        s4_sampler(lambda X, A, mk, t: (X, A * float("nan")), sde, m, GM.prior(), steps=2)
    with pytest.raises(InputError, match="all False"):
        pc_sampler(s, sde, torch.zeros(2, 4, dtype=torch.bool), GM.prior(), steps=2)
    with pytest.raises(InputError, match="predictor"):
        pc_sampler(s, sde, m, GM.prior(), steps=2, predictor="heun")
    with pytest.raises(InputError, match="did you mean"):
        sample(s, sde, m, GM.prior(), solver="graph-s5")
    with pytest.raises(InputTypeError):
        pc_sampler(s, sde, m, {"mean": 0}, steps=2)


@pytest.fixture(scope="module")
def few_graphs():
    from stochflow.graph import datasets
    from stochflow.graph.batch import GraphBatch

    return GraphBatch.from_networkx(datasets.community_small(6, seed=1, min_nodes=6, max_nodes=7), dtype=torch.float64)


def _matches(out, data):
    """For each sample: the index of the data graph it equals after thresholding at 0.5 (or -1)."""
    q = out.batch().A
    hits = []
    for i in range(len(q)):
        same = [k for k in range(len(data)) if torch.equal(data.mask[k], out.mask[i]) and torch.equal(data.A[k], q[i])]
        hits.append(same[0] if same else -1)
    return hits


@pytest.mark.parametrize("sde_name", ["vp-gdss", "vp-20"])
@pytest.mark.parametrize("solver, opts", [("graph-pc", {"snr": 0.05, "scale_eps": 0.7}),
                                          ("graph-pc", {"predictor": "euler-maruyama", "n_corrector": 0}),
                                          ("graph-s4", {"snr": 0.05, "scale_eps": 0.7})], ids=["pc-rd", "em", "s4"])
def test_the_exact_score_of_a_few_graphs_returns_those_graphs(few_graphs, sde_name, solver, opts):
    """With the exact score of the noised empirical law of 6 graphs (a Gaussian mixture), the chain
    prior → sampler → threshold must return training graphs: adjacency exactly, node features (one-hot
    degrees) by their argmax, final entries near 0/1. This checks the prior, time grid, signs, score
    scaling and post-processing together; a defect there (or a score off by a factor) fails it."""
    from stochflow.graph.sde import GraphPrior
    from stochflow.graph.testing import EmpiricalGraphModel

    sde = SDES[sde_name]()
    model = EmpiricalGraphModel(few_graphs)
    mask = few_graphs.mask.repeat(3, 1)
    out = sample(model.score_fn(sde), sde, mask, GraphPrior.from_batch(few_graphs), solver=solver, steps=100, seed=2,
                 dtype=torch.float64, **opts)
    hits = _matches(out, few_graphs)
    assert -1 not in hits, hits
    assert len(set(hits)) > 1  # not one graph for every start
    A = out.A[pair_mask(mask)]
    assert torch.minimum(A.abs(), (A - 1).abs()).max() < 0.2
    assert torch.equal(out.X.argmax(-1)[mask], few_graphs.X[hits].argmax(-1)[mask])


def test_a_score_scaled_wrongly_does_not_return_the_graphs(few_graphs):
    """The test above has teeth: the ε-prediction used as the score (−ε̂ instead of −ε̂/σ_t, a
    score-scaling mistake) fails it."""
    from stochflow.graph.sde import GraphPrior
    from stochflow.graph.testing import EmpiricalGraphModel

    sde = SDES["vp-20"]()
    exact = EmpiricalGraphModel(few_graphs).score_fn(sde)

    def eps_as_score(X, A, mask, t):
        sX, sA = exact(X, A, mask, t)
        return sX * sde.coefficients("x", t)[1][:, None, None], sA * sde.coefficients("a", t)[1][:, None, None]

    mask = few_graphs.mask.repeat(3, 1)
    out = sample(eps_as_score, sde, mask, GraphPrior.from_batch(few_graphs), solver="graph-s4", steps=100, seed=2,
                 dtype=torch.float64, snr=0.0)
    A = out.A[pair_mask(mask)]
    assert -1 in _matches(out, few_graphs) or torch.minimum(A.abs(), (A - 1).abs()).max() > 0.2
