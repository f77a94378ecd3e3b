"""Metrics against hand-computed values on small named graphs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from stochflow.core.errors import InputError
from stochflow.graph import metrics as M


def test_degree_histograms_of_named_graphs():
    assert M.degree_histogram(nx.path_graph(4)).tolist() == [0, 2, 2]
    assert M.degree_histogram(nx.cycle_graph(5)).tolist() == [0, 0, 5]
    assert M.degree_histogram(nx.star_graph(4)).tolist() == [0, 4, 0, 0, 1]
    assert M.degree_histogram(nx.complete_graph(4)).tolist() == [0, 0, 0, 4]
    assert M.degree_histogram(nx.petersen_graph()).tolist() == [0, 0, 0, 10]


def test_clustering_histograms_of_named_graphs():
    # complete graph: every coefficient 1 -> last bin; star, cycle, Petersen (girth 5): 0 -> first bin
    for g, b in ((nx.complete_graph(5), 99), (nx.star_graph(4), 0), (nx.cycle_graph(6), 0), (nx.petersen_graph(), 0)):
        h = M.clustering_histogram(g)
        assert h[b] == g.number_of_nodes() and h.sum() == g.number_of_nodes()
    # the "paw" (triangle with a pendant): clustering 1, 1, 1/3, 0
    paw = nx.Graph([(0, 1), (1, 2), (0, 2), (2, 3)])
    h = M.clustering_histogram(paw, bins=3)
    assert h.tolist() == [1, 1, 2]


def test_spectral_histogram_of_the_complete_graph():
    # normalised Laplacian of K_n: eigenvalue 0 once and n/(n-1) with multiplicity n-1
    h = M.spectral_histogram(nx.complete_graph(5), bins=200)
    edges = np.linspace(-1e-5, 2, 201)
    assert h.sum() == 5 and h[0] == 1 and h[np.searchsorted(edges, 1.25) - 1] == 4


def test_mmd_against_a_hand_computed_case():
    """P3 vs K3 degree histograms: [0, 2/3, 1/3] and [0, 0, 1]; CDFs differ by 2/3 in one bin, so
    EMD = 2/3, k = exp(-(2/3)²/2) and MMD² = 2 - 2k (Gaussian-EMD σ = 1)."""
    x, y = [M.degree_histogram(nx.path_graph(3))], [M.degree_histogram(nx.complete_graph(3))]
    expected = 2 - 2 * math.exp(-((2 / 3) ** 2) / 2)
    assert M.mmd2(x, y) == pytest.approx(expected, rel=1e-12)
    # Gaussian-TV: TV = ½(2/3 + 2/3) = 2/3 as well; L2 on the normalised histograms: ‖·‖² = 4/9 + 4/9
    assert M.mmd2(x, y, kernel="gaussian-tv") == pytest.approx(expected, rel=1e-12)
    assert M.mmd2(x, y, kernel="gaussian") == pytest.approx(2 - 2 * math.exp(-(8 / 9) / 2), rel=1e-12)
    # two graphs per side: biased MMD² averages all four pairs on each side, self-pairs included
    x2 = x + [M.degree_histogram(nx.path_graph(3))]
    assert M.mmd2(x2, y) == pytest.approx(expected, rel=1e-12)
    # distance scaling divides the ground distance (GDSS's clustering: bins / 100)
    assert M.mmd2(x, y, distance_scaling=2.0) == pytest.approx(2 - 2 * math.exp(-((1 / 3) ** 2) / 2), rel=1e-12)


def test_mmd_is_zero_on_itself_symmetric_and_grows_with_shift():
    rng = np.random.default_rng(0)
    base = [nx.gnp_random_graph(15, 0.3, seed=int(s)) for s in rng.integers(1 << 30, size=20)]
    shifted = {p: [nx.gnp_random_graph(15, p, seed=int(s)) for s in rng.integers(1 << 30, size=20)]
               for p in (0.35, 0.5, 0.7)}
    for stat in M.GDSS_STATISTICS:
        d = M.descriptors(base, stat)
        kw = {"kernel": stat.kernel, "sigma": stat.sigma, "distance_scaling": stat.distance_scaling,
              "normalize": stat.normalize}
        assert M.mmd2(d, d, **kw) == pytest.approx(0.0, abs=1e-12)
        values = []
        for graphs in shifted.values():
            e = M.descriptors(graphs, stat)
            assert M.mmd2(d, e, **kw) == pytest.approx(M.mmd2(e, d, **kw), abs=1e-12)
            values.append(M.mmd2(d, e, **kw))
        assert values[0] < values[1] < values[2], (stat.name, values)


def test_graph_mmd_uniqueness_novelty_and_er_baseline():
    a = [nx.path_graph(4), nx.cycle_graph(4), nx.path_graph(4), nx.relabel_nodes(nx.path_graph(4), {0: 3, 3: 0})]
    assert M.uniqueness(a) == 0.5
    assert M.novelty([nx.star_graph(3), nx.path_graph(4)], a) == 0.5
    out = M.graph_mmd(a, a)
    assert set(out) == {"degree", "clustering", "orbit", "spectral"} and all(abs(v) < 1e-12 for v in out.values())
    er = M.erdos_renyi_like([nx.complete_graph(6), nx.empty_graph(5)], seed=0)
    assert er[0].number_of_edges() == 15 and er[1].number_of_edges() == 0
    assert [g.number_of_nodes() for g in er] == [6, 5]


def test_bad_metric_input():
    with pytest.raises(InputError, match="empty"):
        M.graph_mmd([], [nx.path_graph(3)])
    with pytest.raises(InputError, match="directed"):
        M.graph_mmd([nx.DiGraph([(0, 1)])], [nx.path_graph(3)])
    with pytest.raises(InputError, match="did you mean"):
        M.mmd2([np.ones(2)], [np.ones(2)], kernel="gaussian-emdd")
    with pytest.raises(InputError, match="sigma"):
        M.mmd2([np.ones(2)], [np.ones(2)], sigma=0)
