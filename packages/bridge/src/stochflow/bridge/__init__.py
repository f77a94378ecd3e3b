"""stochflow-bridge: entropic optimal transport and Schrödinger bridges on numpy, torch and JAX.

- :func:`sinkhorn`: log-domain Sinkhorn (balanced or KL-relaxed) and Sinkhorn-Newton-Sparse, batched,
  differentiable (envelope theorem), float32-safe, returning a :class:`SinkhornOutput`.
- :func:`cost_matrix`: pairwise costs between point clouds.
- :class:`MultiMarginalSB`: trajectory inference from snapshots (AnnData time courses) by multi-marginal
  Schrödinger bridges with iterative refinement of a linear-SDE reference (:class:`LinearReference`).
- :func:`linear_sde_snapshots`: snapshot data generated from a known SDE (no downloads).
"""

from stochflow.bridge.costs import cost_matrix
from stochflow.bridge.ot import sinkhorn
from stochflow.bridge.output import SinkhornOutput

__all__ = ["LinearReference", "MultiMarginalSB", "SinkhornOutput", "cost_matrix", "linear_sde_snapshots", "sinkhorn"]

_LAZY = {"MultiMarginalSB": "stochflow.bridge.mmsb", "LinearReference": "stochflow.bridge.reference",
         "linear_sde_snapshots": "stochflow.bridge.snapshots"}


def __getattr__(name: str):
    """Import the Schrödinger-bridge pieces (torch, anndata) on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stochflow.bridge' has no attribute {name!r}")
