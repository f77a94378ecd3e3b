"""stochflow-bridge: entropic optimal transport on numpy, torch and JAX.

- :func:`sinkhorn`: log-domain Sinkhorn (balanced or KL-relaxed) and Sinkhorn-Newton-Sparse, batched,
  differentiable (envelope theorem), float32-safe, returning a :class:`SinkhornOutput`.
- :func:`cost_matrix`: pairwise costs between point clouds.
"""

from stochflow.bridge.costs import cost_matrix
from stochflow.bridge.ot import sinkhorn
from stochflow.bridge.output import SinkhornOutput

__all__ = ["SinkhornOutput", "cost_matrix", "sinkhorn"]
