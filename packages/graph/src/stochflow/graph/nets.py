"""Permutation-equivariant score networks of GDSS, written from the paper.

Both networks predict the standardised noise ``ε̂`` of their component (the partial score is
``−ε̂/σ_t``), see :class:`~stochflow.graph.model.GraphScoreModel`. Each takes ``(X, A, mask, t)``
and is optionally conditioned on ``t`` (GDSS's networks take no time input; here a constant node
feature / edge channel carries ``t`` when ``time_conditioning=True``). Permuting the nodes of the
input permutes the output the same way.
"""

from __future__ import annotations

import torch
from torch import nn

from stochflow.graph.batch import pair_mask


def normalized_adjacency(A: torch.Tensor) -> torch.Tensor:
    """``D^{-1/2} (A + I) D^{-1/2}`` with degrees clamped at 1 (as a dense GCN)."""
    n = A.shape[-1]
    Ah = A + torch.eye(n, dtype=A.dtype, device=A.device)
    d = Ah.sum(-1).clamp(min=1.0).rsqrt()
    return d[..., :, None] * Ah * d[..., None, :]


class DenseGCN(nn.Module):
    """One dense graph convolution ``Â X W + b``; ``An`` is the normalised adjacency Â
    (:func:`normalized_adjacency`), computed once by the caller and shared across layers."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.lin = nn.Linear(d_in, d_out, bias=False)
        self.bias = nn.Parameter(torch.zeros(d_out))

    def forward(self, X: torch.Tensor, An: torch.Tensor) -> torch.Tensor:
        return An @ self.lin(X) + self.bias


def _mlp(d_in: int, hidden: int, d_out: int, layers: int = 2) -> nn.Sequential:
    mods: list[nn.Module] = []
    d = d_in
    for _ in range(layers - 1):
        mods += [nn.Linear(d, hidden), nn.ELU()]
        d = hidden
    mods.append(nn.Linear(d, d_out))
    return nn.Sequential(*mods)


def _time_feature(t: torch.Tensor, ref: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    t = torch.as_tensor(t, dtype=ref.dtype, device=ref.device)
    if t.ndim == 0:
        t = t.expand(ref.shape[0])
    return t.reshape((-1,) + (1,) * (len(shape) - 1)).expand(shape)


class ScoreNetworkX(nn.Module):
    """Dense GCN layers (tanh), all layer outputs concatenated with the input into an MLP.

    Parameters
    ----------
    n_features
        Node feature size ``F`` (input and output).
    depth, hidden
        Number of GCN layers and their width.
    time_conditioning
        Append ``t`` as a constant node feature.
    """

    def __init__(self, n_features: int, depth: int = 2, hidden: int = 32, time_conditioning: bool = True):
        super().__init__()
        self.config = {"n_features": int(n_features), "depth": int(depth), "hidden": int(hidden),
                       "time_conditioning": bool(time_conditioning)}
        self.n_features, self.time_conditioning = int(n_features), bool(time_conditioning)
        d_in = self.n_features + int(self.time_conditioning)
        dims = [d_in] + [hidden] * depth
        self.layers = nn.ModuleList(DenseGCN(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.final = _mlp(sum(dims), 2 * hidden, self.n_features, layers=3)

    def forward(self, X, A, mask, t):
        h = X
        if self.time_conditioning:
            h = torch.cat([X, _time_feature(t, X, X.shape[:2] + (1,))], -1)
        An = normalized_adjacency(A * pair_mask(mask).to(A.dtype))
        outs = [h]
        for layer in self.layers:
            h = torch.tanh(layer(h, An))
            outs.append(h)
        return self.final(torch.cat(outs, -1)) * mask[:, :, None].to(X.dtype)


class GraphAttention(nn.Module):
    """Graph multi-head attention on one adjacency channel: GCN-based Q, K, V;
    ``tanh(Q Kᵀ/√d)`` averaged over heads and symmetrised.

    :class:`AttentionLayer` evaluates all its channels' attentions in one batched pass
    (:func:`_attention`); calling this module alone computes one channel the same way."""

    def __init__(self, d_in: int, d_att: int, heads: int):
        super().__init__()
        if d_att % heads:
            raise ValueError(f"attention width {d_att} must be divisible by heads={heads}")
        self.qkv = DenseGCN(d_in, 3 * d_att)
        self.heads, self.d_att = heads, d_att

    def forward(self, X, An, mask):
        x, att = _attention(X, An[:, None], mask, self.qkv.lin.weight[None], self.qkv.bias[None], self.heads)
        return x[:, 0], att[:, 0]


def _attention(X, An, mask, weight, bias, heads):
    """Attention of ``c`` channels at once: ``An`` (B, c, N, N) normalised adjacencies, ``weight``
    (c, 3·d_att, d_in) and ``bias`` (c, 3·d_att) the channels' stacked Q/K/V GCN parameters.
    Returns node features (B, c, N, d_att) and symmetric, masked attention maps (B, c, N, N)."""
    B, c, N, _ = An.shape
    d_att = weight.shape[1] // 3
    h = An @ torch.einsum("bnd,ced->bcne", X, weight) + bias[None, :, None, :]
    q, k, v = h.split(d_att, -1)
    q, k = q.reshape(B, c, N, heads, -1), k.reshape(B, c, N, heads, -1)
    att = torch.tanh(torch.einsum("bcihd,bcjhd->bchij", q, k) / q.shape[-1] ** 0.5).mean(2)
    att = 0.5 * (att + att.transpose(-1, -2)) * pair_mask(mask).to(X.dtype)[:, None]
    n = mask.sum(1).clamp(min=1).to(X.dtype)[:, None, None, None]
    x = torch.tanh(v + att @ v / n) * mask[:, None, :, None].to(X.dtype)
    return x, att


class _Pairs:
    """The valid node pairs ``i < j`` of a batch, as flat indices into (B·N·N): edge MLPs run on
    these only (their inputs are symmetric, so the outputs are too) and :meth:`dense` mirrors the
    results back into symmetric (B, N, N, c) arrays that are zero on the diagonal and on padding."""

    def __init__(self, mask: torch.Tensor):
        B, N = mask.shape
        upper = pair_mask(mask) & torch.ones(N, N, dtype=torch.bool, device=mask.device).triu(1)
        self.index = upper.reshape(-1).nonzero().squeeze(1)
        b, ij = self.index // (N * N), self.index % (N * N)
        self.mirror = b * N * N + (ij % N) * N + ij // N
        self.batch = b
        self.shape = (B, N)

    def take(self, dense: torch.Tensor) -> torch.Tensor:
        """(B, N, N, c) → (P, c) at the valid upper pairs."""
        return dense.reshape(-1, dense.shape[-1]).index_select(0, self.index)

    def dense(self, values: torch.Tensor) -> torch.Tensor:
        """(P, c) → symmetric (B, N, N, c), zero elsewhere."""
        B, N = self.shape
        out = values.new_zeros(B * N * N, values.shape[-1])
        out = out.index_copy(0, torch.cat([self.index, self.mirror]), torch.cat([values, values]))
        return out.reshape(B, N, N, -1)


class AttentionLayer(nn.Module):
    """Attention on each of ``c_in`` adjacency channels; node features averaged over channels; new
    channels from an edge MLP over ``[attention maps, input channels]``, symmetric (computed on the
    pairs ``i < j`` and mirrored)."""

    def __init__(self, d_in: int, c_in: int, d_att: int, c_out: int, heads: int, hidden: int):
        super().__init__()
        self.att = nn.ModuleList(GraphAttention(d_in, d_att, heads) for _ in range(c_in))
        self.edge = _mlp(2 * c_in, hidden, c_out, layers=2)
        self.heads = heads

    def forward(self, X, C, mask, pairs: _Pairs | None = None, pair_feats: torch.Tensor | None = None):
        """``C``: (B, N, N, c_in) channels. Returns node features, the new channels (B, N, N, c_out)
        and their values at the valid pairs (P, c_out)."""
        pairs = _Pairs(mask) if pairs is None else pairs
        pair_feats = pairs.take(C) if pair_feats is None else pair_feats
        weight = torch.stack([a.qkv.lin.weight for a in self.att])
        bias = torch.stack([a.qkv.bias for a in self.att])
        x, att = _attention(X, normalized_adjacency(C.permute(0, 3, 1, 2)), mask, weight, bias, self.heads)
        att_pairs = pairs.take(att.permute(0, 2, 3, 1))
        c = torch.tanh(self.edge(torch.cat([att_pairs, pair_feats], -1)))
        return x.mean(1), pairs.dense(c), c


class ScoreNetworkA(nn.Module):
    """Graph multi-head attention over the channels ``[A, A², …, A^c_init]``, then an edge MLP over
    all channels of all layers.

    Parameters
    ----------
    n_features
        Node feature size ``F``.
    layers, d_att, heads
        Number of attention layers, their node width and heads.
    c_init, c_hid, c_final
        Adjacency powers at the input, channels between layers, channels of the last layer.
    hidden
        Width of the edge MLPs.
    time_conditioning
        Append ``t`` as a node feature and an edge channel.
    """

    def __init__(self, n_features: int, layers: int = 3, d_att: int = 16, heads: int = 4, c_init: int = 2,
                 c_hid: int = 8, c_final: int = 4, hidden: int = 32, time_conditioning: bool = True):
        super().__init__()
        self.config = {"n_features": int(n_features), "layers": int(layers), "d_att": int(d_att),
                       "heads": int(heads), "c_init": int(c_init), "c_hid": int(c_hid), "c_final": int(c_final),
                       "hidden": int(hidden), "time_conditioning": bool(time_conditioning)}
        self.n_features, self.time_conditioning, self.c_init = int(n_features), bool(time_conditioning), int(c_init)
        tc = int(self.time_conditioning)
        mods = []
        d_in, c_in = self.n_features + tc, self.c_init
        for i in range(layers):
            c_out = c_final if i == layers - 1 else c_hid
            mods.append(AttentionLayer(d_in, c_in, d_att, c_out, heads, hidden))
            d_in, c_in = d_att, c_out
        self.layers = nn.ModuleList(mods)
        c_total = self.c_init + c_hid * (layers - 1) + c_final + tc
        self.final = _mlp(c_total, 2 * hidden, 1, layers=3)

    def forward(self, X, A, mask, t):
        pm = pair_mask(mask).to(A.dtype)
        A = A * pm
        powers = [A]
        for _ in range(self.c_init - 1):
            powers.append(powers[-1] @ A)
        C = torch.stack(powers, -1)
        pairs = _Pairs(mask)
        h = X
        if self.time_conditioning:
            h = torch.cat([X, _time_feature(t, X, X.shape[:2] + (1,))], -1)
        feats = pairs.take(C)
        chans = [feats]
        for layer in self.layers:
            h, C, feats = layer(h, C, mask, pairs, feats)
            chans.append(feats)
        if self.time_conditioning:
            tt = torch.as_tensor(t, dtype=A.dtype, device=A.device).expand(A.shape[0])
            chans.append(tt[pairs.batch][:, None])
        out = self.final(torch.cat(chans, -1))
        return pairs.dense(out).squeeze(-1)
