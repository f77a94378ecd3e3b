"""Permutation equivariance of the score networks: permuting the nodes permutes the output."""

from __future__ import annotations

import pytest
import torch

from stochflow.graph.batch import pair_mask, symmetric_noise
from stochflow.graph.nets import AttentionLayer, GraphAttention, ScoreNetworkA, ScoreNetworkX, normalized_adjacency


def _inputs(seed=0, B=3, N=7, F=4):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[1, 5:] = False
    mask[2, 3:] = False
    X = torch.randn(B, N, F, generator=g, dtype=torch.float64) * mask[:, :, None]
    A = (0.5 + symmetric_noise((B, N, N), generator=g, dtype=torch.float64)) * pair_mask(mask)
    t = torch.rand(B, generator=g, dtype=torch.float64)
    return X, A, mask, t


def _permute(perm, X, A, mask):
    return X[:, perm], A[:, perm][:, :, perm], mask[:, perm]


NETS = {
    "x": lambda tc: ScoreNetworkX(4, depth=2, hidden=8, time_conditioning=tc),
    "a": lambda tc: ScoreNetworkA(4, layers=2, d_att=8, heads=2, c_hid=3, c_final=2, hidden=8, time_conditioning=tc),
}


def _equivariance_error(net, seed=0):
    X, A, mask, t = _inputs(seed)
    perm = torch.randperm(X.shape[1], generator=torch.Generator().manual_seed(seed + 1))
    out = net(X, A, mask, t)
    out_p = net(*_permute(perm, X, A, mask), t)
    expected = out[:, perm] if out.ndim == 3 and out.shape[-1] != out.shape[1] else out[:, perm][:, :, perm]
    return float((out_p - expected).abs().max().detach()), out


@pytest.mark.parametrize("kind", ["x", "a"])
@pytest.mark.parametrize("tc", [True, False])
def test_permuting_nodes_permutes_the_output(kind, tc):
    torch.manual_seed(0)
    net = NETS[kind](tc).double()
    for seed in range(3):
        err, out = _equivariance_error(net, seed)
        assert err < 1e-10
        assert float(out.detach().abs().max()) > 1e-3  # the output is not trivially zero


def test_the_equivariance_check_catches_a_position_dependent_network():
    """The same check fails for a network that sees node positions (so the test can fail)."""
    torch.manual_seed(0)

    class Positional(ScoreNetworkX):
        def forward(self, X, A, mask, t):
            pos = torch.linspace(0, 1, X.shape[1], dtype=X.dtype)[None, :, None]
            return super().forward(X + pos * mask[:, :, None], A, mask, t)

    err, _ = _equivariance_error(Positional(4, depth=2, hidden=8).double())
    assert err > 1e-3


def test_outputs_respect_masks_symmetry_and_depend_on_A_and_t():
    torch.manual_seed(1)
    X, A, mask, t = _inputs(2)
    nx_, na = NETS["x"](True).double(), NETS["a"](True).double()
    ox, oa = nx_(X, A, mask, t), na(X, A, mask, t)
    assert ox[~mask].abs().max() == 0
    assert torch.equal(oa, oa.transpose(1, 2)) and oa[~pair_mask(mask)].abs().max() == 0
    A2 = A.clone()
    A2[0, 0, 1] = A2[0, 1, 0] = A[0, 0, 1] + 1.0
    assert (nx_(X, A2, mask, t)[0] - ox[0]).abs().max() > 1e-4
    assert (na(X, A2, mask, t)[0] - oa[0]).abs().max() > 1e-4
    assert (na(X, A, mask, t + 0.3) - oa).abs().max() > 1e-4
    # padded nodes' inputs cannot leak into real outputs
    X3, A3 = X.clone(), A.clone()
    X3[1, 6] = 5.0
    A3[1, 0, 6] = A3[1, 6, 0] = 3.0
    assert torch.allclose(nx_(X3, A3, mask, t)[1], ox[1]) and torch.allclose(na(X3, A3, mask, t)[1], oa[1])


def test_attention_layer_on_pairs_equals_the_dense_computation():
    """The layer evaluates its attentions in one batched pass and its edge MLP on the valid pairs
    i < j only; written out per channel and densely over all N² entries it gives the same result."""
    torch.manual_seed(3)
    X, A, mask, _ = _inputs(4, F=5)
    C = torch.stack([A, A @ A * pair_mask(mask)], -1)
    layer = AttentionLayer(5, 2, 8, 3, heads=2, hidden=6).double()
    x, c, c_pairs = layer(X, C, mask)
    xs, atts = zip(*(att(X, normalized_adjacency(C[..., i]), mask) for i, att in enumerate(layer.att)))
    ref_c = torch.tanh(layer.edge(torch.cat([torch.stack(atts, -1), C], -1))) * pair_mask(mask)[..., None]
    assert torch.allclose(x, torch.stack(xs, 0).mean(0), atol=1e-12)
    assert torch.allclose(c, ref_c, atol=1e-12)
    assert c_pairs.shape == (int(pair_mask(mask).sum()) // 2, 3)
    # one channel alone: the module's own forward against the formula
    g = GraphAttention(5, 8, 2).double()
    An = normalized_adjacency(A)
    h = An @ g.qkv.lin(X) + g.qkv.bias
    q, k, v = h.split(8, -1)
    B, N, _ = X.shape
    att = torch.tanh(torch.einsum("bihd,bjhd->bhij", q.reshape(B, N, 2, 4), k.reshape(B, N, 2, 4)) / 2.0).mean(1)
    att = 0.5 * (att + att.transpose(1, 2)) * pair_mask(mask)
    n = mask.sum(1).to(X.dtype)[:, None, None]
    x1, att1 = g(X, An, mask)
    assert torch.allclose(att1, att, atol=1e-12)
    assert torch.allclose(x1, torch.tanh(v + att @ v / n) * mask[..., None], atol=1e-12)
