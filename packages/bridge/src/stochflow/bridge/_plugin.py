"""Registry entries of stochflow-bridge (imports neither torch nor JAX)."""

from __future__ import annotations

from stochflow.core import CommandEntry, DatasetEntry, DemoEntry, ModelEntry, SolverEntry, hookimpl

_C = "stochflow.bridge._conformance"


@hookimpl
def stochflow_solvers() -> list[SolverEntry]:
    return [
        SolverEntry("sinkhorn-log", "stochflow.bridge.ot:sinkhorn_log", "log-domain Sinkhorn (balanced or KL-relaxed)",
                    backends=("torch", "jax", "numpy"), applies_to=("ot",), conformance=f"{_C}:case_log"),
        SolverEntry("sinkhorn-sns", "stochflow.bridge.ot:sinkhorn_sns",
                    "Sinkhorn-Newton-Sparse (Tang et al. 2024)", backends=("torch", "jax", "numpy"),
                    applies_to=("ot",), conformance=f"{_C}:case_sns"),
    ]


@hookimpl
def stochflow_models() -> list[ModelEntry]:
    return [ModelEntry("multi-marginal-sb", "stochflow.bridge.mmsb:MultiMarginalSB",
                       "trajectory inference: multi-marginal Schrödinger bridges with reference refinement",
                       backends=("numpy",), conformance=f"{_C}:case_mmsb")]


@hookimpl
def stochflow_datasets() -> list[DatasetEntry]:
    return [DatasetEntry("bridge-linear-sde-snapshots", "stochflow.bridge.snapshots:linear_sde_snapshots",
                         "snapshots (AnnData) of a spiralling linear SDE with known drift", backends=("numpy",),
                         conformance=f"{_C}:case_snapshots"),
            DatasetEntry("bridge-lotka-volterra-snapshots", "stochflow.bridge.snapshots:lotka_volterra_snapshots",
                         "snapshots (AnnData) of Lotka-Volterra with multiplicative noise", backends=("numpy",),
                         conformance=f"{_C}:case_lotka_volterra"),
            DatasetEntry("bridge-repressilator-snapshots", "stochflow.bridge.snapshots:repressilator_snapshots",
                         "snapshots (AnnData) of the stochastic repressilator", backends=("numpy",),
                         conformance=f"{_C}:case_repressilator"),
            DatasetEntry("bridge-branching-snapshots", "stochflow.bridge.snapshots:branching_snapshots",
                         "snapshots (AnnData) of a bifurcating differentiation process in 10-50 genes",
                         backends=("numpy",), conformance=f"{_C}:case_branching")]


@hookimpl
def stochflow_commands() -> list[CommandEntry]:
    return [CommandEntry("bridge", "stochflow.bridge.cli:main",
                         "Schrödinger-bridge trajectory inference: fit an .h5ad time course, predict marginals")]


@hookimpl
def stochflow_demos() -> list[DemoEntry]:
    return [DemoEntry("bridge", "stochflow.bridge.demo:run",
                      "SNS vs log-Sinkhorn convergence; Lotka-Volterra trajectories inferred from snapshots vs the truth")]
