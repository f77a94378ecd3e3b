"""Graph-generation metrics: MMD² of degree, clustering, orbit and spectral distributions (GraphRNN / GDSS
/ SPECTRE), plus uniqueness and novelty.

Each graph is summarised by a histogram; two sets of histograms are compared by the *biased* MMD²
(self-pairs included, as GraphRNN's code) ``mean K(x, x') + mean K(y, y') − 2 mean K(x, y)`` under a
named kernel. Kernels (histograms normalised to sum 1, padded to equal length):

* ``gaussian-emd`` (GraphRNN / GDSS): ``exp(−EMD²/(2σ²))``; for 1-D histograms with ground distance
  ``|i − j| / distance_scaling`` the earth mover's distance is ``Σ|CDF_x − CDF_y| / distance_scaling``.
* ``gaussian-tv`` (SPECTRE / DiGress): ``exp(−TV²/(2σ²))``, ``TV = ½ Σ|x − y|``.
* ``gaussian`` (L2): ``exp(−‖x − y‖²/(2σ²))``.

Defaults as GDSS: degree Gaussian-EMD σ = 1; clustering 100-bin histogram on [0, 1] Gaussian-EMD
σ = 0.1 with distance scaling 100; orbit: the 15 node-orbit counts of 2–4-node graphlets summed over
nodes and divided by n (:mod:`stochflow.graph.orbits`), Gaussian-L2 σ = 30, not normalised; spectral: 200-bin histogram of the normalised Laplacian's
eigenvalues on [−1e-5, 2], Gaussian-TV σ = 1. Numbers under different kernels are not comparable;
the result names its kernels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from stochflow.core.errors import InputError

KERNELS = ("gaussian-emd", "gaussian-tv", "gaussian")


def _check_graphs(graphs, name="graphs") -> list:
    if isinstance(graphs, nx.Graph):
        raise InputError(f"{name} must be a list of networkx graphs; wrap a single graph in a list")
    graphs = list(graphs)
    if not graphs:
        raise InputError(f"{name} is empty: MMD needs at least one graph on each side")
    for i, g in enumerate(graphs):
        if not isinstance(g, nx.Graph):
            raise InputError(f"{name}[{i}] is a {type(g).__name__}, not a networkx.Graph")
        if g.is_directed() or g.is_multigraph():
            raise InputError(f"{name}[{i}] is directed or a multigraph; metrics need simple undirected graphs")
    return graphs


# -- descriptors -----------------------------------------------------------------------------
def degree_histogram(g: nx.Graph) -> np.ndarray:
    """Counts of nodes of degree 0, 1, 2, … (networkx's ``degree_histogram``)."""
    return np.asarray(nx.degree_histogram(g), dtype=np.float64)


def clustering_histogram(g: nx.Graph, bins: int = 100) -> np.ndarray:
    """Histogram of the nodes' clustering coefficients on ``bins`` equal bins of [0, 1]."""
    c = list(nx.clustering(g).values())
    return np.histogram(c, bins=bins, range=(0.0, 1.0))[0].astype(np.float64)


def spectral_histogram(g: nx.Graph, bins: int = 200) -> np.ndarray:
    """Histogram of the normalised Laplacian's eigenvalues on ``bins`` bins of [−1e-5, 2]."""
    if g.number_of_nodes() == 0:
        return np.zeros(bins)
    L = nx.normalized_laplacian_matrix(g, nodelist=list(g.nodes)).toarray()
    ev = np.linalg.eigvalsh(L)
    return np.histogram(ev, bins=bins, range=(-1e-5, 2.0))[0].astype(np.float64)


# -- kernels and MMD -------------------------------------------------------------------------
def _stack(hists: Sequence[np.ndarray], length: int, normalize: bool) -> np.ndarray:
    out = np.zeros((len(hists), length))
    for i, h in enumerate(hists):
        h = np.asarray(h, dtype=np.float64)
        out[i, : h.shape[0]] = h
    if normalize:
        s = out.sum(1, keepdims=True)
        out = np.divide(out, s, out=np.zeros_like(out), where=s > 0)
    return out


def kernel_matrix(P: np.ndarray, Q: np.ndarray, kernel: str = "gaussian-emd", sigma: float = 1.0,
                  distance_scaling: float = 1.0) -> np.ndarray:
    """``K[i, j] = k(P[i], Q[j])`` for rows of equal length (see the module docstring)."""
    from scipy.spatial.distance import cdist

    if kernel == "gaussian-emd":
        d = cdist(np.cumsum(P, 1), np.cumsum(Q, 1), "cityblock") / distance_scaling
    elif kernel == "gaussian-tv":
        d = 0.5 * cdist(P, Q, "cityblock")
    elif kernel == "gaussian":
        d = cdist(P, Q, "euclidean")
    else:
        from stochflow.core.errors import close_matches_message

        raise InputError(close_matches_message("kernel", str(kernel), KERNELS))
    return np.exp(-(d**2) / (2.0 * sigma**2))


def mmd2(x: Sequence[np.ndarray], y: Sequence[np.ndarray], *, kernel: str = "gaussian-emd", sigma: float = 1.0,
         distance_scaling: float = 1.0, normalize: bool = True) -> float:
    """Biased MMD² between two sets of histograms (or vectors, with ``normalize=False``)."""
    if len(x) == 0 or len(y) == 0:
        raise InputError("mmd2 needs at least one histogram on each side")
    if not sigma > 0:
        raise InputError(f"sigma must be > 0, got {sigma}")
    length = max(max(len(h) for h in x), max(len(h) for h in y))
    P, Q = _stack(x, length, normalize), _stack(y, length, normalize)
    kw = {"kernel": kernel, "sigma": sigma, "distance_scaling": distance_scaling}
    return float(kernel_matrix(P, P, **kw).mean() + kernel_matrix(Q, Q, **kw).mean()
                 - 2.0 * kernel_matrix(P, Q, **kw).mean())


@dataclass(frozen=True)
class Statistic:
    """How one MMD is computed: descriptor, kernel, σ, distance scaling."""

    name: str
    kernel: str
    sigma: float
    distance_scaling: float = 1.0
    options: dict = field(default_factory=dict)
    normalize: bool = True

    def describe(self) -> str:
        extra = f", scaling {self.distance_scaling:g}" if self.distance_scaling != 1 else ""
        return f"{self.name}: {self.kernel} σ={self.sigma:g}{extra}"


GDSS_STATISTICS = (
    Statistic("degree", "gaussian-emd", 1.0),
    Statistic("clustering", "gaussian-emd", 0.1, 100.0, {"bins": 100}),
    Statistic("orbit", "gaussian", 30.0, 1.0, {}, normalize=False),
    Statistic("spectral", "gaussian-tv", 1.0, 1.0, {"bins": 200}),
)
"""GDSS's degree, clustering and orbit kernels, and SPECTRE's spectral kernel."""


def _orbits(g: nx.Graph) -> np.ndarray:
    from stochflow.graph.orbits import mean_orbit_counts

    return mean_orbit_counts(g)


_DESCRIPTORS = {"degree": degree_histogram, "clustering": clustering_histogram, "spectral": spectral_histogram,
                "orbit": _orbits}


def descriptors(graphs, stat: Statistic) -> list[np.ndarray]:
    f = _DESCRIPTORS[stat.name]
    return [f(g, **stat.options) for g in graphs]


def graph_mmd(reference, generated, statistics: Sequence[Statistic] = GDSS_STATISTICS) -> dict[str, float]:
    """MMD² of each statistic between two lists of networkx graphs, keyed by statistic name."""
    reference = _check_graphs(reference, "reference")
    generated = _check_graphs(generated, "generated")
    return {s.name: mmd2(descriptors(reference, s), descriptors(generated, s), kernel=s.kernel, sigma=s.sigma,
                         distance_scaling=s.distance_scaling, normalize=s.normalize) for s in statistics}


def uniqueness(graphs) -> float:
    """Fraction of graphs not isomorphic to an earlier graph of the list."""
    from stochflow.graph.datasets import _Distinct

    graphs = _check_graphs(graphs)
    seen = _Distinct()
    return sum(seen.add(g) for g in graphs) / len(graphs)


def novelty(generated, train) -> float:
    """Fraction of generated graphs isomorphic to no training graph."""
    from stochflow.graph.datasets import wl_hash

    generated, train = _check_graphs(generated, "generated"), _check_graphs(train, "train")
    buckets: dict[str, list] = {}
    for g in train:
        buckets.setdefault(wl_hash(g), []).append(g)
    novel = 0
    for g in generated:
        cands = buckets.get(wl_hash(g), [])
        novel += not any(nx.is_isomorphic(g, o) for o in cands)
    return novel / len(generated)


def erdos_renyi_like(graphs, *, seed: int = 0) -> list:
    """One G(n, p) graph per input graph, same n and p = that graph's edge density (a baseline)."""
    graphs = _check_graphs(graphs)
    rng = np.random.default_rng(seed)
    out = []
    for g in graphs:
        n = g.number_of_nodes()
        p = nx.density(g) if n > 1 else 0.0
        out.append(nx.gnp_random_graph(n, p, seed=int(rng.integers(2**31))))
    return out
