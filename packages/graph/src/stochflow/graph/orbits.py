"""Node orbit counts of the graphlets with 2–4 nodes (the 15 orbits ORCA counts), without a compiled
ORCA: every 3- and 4-node subset is enumerated at once with numpy and its induced pattern is looked
up in a table. Cost grows as C(n, 4): fine up to ~100 nodes.

Orbits (Pržulj's numbering, as ORCA): 0 edge end (degree); 1, 2 end and centre of an induced path
on three nodes; 3 triangle; 4, 5 end and inner node of an induced 4-path; 6, 7 leaf and centre of a
3-star; 8 4-cycle; 9, 10, 11 pendant, degree-2 and degree-3 node of the paw (tailed triangle);
12, 13 degree-2 and degree-3 node of the diamond; 14 K4.
"""

from __future__ import annotations

from itertools import combinations

import networkx as nx
import numpy as np

from stochflow.core.errors import InputError

N_ORBITS = 15
MAX_NODES = 120
_PAIRS4 = list(combinations(range(4), 2))


def _table4() -> np.ndarray:
    """Orbit of each of the 4 positions for each of the 64 edge patterns (−1: not a connected graphlet)."""
    out = -np.ones((64, 4), dtype=np.int64)
    for code in range(64):
        edges = [p for k, p in enumerate(_PAIRS4) if code >> k & 1]
        g = nx.Graph(edges)
        g.add_nodes_from(range(4))
        if not nx.is_connected(g):
            continue
        deg = [g.degree(v) for v in range(4)]
        m = len(edges)
        for v in range(4):
            d = deg[v]
            if m == 3:
                out[code, v] = (7 if d == 3 else 6) if max(deg) == 3 else (4 if d == 1 else 5)
            elif m == 4:
                out[code, v] = 8 if max(deg) == 2 else {1: 9, 2: 10, 3: 11}[d]
            elif m == 5:
                out[code, v] = 12 if d == 2 else 13
            else:
                out[code, v] = 14
    return out


_T4 = _table4()


def _combos(n: int, k: int) -> np.ndarray:
    if n < k:
        return np.zeros((0, k), dtype=np.int64)
    return np.array(list(combinations(range(n), k)), dtype=np.int64)


def orbit_counts(g: nx.Graph) -> np.ndarray:
    """Per-node counts of the 15 orbits, shape ``(n, 15)`` (node order ``list(g.nodes)``)."""
    n = g.number_of_nodes()
    if n > MAX_NODES:
        raise InputError(f"orbit counting enumerates all 4-node subsets; graphs over {MAX_NODES} nodes are too "
                         f"large (got {n})")
    A = nx.to_numpy_array(g, nodelist=list(g.nodes), weight=None).astype(bool)
    out = np.zeros((n, N_ORBITS), dtype=np.int64)
    out[:, 0] = A.sum(1)
    c3 = _combos(n, 3)
    if len(c3):
        a, b, c = c3.T
        e_ab, e_ac, e_bc = A[a, b], A[a, c], A[b, c]
        m = e_ab.astype(int) + e_ac + e_bc
        tri = m == 3
        for v in (a, b, c):
            np.add.at(out[:, 3], v[tri], 1)
        path = m == 2
        # the centre of an induced path is the node on both edges
        deg = np.stack([e_ab.astype(int) + e_ac, e_ab.astype(int) + e_bc, e_ac.astype(int) + e_bc], 1)
        for j, v in enumerate((a, b, c)):
            np.add.at(out[:, 2], v[path & (deg[:, j] == 2)], 1)
            np.add.at(out[:, 1], v[path & (deg[:, j] == 1)], 1)
    c4 = _combos(n, 4)
    if len(c4):
        code = np.zeros(len(c4), dtype=np.int64)
        for k, (i, j) in enumerate(_PAIRS4):
            code |= A[c4[:, i], c4[:, j]].astype(np.int64) << k
        orb = _T4[code]
        keep = orb[:, 0] >= 0
        for j in range(4):
            np.add.at(out, (c4[keep, j], orb[keep, j]), 1)
    return out


def mean_orbit_counts(g: nx.Graph) -> np.ndarray:
    """Orbit counts summed over nodes and divided by the number of nodes (GraphRNN's orbit statistic)."""
    n = max(1, g.number_of_nodes())
    return orbit_counts(g).sum(0) / n
