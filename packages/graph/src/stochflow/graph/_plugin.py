"""Registry entries of stochflow-graph (no torch import here: targets load lazily)."""

from __future__ import annotations

from stochflow.core import (
    CommandEntry,
    DatasetEntry,
    DemoEntry,
    ModelEntry,
    ProcessEntry,
    SolverEntry,
    hookimpl,
)

_P = "stochflow.graph"
_C = f"{_P}._conformance"


@hookimpl
def stochflow_processes() -> list:
    return [ProcessEntry("graph-joint-sde", f"{_P}.sde:GraphSDE",
                         "joint VP/VE SDEs on node features and symmetric adjacency, node masks (GDSS)",
                         conformance=f"{_C}:case_process")]


@hookimpl
def stochflow_solvers() -> list:
    common = {"applies_to": ("graph",), "backends": ("torch",)}
    return [
        SolverEntry("graph-pc", f"{_P}.sampling:pc_sampler",
                    "predictor-corrector on (X, A): Langevin corrector, reverse-diffusion or EM predictor",
                    orders={"weak": 1}, properties={"nfe_per_step": 2, "stochastic": True},
                    conformance=f"{_C}:case_pc", **common),
        SolverEntry("graph-s4", f"{_P}.sampling:s4_sampler",
                    "S4: one score evaluation per step, Langevin correction + split linear transition",
                    orders={"weak": 1}, properties={"nfe_per_step": 1, "stochastic": True},
                    conformance=f"{_C}:case_s4", **common),
    ]


@hookimpl
def stochflow_models() -> list:
    return [ModelEntry("gdss", f"{_P}.training:GDSSTrainer",
                       "GDSS: ScoreNetworkX (GCN) + ScoreNetworkA (graph attention), DSM on both partial scores",
                       conformance=f"{_C}:case_gdss")]


@hookimpl
def stochflow_datasets() -> list:
    return [
        DatasetEntry(f"graph-{name}", f"{_P}.datasets:{fn}", summary, conformance=f"{_C}:case_{fn}")
        for name, fn, summary in [
            ("community-small", "community_small", "two-community graphs, 12-20 nodes, distinct (GDSS mode optional)"),
            ("ego-small", "ego_small", "radius-1 ego graphs of 4-18 nodes from a generated citation-like network"),
            ("grid", "grid", "2-D grid graphs (GDSS: sides 10-19)"),
            ("sbm", "sbm", "stochastic block model graphs, 2-5 blocks of 20-40 nodes (SPECTRE)"),
            ("planar", "planar", "Delaunay triangulations of 64 random points (SPECTRE)"),
        ]
    ]


@hookimpl
def stochflow_commands() -> list:
    return [CommandEntry("graph", f"{_P}.cli:main", "graph generation (GDSS): train on a data set, sample graphs")]


@hookimpl
def stochflow_demos() -> list:
    return [DemoEntry("graph", f"{_P}.demo:run",
                      "train a tiny GDSS on community-small, sample, draw generated beside training graphs, MMDs")]
