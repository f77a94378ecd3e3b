"""Orbit counts against hand-computed values on named graphs."""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pytest

from stochflow.core.errors import InputError
from stochflow.graph import metrics as M
from stochflow.graph.orbits import mean_orbit_counts, orbit_counts


def _row(**counts):
    r = [0] * 15
    for k, v in counts.items():
        r[int(k[1:])] = v
    return r


def _diamond():
    g = nx.Graph()
    g.add_nodes_from(range(4))  # rows follow list(g.nodes)
    g.add_edges_from([(0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
    return g


@pytest.mark.parametrize("graph, node, expected", [
    # K4: degree 3, 3 triangles, one K4
    (nx.complete_graph(4), 0, _row(o0=3, o3=3, o14=1)),
    # C4: end of 2 induced 3-paths, centre of 1, one 4-cycle
    (nx.cycle_graph(4), 0, _row(o0=2, o1=2, o2=1, o8=1)),
    # 3-star: centre of 3 induced 3-paths and of the star; a leaf is an end of 2 paths and a star leaf
    (nx.star_graph(3), 0, _row(o0=3, o2=3, o7=1)),
    (nx.star_graph(3), 1, _row(o0=1, o1=2, o6=1)),
    # path 0-1-2-3: end node and inner node
    (nx.path_graph(4), 0, _row(o0=1, o1=1, o4=1)),
    (nx.path_graph(4), 1, _row(o0=2, o1=1, o2=1, o5=1)),
    # Petersen (3-regular, girth 5): 3 choose 2 = 3 path centres, 3·2 = 6 path ends, 3·2·2 = 12
    # 4-path ends and 12 inner positions, one star centre and 3·1 = 3 star leaves; no cycles of length 3 or 4
    (nx.petersen_graph(), 0, _row(o0=3, o1=6, o2=3, o4=12, o5=12, o6=3, o7=1)),
    # diamond (K4 minus edge 0-1): node 0 ends the induced paths 0-2-1 and 0-3-1 and lies on one
    # triangle; node 2 is the centre of 0-2-1 and lies on two triangles
    (_diamond(), 0, _row(o0=2, o1=2, o3=1, o12=1)),
    (_diamond(), 2, _row(o0=3, o2=1, o3=2, o13=1)),
])
def test_orbit_counts_of_named_graphs(graph, node, expected):
    assert orbit_counts(graph)[node].tolist() == expected


def test_paw_orbits_and_graphlet_totals():
    paw = nx.Graph([(0, 1), (1, 2), (0, 2), (2, 3)])
    o = orbit_counts(paw)
    assert o[3].tolist() == _row(o0=1, o1=2, o9=1)
    assert o[2].tolist() == _row(o0=3, o2=2, o3=1, o11=1)
    assert o[0].tolist() == _row(o0=2, o1=1, o3=1, o10=1)
    # every induced graphlet is seen once per node it covers: triangles ×3, 4-cycles ×4 ...
    g = nx.gnp_random_graph(11, 0.4, seed=3)
    c = orbit_counts(g)
    assert c[:, 3].sum() == 3 * sum(nx.triangles(g).values()) // 3
    assert c[:, 0].sum() == 2 * g.number_of_edges()
    k4 = sum(1 for q in nx.enumerate_all_cliques(g) if len(q) == 4)
    assert c[:, 14].sum() == 4 * k4
    assert mean_orbit_counts(g) == pytest.approx(c.sum(0) / 11)


def test_orbit_mmd_uses_the_gaussian_l2_kernel_on_mean_counts():
    x, y = [nx.complete_graph(4)], [nx.cycle_graph(4)]
    d2 = float(np.sum((mean_orbit_counts(x[0]) - mean_orbit_counts(y[0])) ** 2))
    orbit = next(s for s in M.GDSS_STATISTICS if s.name == "orbit")
    out = M.graph_mmd(x, y, statistics=[orbit])["orbit"]
    assert out == pytest.approx(2 - 2 * math.exp(-d2 / (2 * 30.0**2)), rel=1e-12)


def test_large_graphs_are_refused():
    with pytest.raises(InputError, match="too"):
        orbit_counts(nx.path_graph(200))
