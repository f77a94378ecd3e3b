"""Registry entries of stochflow-bridge (imports neither torch nor JAX)."""

from __future__ import annotations

from stochflow.core import SolverEntry, hookimpl


@hookimpl
def stochflow_solvers() -> list[SolverEntry]:
    return [
        SolverEntry("sinkhorn-log", "stochflow.bridge.ot:sinkhorn_log", "log-domain Sinkhorn (balanced or KL-relaxed)",
                    backends=("torch", "jax", "numpy"), applies_to=("ot",),
                    conformance="stochflow.bridge._conformance:case_log"),
        SolverEntry("sinkhorn-sns", "stochflow.bridge.ot:sinkhorn_sns",
                    "Sinkhorn-Newton-Sparse (Tang et al. 2024)", backends=("torch", "jax", "numpy"),
                    applies_to=("ot",), conformance="stochflow.bridge._conformance:case_sns"),
    ]
