"""stochflow-bridge: entropic optimal transport and Schrödinger bridges on numpy, torch and JAX.

- :func:`sinkhorn`: log-domain Sinkhorn (balanced or KL-relaxed) and Sinkhorn-Newton-Sparse, batched,
  differentiable (envelope theorem), float32-safe, returning a :class:`SinkhornOutput`.
- :func:`cost_matrix`: pairwise costs between point clouds.
- :class:`MultiMarginalSB`: trajectory inference from snapshots (AnnData time courses) by multi-marginal
  Schrödinger bridges with iterative refinement of the reference: linear SDEs (:class:`LinearReference`),
  Lotka-Volterra and repressilator drifts (:mod:`stochflow.bridge.systems`) or any ``torch.nn.Module``
  drift (:class:`DriftReference`).
- Snapshot data generated from known SDEs (no downloads): :func:`linear_sde_snapshots`,
  :func:`lotka_volterra_snapshots`, :func:`repressilator_snapshots`, :func:`branching_snapshots`.
"""

from stochflow.bridge.costs import cost_matrix
from stochflow.bridge.ot import sinkhorn
from stochflow.bridge.output import SinkhornOutput

__all__ = ["DriftReference", "LinearReference", "LotkaVolterraDrift", "MultiMarginalSB", "RepressilatorDrift",
           "SinkhornOutput", "branching_snapshots", "cost_matrix", "linear_sde_snapshots", "lotka_volterra_snapshots",
           "repressilator_snapshots", "sinkhorn"]

_LAZY = {"MultiMarginalSB": "stochflow.bridge.mmsb", "LinearReference": "stochflow.bridge.reference",
         "DriftReference": "stochflow.bridge.drift_reference", "LotkaVolterraDrift": "stochflow.bridge.systems",
         "RepressilatorDrift": "stochflow.bridge.systems", "linear_sde_snapshots": "stochflow.bridge.snapshots",
         "lotka_volterra_snapshots": "stochflow.bridge.snapshots", "repressilator_snapshots": "stochflow.bridge.snapshots",
         "branching_snapshots": "stochflow.bridge.snapshots"}


def __getattr__(name: str):
    """Import the Schrödinger-bridge pieces (torch, anndata) on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'stochflow.bridge' has no attribute {name!r}")
