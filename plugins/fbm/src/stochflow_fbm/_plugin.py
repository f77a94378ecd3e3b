"""Registry entries of stochflow-fbm (imports neither torch nor jax)."""

from __future__ import annotations

from stochflow.core import DemoEntry, ProcessEntry, hookimpl


@hookimpl
def stochflow_processes() -> list:
    return [ProcessEntry(
        name="markov-fbm", target="stochflow_fbm.process:MarkovFBM", backends=("torch", "jax"),
        summary="Markov-approximate fractional Brownian motion: weighted OU processes, optimal weights; SDE noise",
        conformance="stochflow_fbm._conformance:case_markov_fbm")]


@hookimpl
def stochflow_demos() -> list:
    return [DemoEntry(name="fbm", target="stochflow_fbm.demo:run",
                      summary="Markov-approximate fBM: sample paths for H = 0.3, 0.7 and covariance error vs terms")]
