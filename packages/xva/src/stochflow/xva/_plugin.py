"""Registry entries of stochflow-xva (no torch import here)."""

from __future__ import annotations

from stochflow.core import CommandEntry, DemoEntry, ProcessEntry, SolverEntry, hookimpl

_C = "stochflow.xva._conformance"


@hookimpl
def stochflow_solvers() -> list:
    return [SolverEntry(
        name="deep-bsde", target="stochflow.xva.solver:DeepBSDESolver", backends=("torch",),
        summary="Deep BSDE method (Han-Jentzen-E): learnable Y0 and Z-network, Adam, checkpoints, error indicator",
        applies_to=("bsde",), properties={"network": ("shared", "per-step"), "calculus": "ito"},
        conformance=f"{_C}:case_deep_bsde")]


@hookimpl
def stochflow_processes() -> list:
    return [
        ProcessEntry(name="correlated-gbm", target="stochflow.xva.forward:CorrelatedGBM", backends=("torch",),
                     summary="Correlated geometric Brownian motions (multi-asset Black-Scholes, firm values), exact",
                     conformance=f"{_C}:case_correlated_gbm"),
        ProcessEntry(name="first-passage-default", target="stochflow.xva.credit:first_passage_steps",
                     backends=("torch",),
                     summary="Structural first-passage default times with Brownian-bridge crossing correction",
                     conformance=f"{_C}:case_first_passage"),
        ProcessEntry(name="portfolio-value-bsde", target="stochflow.xva.layers:CleanValueProblem",
                     backends=("torch",), summary="Clean value of a netting set as a BSDE (xVA layer i)",
                     conformance=f"{_C}:case_clean_value"),
    ]


@hookimpl
def stochflow_commands() -> list:
    return [CommandEntry(name="xva", target="stochflow.xva.cli:main",
                         summary="price CVA, DVA, ColVA, MVA, FVA of a TOML portfolio; exposure profiles")]


@hookimpl
def stochflow_demos() -> list:
    return [DemoEntry(name="xva", target="stochflow.xva.demo:run",
                      summary="multi-layer xVA of a small portfolio with structural defaults; exposure profile")]
