"""stochflow-graph: graph generation by a system of SDEs (GDSS), with graph metrics.

>>> import stochflow.graph as sfg
>>> train, test = sfg.datasets.split(sfg.datasets.community_small(100, seed=0))
>>> model = sfg.GDSSTrainer(iterations=300, size="tiny").fit(train).fetch_model()   # doctest: +SKIP
>>> graphs = model.sample(20, solver="graph-s4", steps=200, seed=0).graphs()          # doctest: +SKIP
>>> sfg.metrics.graph_mmd(test, graphs)                                                # doctest: +SKIP

Names are imported on first use, so that the registry (which imports ``stochflow.graph._plugin``)
never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stochflow.core.lazy import lazy_exports

_WHERE = {
    "GraphBatch": "batch", "pair_mask": "batch", "symmetric_noise": "batch",
    "GraphSDE": "sde", "GraphPrior": "sde",
    "ScoreNetworkX": "nets", "ScoreNetworkA": "nets",
    "GraphScoreModel": "model",
    "GDSSTrainer": "training", "dsm_loss": "training", "default_nets": "training",
    "GraphSample": "sampling", "sample": "sampling", "pc_sampler": "sampling", "s4_sampler": "sampling",
    "quantize": "sampling", "SAMPLERS": "sampling",
    "GaussianGraphModel": "testing",
    "graph_mmd": "metrics",
}
_MODULES = ("datasets", "metrics", "testing", "sampling")

__all__, __getattr__, __dir__ = lazy_exports(__name__, _WHERE, _MODULES)

if TYPE_CHECKING:  # pragma: no cover
    from stochflow.graph import datasets, metrics, sampling, testing  # noqa: F401
    from stochflow.graph.batch import GraphBatch, pair_mask, symmetric_noise  # noqa: F401
    from stochflow.graph.metrics import graph_mmd  # noqa: F401
    from stochflow.graph.model import GraphScoreModel  # noqa: F401
    from stochflow.graph.nets import ScoreNetworkA, ScoreNetworkX  # noqa: F401
    from stochflow.graph.sampling import SAMPLERS, GraphSample, pc_sampler, quantize, s4_sampler, sample  # noqa: F401
    from stochflow.graph.sde import GraphPrior, GraphSDE  # noqa: F401
    from stochflow.graph.testing import GaussianGraphModel  # noqa: F401
    from stochflow.graph.training import GDSSTrainer, default_nets, dsm_loss  # noqa: F401

