"""Registry entries of stochflow-jump (no torch import here: targets load lazily)."""

from __future__ import annotations

from stochflow.core import CommandEntry, DemoEntry, ModelEntry, ProcessEntry, SolverEntry, hookimpl

_C = "stochflow.jump._conformance"


@hookimpl
def stochflow_processes() -> list:
    return [
        ProcessEntry("jump-dfr", "stochflow.jump.generators:dfr_generator",
                     "discrete flashing ratchet: 6-state generator with potential V, switching r, diffusion b",
                     backends=("torch",), conformance=f"{_C}:case_dfr"),
        ProcessEntry("jump-random-generator", "stochflow.jump.generators:random_generator",
                     "random generators from FIM-MJP's prior (2-6 states, sparsity, rates in (0, 1])",
                     backends=("torch",), conformance=f"{_C}:case_random_generator"),
    ]


@hookimpl
def stochflow_solvers() -> list:
    return [
        SolverEntry("jump-gillespie", "stochflow.jump.gillespie:simulate",
                    "exact Gillespie simulation, vectorised over paths and processes",
                    backends=("torch", "numpy"), applies_to=("mjp",), properties={"exact": True},
                    conformance=f"{_C}:case_gillespie"),
        SolverEntry("jump-transition-matrix", "stochflow.jump.propagation:transition_matrix",
                    "transition probabilities e^{Qt} by uniformisation or the matrix exponential",
                    backends=("torch", "numpy"), applies_to=("mjp",), conformance=f"{_C}:case_transition"),
    ]


@hookimpl
def stochflow_models() -> list:
    return [
        ModelEntry("jump-mle", "stochflow.jump.estimators.ml:MLEstimator",
                   "rates from fully observed paths: jump counts over holding times, optional Gamma MAP",
                   backends=("torch", "numpy"), conformance=f"{_C}:case_mle"),
        ModelEntry("jump-em", "stochflow.jump.estimators.em:EMEstimator",
                   "EM for discretely observed MJPs (Van Loan / uniformisation), label noise as a CT-HMM",
                   backends=("torch", "numpy"), conformance=f"{_C}:case_em"),
        ModelEntry("jump-amortized", "stochflow.jump.amortized:AmortizedEstimator",
                   "FIM-style amortised rates (pretrained network, shipped checkpoint), optionally refined by EM",
                   backends=("torch", "numpy"), conformance=f"{_C}:case_amortized"),
        ModelEntry("jump-pseudo-generator", "stochflow.jump.estimators.pseudo:PseudoGeneratorEstimator",
                   "pseudo-generator: observed label changes over time spent (biased, fast)",
                   backends=("torch", "numpy"), conformance=f"{_C}:case_pseudo"),
    ]


@hookimpl
def stochflow_commands() -> list:
    return [CommandEntry("jump", "stochflow.jump.cli:main",
                         "Markov jump processes: infer a rate matrix from a CSV/Parquet of observations")]


@hookimpl
def stochflow_demos() -> list:
    return [DemoEntry("jump", "stochflow.jump.demo:run",
                      "EM infers the flashing ratchet's rates from noisy sparse paths; true vs inferred rates")]
