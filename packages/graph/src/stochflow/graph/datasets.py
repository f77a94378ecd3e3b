"""Graph data sets generated from seeds (no downloads, no pickles).

* :func:`community_small`: two-community graphs of 12–20 nodes (GraphRNN / GDSS), distinct up to
  isomorphism by default; ``gdss_compat=True`` reproduces the GDSS generator's habit of seeding
  every block by its index (identical blocks per size, so many graphs repeat).
* :func:`ego_small`: radius-1 ego graphs of 4–18 nodes from a generated citation-like network
  (a Holme–Kim power-law cluster graph standing in for Citeseer).
* :func:`grid`: 2-D grid graphs (GDSS: sides 10–19, 100–400 nodes).
* :func:`sbm`, :func:`planar`: the SPECTRE / DiGress benchmarks' generators (stochastic block
  model with 2–5 blocks of 20–40 nodes; Delaunay triangulations of 64 random points).

Every function returns a list of ``networkx.Graph`` with integer node labels 0..n-1.
"""

from __future__ import annotations

import warnings

import networkx as nx
import numpy as np

from stochflow.core.errors import InputError


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(int(seed))


def _check_n(n_graphs: int) -> int:
    if isinstance(n_graphs, bool) or not isinstance(n_graphs, int) or n_graphs < 1:
        raise InputError(f"n_graphs must be an int >= 1, got {n_graphs!r}")
    return n_graphs


def _gnp(n: int, p: float, rng: np.random.Generator) -> np.ndarray:
    u = rng.random((n, n))
    a = np.triu(u < p, 1)
    return (a | a.T).astype(np.int8)


def wl_hash(g: nx.Graph) -> str:
    """Weisfeiler-Lehman hash (3 rounds), a bucket key for isomorphism checks."""
    with warnings.catch_warnings():  # networkx >= 3.5 warns that unlabelled hashes changed; ours are only compared
        warnings.simplefilter("ignore", UserWarning)
        return nx.weisfeiler_lehman_graph_hash(g, iterations=3)


class _Distinct:
    """Reject graphs isomorphic to one already kept (WL hash buckets, then an exact check)."""

    def __init__(self):
        self.buckets: dict[str, list] = {}

    def add(self, g: nx.Graph) -> bool:
        h = wl_hash(g)
        bucket = self.buckets.setdefault(h, [])
        if any(nx.is_isomorphic(g, o) for o in bucket):
            return False
        bucket.append(g)
        return True


def community_small(n_graphs: int = 100, *, seed: int = 0, min_nodes: int = 12, max_nodes: int = 20,
                    p_intra: float = 0.7, p_inter: float | None = None, distinct: bool = True,
                    gdss_compat: bool = False) -> list:
    """Two-community graphs: blocks ``G(n/2, p_intra)`` joined by random inter-block edges (at least one).

    Parameters
    ----------
    n_graphs
        Number of graphs.
    seed
        Seed of everything random.
    min_nodes, max_nodes
        Sizes are drawn uniformly from ``{min_nodes, …, max_nodes}`` (12–20 as GDSS), even sizes split
        evenly and odd ones with the extra node in the second block.
    p_intra, p_inter
        Edge probability inside a block, and per cross pair (default ``0.1/n``, GDSS's ``0.05·2/n``).
    distinct
        Keep only graphs not isomorphic to an earlier one (ignored with ``gdss_compat``).
    gdss_compat
        GDSS's (EDP-GNN's) generator: block ``i`` seeded by ``i`` alone, so blocks of one size repeat;
        two blocks of ``n // 2`` nodes; bridges with probability ``0.1 / (n // 2)`` per pair, and the
        blocks' first nodes joined when none was drawn. Graphs recur (its shipped 100 graphs hold 53
        distinct ones; 9 of its 20 test graphs are in the training set).
    """
    _check_n(n_graphs)
    if not 2 <= min_nodes <= max_nodes:
        raise InputError(f"need 2 <= min_nodes <= max_nodes, got {min_nodes}, {max_nodes}")
    if not 0 <= p_intra <= 1 or (p_inter is not None and not 0 <= p_inter <= 1):
        raise InputError("edge probabilities must lie in [0, 1]")
    rng = _rng(seed)
    seen = _Distinct()
    out: list = []
    tries = 0
    while len(out) < n_graphs:
        tries += 1
        if tries > 100 * n_graphs:
            raise InputError(f"could not generate {n_graphs} distinct graphs with these settings; "
                             "widen the size range or pass distinct=False")
        n = int(rng.integers(min_nodes, max_nodes + 1))
        # GDSS's generator: two blocks of n // 2 (an odd draw loses a node), per-pair bridge probability
        # 0.1 / (n // 2), and the first nodes of the blocks joined when no bridge was drawn
        sizes = (n // 2, n // 2) if gdss_compat else (n // 2, n - n // 2)
        n = sum(sizes)
        blocks = [_gnp(s, p_intra, _rng(i) if gdss_compat else rng) for i, s in enumerate(sizes)]
        a = np.zeros((n, n), dtype=np.int8)
        a[: sizes[0], : sizes[0]] = blocks[0]
        a[sizes[0]:, sizes[0]:] = blocks[1]
        p = (0.1 / sizes[0] if gdss_compat else 0.1 / n) if p_inter is None else p_inter
        cross = rng.random(sizes) < p
        if not cross.any():
            cross[(0, 0) if gdss_compat else (rng.integers(sizes[0]), rng.integers(sizes[1]))] = True
        a[: sizes[0], sizes[0]:] = cross
        a[sizes[0]:, : sizes[0]] = cross.T
        g = nx.from_numpy_array(a)
        if distinct and not gdss_compat and not seen.add(g):
            continue
        out.append(g)
    return out


def citation_network(n_nodes: int = 3000, *, seed: int = 0, m: int = 2, p_triangle: float = 0.5) -> nx.Graph:
    """A citation-like graph: Holme–Kim growth (preferential attachment with triadic closure)."""
    return nx.powerlaw_cluster_graph(int(n_nodes), int(m), float(p_triangle), seed=int(seed))


def ego_small(n_graphs: int = 200, *, seed: int = 0, min_nodes: int = 4, max_nodes: int = 18,
              network_nodes: int = 3000) -> list:
    """Radius-1 ego graphs with ``min_nodes``–``max_nodes`` nodes around random centres of
    :func:`citation_network` (as GDSS's ego-small from Citeseer), distinct centres."""
    _check_n(n_graphs)
    if not 1 <= min_nodes <= max_nodes:
        raise InputError(f"need 1 <= min_nodes <= max_nodes, got {min_nodes}, {max_nodes}")
    G = citation_network(network_nodes, seed=seed)
    rng = _rng(seed + 1)
    out = []
    for c in rng.permutation(G.number_of_nodes()):
        if not min_nodes - 1 <= G.degree(int(c)) <= max_nodes - 1:
            continue
        out.append(nx.convert_node_labels_to_integers(nx.ego_graph(G, int(c), radius=1)))
        if len(out) == n_graphs:
            return out
    raise InputError(f"the citation network has only {len(out)} centres with ego graphs of "
                     f"{min_nodes}-{max_nodes} nodes; ask for fewer graphs or a larger network_nodes")


def grid(n_graphs: int | None = None, *, seed: int = 0, min_side: int = 10, max_side: int = 19) -> list:
    """2-D grids ``side_1 × side_2`` for all sides in ``[min_side, max_side]`` (GDSS: 10–19, 100 graphs);
    with ``n_graphs``, that many drawn with replacement (seeded)."""
    if not 1 <= min_side <= max_side:
        raise InputError(f"need 1 <= min_side <= max_side, got {min_side}, {max_side}")
    pairs = [(i, j) for i in range(min_side, max_side + 1) for j in range(min_side, max_side + 1)]
    if n_graphs is not None:
        _check_n(n_graphs)
        pick = _rng(seed).integers(0, len(pairs), n_graphs)
        pairs = [pairs[k] for k in pick]
    return [nx.convert_node_labels_to_integers(nx.grid_2d_graph(i, j)) for i, j in pairs]


def sbm(n_graphs: int = 200, *, seed: int = 0, min_blocks: int = 2, max_blocks: int = 5, min_size: int = 20,
        max_size: int = 40, p_intra: float = 0.3, p_inter: float = 0.005) -> list:
    """Stochastic block model graphs (SPECTRE): 2–5 blocks of 20–40 nodes, p 0.3 inside, 0.005 across."""
    _check_n(n_graphs)
    rng = _rng(seed)
    out = []
    for _ in range(n_graphs):
        k = int(rng.integers(min_blocks, max_blocks + 1))
        sizes = [int(s) for s in rng.integers(min_size, max_size + 1, k)]
        probs = np.full((k, k), p_inter) + np.eye(k) * (p_intra - p_inter)
        g = nx.stochastic_block_model(sizes, probs.tolist(), seed=int(rng.integers(2**31)))
        g = nx.Graph(g)
        g.graph.clear()
        out.append(nx.convert_node_labels_to_integers(g))
    return out


def planar(n_graphs: int = 200, *, seed: int = 0, n_nodes: int = 64) -> list:
    """Planar graphs (SPECTRE): Delaunay triangulations of ``n_nodes`` uniform points in the unit square."""
    from scipy.spatial import Delaunay

    _check_n(n_graphs)
    rng = _rng(seed)
    out = []
    for _ in range(n_graphs):
        tri = Delaunay(rng.random((n_nodes, 2)))
        g = nx.Graph()
        g.add_nodes_from(range(n_nodes))
        for s in tri.simplices:
            g.add_edges_from([(int(s[0]), int(s[1])), (int(s[1]), int(s[2])), (int(s[0]), int(s[2]))])
        out.append(g)
    return out


def split(graphs: list, test_fraction: float = 0.2) -> tuple[list, list]:
    """``(train, test)`` with the first ``test_fraction`` as test graphs (GDSS's split)."""
    if not 0 < test_fraction < 1 or len(graphs) < 2:
        raise InputError("need 0 < test_fraction < 1 and at least two graphs")
    k = max(1, int(round(test_fraction * len(graphs))))
    return list(graphs[k:]), list(graphs[:k])


DATASETS = {"community-small": community_small, "ego-small": ego_small, "grid": grid, "sbm": sbm,
            "planar": planar}


def load(name: str, **kwargs) -> list:
    """A data set by name (``community-small``, ``ego-small``, ``grid``, ``sbm``, ``planar``)."""
    if name not in DATASETS:
        from stochflow.core.errors import close_matches_message

        raise InputError(close_matches_message("graph dataset", name, DATASETS))
    return DATASETS[name](**kwargs)
