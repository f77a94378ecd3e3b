from __future__ import annotations

import networkx as nx
import pytest

from stochflow.core.errors import InputError
from stochflow.graph import datasets as D
from stochflow.graph.metrics import uniqueness


def test_community_small_is_two_dense_blocks_of_distinct_graphs():
    graphs = D.community_small(100, seed=0)
    assert len(graphs) == 100 and uniqueness(graphs) == 1.0
    assert {g.number_of_nodes() for g in graphs} <= set(range(12, 21))
    for g in graphs[:20]:
        n = g.number_of_nodes()
        h = n // 2
        inter = sum(1 for u, v in g.edges if (u < h) != (v < h))
        intra_density = (g.number_of_edges() - inter) / (h * (h - 1) / 2 + (n - h) * (n - h - 1) / 2)
        assert inter >= 1 and 0.4 < intra_density < 0.95
    # deterministic in the seed
    again = D.community_small(5, seed=0)
    assert all(nx.utils.graphs_equal(a, b) for a, b in zip(again, graphs[:5]))


def test_longer_draw_extends_the_shorter_with_new_graphs():
    # benchmarks/sampler_sweep.py takes its validation graphs from the tail of a longer draw
    head, longer = D.community_small(100, seed=0), D.community_small(130, seed=0)
    assert all(nx.utils.graphs_equal(a, b) for a, b in zip(head, longer[:100]))
    assert uniqueness(longer) == 1.0


def test_gdss_compat_repeats_blocks():
    """GDSS's generator: equal blocks of n // 2 nodes, identical per size, joined at their first
    nodes when no bridge was drawn, so about half of the 100 graphs are distinct (its pickle: 53)."""
    graphs = D.community_small(100, seed=0, gdss_compat=True)
    assert {g.number_of_nodes() for g in graphs} == {12, 14, 16, 18, 20}
    assert 0.4 < uniqueness(graphs) < 0.65
    first_nodes_only = 0
    for g in graphs:
        half = g.number_of_nodes() // 2
        bridges = {frozenset((u, v)) for u, v in g.edges if (u < half) != (v < half)}
        assert bridges
        first_nodes_only += bridges == {frozenset((0, half))}
    # P(no bridge drawn) = (1 - 0.1/N)^(N²) ≈ e^(-0.1 N), 0.37-0.55 for N = 6-10; a random pair would
    # be (0, half) with probability 1/N² only
    assert 30 <= first_nodes_only <= 60
    same_size = [g for g in graphs if g.number_of_nodes() == 16]
    first_block = [nx.to_numpy_array(g, nodelist=range(8)) for g in same_size]
    assert all((b == first_block[0]).all() for b in first_block)


def test_ego_grid_sbm_planar():
    ego = D.ego_small(50, seed=0, network_nodes=1000)
    assert all(4 <= g.number_of_nodes() <= 18 and nx.is_connected(g) for g in ego)
    grids = D.grid()
    assert len(grids) == 100 and min(g.number_of_nodes() for g in grids) == 100
    assert max(g.number_of_nodes() for g in grids) == 361
    assert len(D.grid(7, seed=1, min_side=2, max_side=3)) == 7
    sbm = D.sbm(3, seed=0)
    assert all(40 <= g.number_of_nodes() <= 200 for g in sbm)
    planar = D.planar(3, seed=0, n_nodes=20)
    assert all(nx.is_planar(g) and g.number_of_nodes() == 20 for g in planar)


def test_split_and_load():
    train, test = D.split(list(range(10)))
    assert test == [0, 1] and train == list(range(2, 10))
    assert len(D.load("grid", n_graphs=2, min_side=2, max_side=3)) == 2
    with pytest.raises(InputError, match="did you mean"):
        D.load("community-smal")
    with pytest.raises(InputError):
        D.community_small(0)
    with pytest.raises(InputError):
        D.community_small(5, min_nodes=10, max_nodes=4)
