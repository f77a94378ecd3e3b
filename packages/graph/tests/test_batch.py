from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.graph.batch import GraphBatch, pair_mask, symmetric_noise


def _graphs():
    return [nx.path_graph(3), nx.cycle_graph(5), nx.star_graph(3), nx.petersen_graph()]


def test_networkx_round_trip_keeps_edges_and_drops_padding():
    graphs = _graphs()
    b = GraphBatch.from_networkx(graphs, max_nodes=12)
    assert b.A.shape == (4, 12, 12) and b.mask.sum(1).tolist() == [3, 5, 4, 10]
    back = b.to_networkx()
    for g, h in zip(graphs, back):
        assert h.number_of_nodes() == g.number_of_nodes()
        assert nx.utils.edges_equal(sorted(map(sorted, g.edges)), sorted(map(sorted, h.edges)))


def test_degree_features_are_one_hot_degrees_and_padding_is_empty():
    b = GraphBatch.from_networkx([nx.star_graph(3), nx.path_graph(2)], n_features=3)
    assert b.X.shape == (2, 4, 3)
    # star: centre degree 3 clipped to the last class, leaves degree 1
    assert b.X[0].argmax(1).tolist() == [2, 1, 1, 1]
    assert b.X[1, :2].argmax(1).tolist() == [1, 1] and b.X[1, 2:].abs().sum() == 0
    assert torch.equal(b.X.sum(-1) > 0, b.mask)


def test_pad_to_and_indexing():
    b = GraphBatch.from_networkx(_graphs())
    p = b.pad_to(15)
    assert p.max_nodes == 15 and torch.equal(p.n_nodes, b.n_nodes)
    assert len(p[1:3]) == 2 and p[0].n_nodes.tolist() == [3]
    with pytest.raises(InputError, match="more than max_nodes"):
        b.pad_to(6)


def test_symmetric_noise_is_symmetric_with_zero_diagonal_and_standard():
    z = symmetric_noise((200, 6, 6), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert torch.equal(z, z.transpose(1, 2)) and z.diagonal(dim1=1, dim2=2).abs().max() == 0
    iu = torch.triu_indices(6, 6, 1)
    upper = z[:, iu[0], iu[1]]
    assert abs(float(upper.mean())) < 0.05 and abs(float(upper.var()) - 1) < 0.05


def test_pair_mask_excludes_padding_and_diagonal():
    m = torch.tensor([[True, True, False]])
    assert pair_mask(m)[0].tolist() == [[False, True, False], [True, False, False], [False, False, False]]


@pytest.mark.parametrize("make, match", [
    (lambda X, A, m: (X, A + torch.triu(torch.ones_like(A), 1) * 0.5, m), "not symmetric"),
    (lambda X, A, m: (X, A + torch.eye(A.shape[1]), m), "nonzero diagonal"),
    (lambda X, A, m: (X, A, m.clone().fill_(False)), "padded nodes"),
    (lambda X, A, m: (X + 1.0, A, m), "features on padded nodes"),
    (lambda X, A, m: (X, A[:, :, :3], m), "square"),
    (lambda X, A, m: (X, A, m[:, :3]), "mask must have shape"),
    (lambda X, A, m: (X, A * float("nan"), m), "NaN"),
])
def test_invalid_batches_raise_input_error(make, match):
    b = GraphBatch.from_networkx([nx.path_graph(3), nx.path_graph(4)])
    with pytest.raises(InputError, match=match):
        GraphBatch(*make(b.X, b.A, b.mask))


def test_type_errors():
    b = GraphBatch.from_networkx([nx.path_graph(3)])
    with pytest.raises(InputTypeError):
        GraphBatch(b.X, b.A, b.mask.float())
    with pytest.raises(InputTypeError):
        GraphBatch(b.X.numpy(), b.A, b.mask)
    with pytest.raises(InputTypeError):
        GraphBatch(b.X.double(), b.A, b.mask)


@pytest.mark.parametrize("graphs, match", [
    ([], "empty"),
    ([nx.DiGraph([(0, 1)])], "directed"),
    ([nx.MultiGraph([(0, 1), (0, 1)])], "multigraph"),
    ([nx.Graph([(0, 0), (0, 1)])], "self-loops"),
    ([nx.path_graph(8)], "node budget"),
    ([nx.Graph()], "no nodes"),
])
def test_bad_networkx_input(graphs, match):
    with pytest.raises(InputError, match=match):
        GraphBatch.from_networkx(graphs, max_nodes=5)


def test_single_graph_and_non_graphs_are_type_errors():
    with pytest.raises(InputTypeError, match="wrap a single graph"):
        GraphBatch.from_networkx(nx.path_graph(3))
    with pytest.raises(InputTypeError):
        GraphBatch.from_networkx([np.eye(3)])
