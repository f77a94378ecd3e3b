"""Registry entries of stochflow-diffusion (no torch import here)."""

from __future__ import annotations

from stochflow.core import DemoEntry, ModelEntry, ProcessEntry, SolverEntry, hookimpl

_P = "stochflow.diffusion"
_C = f"{_P}._conformance"

# name, evaluations per step, orders, stochastic, summary
_SOLVERS = [
    ("ddim", 1, {"ode": 1}, False, "DDIM (first-order exponential integrator; eta > 0 adds noise)"),
    ("dpm-solver-1", 1, {"ode": 1}, False, "DPM-Solver-1, single-step, noise prediction"),
    ("dpm-solver-2", 2, {"ode": 2}, False, "DPM-Solver-2, single-step midpoint in log-SNR"),
    ("dpm-solver-3", 3, {"ode": 3}, False, "DPM-Solver-3, single-step, r = 1/3, 2/3"),
    ("dpm-solver++2m", 1, {"ode": 2}, False, "DPM-Solver++(2M), multistep, data prediction"),
    ("dpm-solver++3m", 1, {"ode": 3}, False, "DPM-Solver++(3M), multistep, data prediction"),
    ("sde-dpm-solver++2m", 1, {"strong": 1}, True, "SDE-DPM-Solver++(2M), stochastic multistep"),
    ("unipc", 1, {"ode": 3}, False,
     "UniPC multistep predictor-corrector, data prediction (order=2: UniP-2 + UniC, overall order 3)"),
    ("heun", 2, {"ode": 2}, False, "Heun's method in EDM form (Karras et al. 2022)"),
    ("mrs", 1, {"ode": 2}, False, "MR Sampler for mean-reverting diffusion (noise/data/velocity forms)"),
    ("euler-maruyama", 1, {"strong": 0.5, "weak": 1}, True, "Euler-Maruyama on the reverse-time SDE"),
    ("reverse-diffusion", 1, {"weak": 1}, True, "ancestral sampling of the discretised forward chain"),
    ("pc", 2, {"weak": 1}, True, "predictor-corrector: reverse-diffusion + Langevin corrector (snr)"),
    ("pf-ode", None, {"ode": 5}, False, "probability-flow ODE by adaptive Dormand-Prince 5(4) through stochflow-sde"),
    ("pf-ode-rk4", 4, {"ode": 4}, False, "probability-flow ODE by classical RK4 through stochflow-sde"),
    ("reverse-sde", 1, {"strong": 1, "weak": 1}, True,
     "reverse-time SDE through stochflow-sde (method='euler' or 'sra1', additive noise)"),
]


@hookimpl
def stochflow_processes():
    return [
        ProcessEntry(name=f"diffusion-{key}", target=f"{_P}.sde:{cls}", summary=summary,
                     conformance=f"{_C}:case_{key.replace('-', '_')}")
        for key, cls, summary in [
            ("vp", "VPSDE", "variance-preserving diffusion SDE (DDPM's continuous limit)"),
            ("ve", "VESDE", "variance-exploding diffusion SDE (SMLD / NCSN)"),
            ("subvp", "SubVPSDE", "sub-VP diffusion SDE"),
            ("mean-reverting", "MeanRevertingSDE", "mean-reverting diffusion (IR-SDE)"),
        ]
    ]


@hookimpl
def stochflow_solvers():
    """Registry names carry a ``diffusion-`` prefix (generic names such as ``euler-maruyama`` or
    ``heun`` belong to SDE solvers too); ``sample`` takes the bare name (``properties["solver"]``)."""
    return [
        SolverEntry(name=f"diffusion-{name}", target=f"{_P}.samplers:SAMPLERS", summary=summary,
                    applies_to=("diffusion",), orders=orders,
                    properties={"nfe_per_step": nfe, "stochastic": stochastic, "solver": name,
                                "call": f"stochflow.diffusion.sample(score_fn, sde, shape, solver={name!r})"},
                    conformance=f"{_C}:case_solver_{name.replace('-', '_').replace('+', 'p')}")
        for name, nfe, orders, stochastic, summary in _SOLVERS
    ]


@hookimpl
def stochflow_models():
    return [ModelEntry(name="dsm-score", target=f"{_P}.training:ScoreTrainer", conformance=f"{_C}:case_dsm",
                       summary="denoising score matching (sigma^2 / likelihood weighting, EMA, resumable)")]


@hookimpl
def stochflow_demos():
    return [DemoEntry(name="diffusion", target=f"{_P}.demo:run",
                      summary="sample a 2-D Gaussian mixture with three samplers at 10 NFE beside the truth")]
