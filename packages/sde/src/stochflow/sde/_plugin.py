"""Registry entries of stochflow-sde (no torch or jax import here)."""

from __future__ import annotations

from stochflow.core import DemoEntry, ProcessEntry, SolverEntry, hookimpl

_C = "stochflow.sde._conformance"
_BOTH = ("torch", "jax")
_ALL = ("diagonal", "additive", "scalar", "general")

# name, strong, weak, noise, calculus, levy area, summary (mirrors stochflow.sde.methods.METHODS)
_SOLVERS = (
    ("euler", 0.5, 1.0, _ALL, "ito", None, "Euler–Maruyama: strong 0.5 (1.0 for additive noise), weak 1.0"),
    ("milstein", 1.0, 1.0, ("diagonal", "scalar", "additive"), ("ito", "stratonovich"), None,
     "Milstein (Itô or Stratonovich, commutative noise), g g' analytic or by one derivative product: strong 1.0"),
    ("heun", 0.5, 1.0, _ALL, "stratonovich", None, "Stochastic Heun (Stratonovich): strong 0.5, weak 1.0"),
    ("midpoint", 0.5, 1.0, _ALL, "stratonovich", None, "Stochastic midpoint (Stratonovich): strong 0.5, weak 1.0"),
    ("euler-heun", 0.5, 1.0, _ALL, "stratonovich", None, "Euler–Heun (Stratonovich): strong 0.5, weak 1.0"),
    ("sra1", 1.5, 2.0, ("additive",), ("ito", "stratonovich"), "space-time",
     "Rößler SRA1 for additive noise with the space-time Lévy area: strong 1.5, weak 2.0 (alias shark)"),
    ("srk", 1.5, 1.5, ("diagonal", "scalar", "additive"), "ito", "space-time",
     "Rößler SRI (SRID2) for diagonal/scalar Itô noise, SRA1 for additive: strong 1.5 (space-time Lévy area)"),
    ("reversible-heun", 0.5, 1.0, _ALL, "stratonovich", None,
     "Reversible Heun (Kidger et al. 2021, Stratonovich), algebraically reversible: strong 0.5 (1.0 additive)"),
    ("rk4", None, 4.0, ("none",), "ode", None, "Classical Runge–Kutta 4 for ODEs (probability-flow ODEs): order 4"),
    ("dopri5", None, 5.0, ("none",), "ode", None,
     "Dormand–Prince 5(4) for ODEs: order 5, embedded error estimate for adaptive=True (PID controller)"),
    ("cir-implicit", 0.5, 1.0, ("diagonal",), "ito", None,
     "Drift-implicit square-root Euler for CIR: paths stay non-negative"),
)


@hookimpl
def stochflow_solvers() -> list:
    out = []
    for name, strong, weak, noise, calculus, levy, summary in _SOLVERS:
        orders = {"weak": weak} if strong is None else {"strong": strong, "weak": weak}
        props = {"noise": noise, "calculus": calculus, "adaptive": True, "levy_area": levy or "none",
                 "error_estimate": "embedded" if name == "dopri5" else "step doubling",
                 "adjoint": noise == ("none",), "reversible": name == "reversible-heun"}
        out.append(SolverEntry(
            name=name, target="stochflow.sde.solve:solve", backends=_BOTH, summary=summary,
            applies_to=("ode",) if noise == ("none",) else ("sde",), orders=orders, properties=props,
            conformance=f"{_C}:case_{name.replace('-', '_')}"))
    return out


@hookimpl
def stochflow_processes() -> list:
    procs = (
        ("sde", "SDE", "An SDE from drift/diffusion callables (nn.Modules welcome): noise type and calculus"),
        ("brownian-motion", "BrownianMotion", "Brownian motion with drift; exact solution"),
        ("gbm", "GBM", "Geometric Brownian motion (Itô, diagonal); exact pathwise solution and moments"),
        ("ornstein-uhlenbeck", "OrnsteinUhlenbeck", "Ornstein–Uhlenbeck (additive noise); closed-form moments"),
        ("cir", "CIR", "Cox–Ingersoll–Ross; closed-form mean/variance, non-negative 'cir-implicit' scheme"),
        ("underdamped-langevin", "UnderdampedLangevin", "Underdamped Langevin in a quadratic potential"),
    )
    out = [ProcessEntry(name=n, target=f"stochflow.sde.processes:{a}", backends=_BOTH, summary=s,
                        conformance=f"{_C}:case_process_{n.replace('-', '_')}") for n, a, s in procs]
    brownian = (
        ("virtual-brownian-tree", "VirtualBrownianTree",
         "Single-seed virtual Brownian tree: any query, any order, with space-time(-time) Lévy areas; cached"),
        ("brownian-path", "BrownianPath", "Fixed-grid Brownian path: all increments (and Lévy areas) in one draw"),
    )
    out += [ProcessEntry(name=n, target=f"stochflow.sde.brownian:{a}", backends=_BOTH, summary=s,
                         conformance=f"stochflow.sde.brownian._conformance:case_{n.replace('-', '_')}")
            for n, a, s in brownian]
    return out


@hookimpl
def stochflow_demos() -> list:
    return [DemoEntry(name="sde", target="stochflow.sde.demo:run",
                      summary="GBM sample paths and fitted strong orders of Euler, Milstein and SRK")]
