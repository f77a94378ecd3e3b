"""The typed graph batch ``GraphBatch(X, A, mask)`` and its networkx round trip.

A batch of ``B`` graphs padded to ``N`` nodes holds node features ``X`` (B×N×F), a symmetric
adjacency ``A`` (B×N×N) with zero diagonal, and a boolean node mask (B×N). Padded nodes carry no
features and no edges. Graphs enter and leave through networkx 3 (``to_numpy_array`` /
``from_numpy_array``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from stochflow.core.errors import InputError, InputTypeError

FEATURES = ("degree", "ones")


def pair_mask(mask: torch.Tensor) -> torch.Tensor:
    """Valid edge slots of a node mask (B×N → B×N×N): both ends real, diagonal excluded."""
    m = mask.to(torch.bool)
    pm = m[:, :, None] & m[:, None, :]
    eye = torch.eye(m.shape[1], dtype=torch.bool, device=m.device)
    return pm & ~eye


def symmetric_noise(shape: tuple[int, int, int], *, generator: torch.Generator | None = None,
                    dtype=torch.float32, device="cpu") -> torch.Tensor:
    """Standard normal noise on the strict upper triangle, mirrored: symmetric, zero diagonal."""
    b, n, n2 = shape
    if n != n2:
        raise InputError(f"adjacency noise needs a square shape, got {shape}")
    z = torch.randn(shape, generator=generator, dtype=dtype, device=device).triu(1)
    return z + z.transpose(-1, -2)


@dataclass(frozen=True)
class GraphBatch:
    """A padded batch of graphs.

    Parameters
    ----------
    X
        Node features, shape ``(B, N, F)``, floating point; zero on padded nodes.
    A
        Adjacency, shape ``(B, N, N)``, same dtype as ``X``: symmetric, zero diagonal, zero on
        rows and columns of padded nodes. Weighted entries are allowed.
    mask
        Boolean node mask, shape ``(B, N)``; True for real nodes.

    Raises
    ------
    InputError, InputTypeError
        On wrong types, shapes, an asymmetric adjacency, a nonzero diagonal, or features or edges
        on padded nodes.
    """

    X: torch.Tensor
    A: torch.Tensor
    mask: torch.Tensor

    def __post_init__(self) -> None:
        validate(self.X, self.A, self.mask)

    # -- shape ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.A.shape[0])

    @property
    def max_nodes(self) -> int:
        return int(self.A.shape[1])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[2])

    @property
    def n_nodes(self) -> torch.Tensor:
        """Number of real nodes per graph, shape ``(B,)``."""
        return self.mask.sum(1)

    def __getitem__(self, idx) -> GraphBatch:
        if isinstance(idx, int):
            idx = slice(idx, idx + 1) if idx != -1 else slice(-1, None)
        return GraphBatch(self.X[idx], self.A[idx], self.mask[idx])

    def to(self, device=None, dtype=None) -> GraphBatch:
        """Move to a device and/or cast the floating arrays (the mask stays boolean)."""
        return GraphBatch(self.X.to(device=device, dtype=dtype), self.A.to(device=device, dtype=dtype),
                          self.mask.to(device=device))

    def pad_to(self, max_nodes: int) -> GraphBatch:
        """Pad with empty nodes up to ``max_nodes`` (InputError if a graph is larger)."""
        n = self.max_nodes
        if max_nodes < n:
            if bool(self.mask[:, max_nodes:].any()):
                raise InputError(f"a graph has {int(self.n_nodes.max())} nodes, more than max_nodes={max_nodes}")
            return GraphBatch(self.X[:, :max_nodes], self.A[:, :max_nodes, :max_nodes], self.mask[:, :max_nodes])
        pad = max_nodes - n
        X = torch.nn.functional.pad(self.X, (0, 0, 0, pad))
        A = torch.nn.functional.pad(self.A, (0, pad, 0, pad))
        return GraphBatch(X, A, torch.nn.functional.pad(self.mask, (0, pad)))

    # -- networkx ------------------------------------------------------------------------
    @classmethod
    def from_networkx(cls, graphs: Sequence, *, max_nodes: int | None = None,
                      features: str | Callable = "degree", n_features: int | None = None,
                      dtype=torch.float32, device="cpu") -> GraphBatch:
        """Build a batch from simple undirected networkx graphs.

        Parameters
        ----------
        graphs
            Non-empty sequence of ``networkx.Graph`` (no directed graphs, multigraphs or self-loops).
        max_nodes
            Node budget ``N`` (default: the largest graph). A larger graph raises :class:`InputError`.
        features
            ``"degree"``: one-hot node degree with ``n_features`` classes (degrees above are clipped
            to the last class, as GDSS's ``deg`` features); ``"ones"``: a single constant feature;
            or a callable ``f(graph) -> array (n_nodes, F)``.
        n_features
            Number of degree classes (default: max degree + 1).
        """
        import networkx as nx

        if isinstance(graphs, nx.Graph):
            raise InputTypeError("graphs must be a sequence of networkx graphs; wrap a single graph in a list")
        graphs = list(graphs)
        if not graphs:
            raise InputError("graphs is empty: pass at least one networkx graph")
        for i, g in enumerate(graphs):
            if not isinstance(g, nx.Graph):
                raise InputTypeError(f"graphs[{i}] is a {type(g).__name__}, not a networkx.Graph")
            if g.is_directed():
                raise InputError(f"graphs[{i}] is directed; convert with G.to_undirected() first")
            if g.is_multigraph():
                raise InputError(f"graphs[{i}] is a multigraph; convert with networkx.Graph(G) first")
            if g.number_of_nodes() == 0:
                raise InputError(f"graphs[{i}] has no nodes")
            if nx.number_of_selfloops(g):
                raise InputError(f"graphs[{i}] has self-loops; remove them with "
                                 "G.remove_edges_from(networkx.selfloop_edges(G))")
        sizes = [g.number_of_nodes() for g in graphs]
        N = max(sizes) if max_nodes is None else int(max_nodes)
        if max(sizes) > N:
            big = sizes.index(max(sizes))
            raise InputError(f"graphs[{big}] has {sizes[big]} nodes, more than the node budget max_nodes={N}")
        if callable(features):
            feats = [np.asarray(features(g), dtype=np.float64) for g in graphs]
            if any(f.ndim != 2 or f.shape[0] != g.number_of_nodes() for f, g in zip(feats, graphs)):
                raise InputError("features(graph) must return an array of shape (n_nodes, F)")
            F = feats[0].shape[1]
            if any(f.shape[1] != F for f in feats):
                raise InputError("features(graph) must return the same number of columns for every graph")
        elif features == "degree":
            degs = [np.array([d for _, d in g.degree()], dtype=np.int64) for g in graphs]
            F = int(n_features) if n_features is not None else int(max(d.max() for d in degs)) + 1
            if F < 1:
                raise InputError(f"n_features must be >= 1, got {F}")
            feats = [np.eye(F)[np.minimum(d, F - 1)] for d in degs]
        elif features == "ones":
            F = 1
            feats = [np.ones((g.number_of_nodes(), 1)) for g in graphs]
        else:
            raise InputError(f"features must be one of {FEATURES} or a callable, got {features!r}")
        B = len(graphs)
        X = np.zeros((B, N, F))
        A = np.zeros((B, N, N))
        mask = np.zeros((B, N), dtype=bool)
        for i, (g, f) in enumerate(zip(graphs, feats)):
            n = g.number_of_nodes()
            A[i, :n, :n] = nx.to_numpy_array(g, nodelist=list(g.nodes), weight=None)
            X[i, :n] = f
            mask[i, :n] = True
        return cls(torch.as_tensor(X, dtype=dtype, device=device), torch.as_tensor(A, dtype=dtype, device=device),
                   torch.as_tensor(mask, device=device))

    def to_networkx(self, threshold: float | None = 0.5) -> list:
        """One ``networkx.Graph`` per graph with only its real nodes (padding dropped).

        ``threshold``: edges where ``A > threshold`` (unweighted); ``None`` keeps the weights.
        """
        import networkx as nx

        out = []
        A = self.A.detach().cpu().double().numpy()
        mask = self.mask.detach().cpu().numpy()
        for i in range(len(self)):
            idx = np.flatnonzero(mask[i])
            a = A[i][np.ix_(idx, idx)]
            if threshold is not None:
                a = (a > threshold).astype(np.float64)
            out.append(nx.from_numpy_array(a))
        return out


def validate(X, A, mask, *, atol: float = 1e-6) -> None:
    """Check a graph batch's types, shapes and structure; raise before any work is done."""
    for name, v in (("X", X), ("A", A), ("mask", mask)):
        if not isinstance(v, torch.Tensor):
            raise InputTypeError(f"{name} must be a torch.Tensor, got {type(v).__name__}")
    if not A.is_floating_point() or not X.is_floating_point():
        raise InputTypeError(f"X and A must be floating-point tensors, got {X.dtype} and {A.dtype}")
    if X.dtype != A.dtype:
        raise InputTypeError(f"X and A must share a dtype, got {X.dtype} and {A.dtype}")
    if mask.dtype != torch.bool:
        raise InputTypeError(f"mask must be a boolean tensor, got {mask.dtype}")
    if A.ndim != 3 or A.shape[1] != A.shape[2]:
        raise InputError(f"A must have shape (B, N, N) (square adjacency), got {tuple(A.shape)}")
    B, N = A.shape[:2]
    if X.ndim != 3 or tuple(X.shape[:2]) != (B, N):
        raise InputError(f"X must have shape (B, N, F) = ({B}, {N}, F) to match A, got {tuple(X.shape)}")
    if tuple(mask.shape) != (B, N):
        raise InputError(f"mask must have shape (B, N) = ({B}, {N}), got {tuple(mask.shape)}")
    if not (torch.isfinite(A).all() and torch.isfinite(X).all()):
        raise InputError("X or A contains NaN or inf")
    if A.numel() == 0:
        return
    scale = atol * max(1.0, float(A.abs().max()))
    if (A - A.transpose(1, 2)).abs().max() > scale:
        raise InputError("A is not symmetric: graphs must be undirected (use (A + A.mT) / 2 or a symmetric source)")
    if A.diagonal(dim1=1, dim2=2).abs().max() > scale:
        raise InputError("A has a nonzero diagonal: self-loops are not supported (zero the diagonal)")
    pm = mask[:, :, None] & mask[:, None, :]
    if bool((A.abs() > scale)[~pm].any()):
        raise InputError("A has edges on padded nodes: the mask does not match the adjacency")
    if bool((X.abs() > atol)[~mask].any()):
        raise InputError("X has nonzero features on padded nodes: the mask does not match the features")
