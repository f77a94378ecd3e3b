"""Conformance cases (see :mod:`stochflow.core.testing`) for every entry of stochflow-sde."""

from __future__ import annotations

from stochflow.core.testing import Case


def _y0(backend, dtype, device, value=1.0, shape=(4, 2)):
    if backend == "torch":
        import torch

        return torch.full(shape, value, dtype=getattr(torch, dtype), device=device)
    import jax
    import jax.numpy as jnp

    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    return jnp.full(shape, value, dtype=dtype)


def _process_for(solver: str):
    from stochflow.sde import CIR, GBM, SDE, OrnsteinUhlenbeck

    if solver in ("sra1",):
        return OrnsteinUhlenbeck(theta=1.0, mu=0.5, sigma=0.3)
    if solver in ("rk4", "dopri5"):
        return SDE(drift=lambda t, y: -y)
    if solver == "cir-implicit":
        return CIR()
    gbm = GBM(mu=0.2, sigma=0.4)
    if solver in ("heun", "midpoint", "euler-heun", "reversible-heun"):
        return SDE(drift=gbm.f, diffusion=gbm.g, noise="diagonal", kind="stratonovich")
    return gbm


def _solver_case(solver: str) -> Case:
    from stochflow.sde import SDE, solve

    proc = _process_for(solver)

    def run(*, backend, dtype, seed, device):
        import numpy as np

        return solve(proc, _y0(backend, dtype, device, 0.05 if solver == "cir-implicit" else 1.0),
                     np.array([0.0, 0.5, 1.0]), solver=solver, dt=0.1, seed=seed)

    def y0():
        import torch

        return torch.ones(4, 2, dtype=torch.float64)

    import numpy as np

    ts = np.array([0.0, 1.0])
    ode = solver in ("rk4", "dopri5")
    wrong = SDE(drift=lambda t, y: y[..., :1], diffusion=None if ode else (lambda t, y: y))
    bad = [
        lambda: solve(proc, y0(), ts, solver=solver, dt=-1.0),
        lambda: solve(proc, y0(), np.array([0.0, 1.0, 0.5]), solver=solver, dt=0.1),
        lambda: solve(proc, y0() * float("nan"), ts, solver=solver, dt=0.1),
        lambda: solve(wrong, y0(), ts, solver=solver, dt=0.1),
        lambda: solve(proc, y0(), ts, solver=solver, adaptive=True, rtol=0.0),
        lambda: solve(proc, y0(), ts, solver=solver, adaptive=True, atol=-1.0),
    ]
    if solver == "srk":
        general = SDE(drift=lambda t, y: y, diffusion=lambda t, y: y[..., None] * y[..., None, :], noise="general")
        bad.append(lambda: solve(general, y0(), ts, solver=solver, dt=0.1))
    if ode:
        bad.append(lambda: solve(proc, y0(), ts, solver=solver, dt=0.1, adjoint=True, adjoint_params=3.0))
    else:
        bad.append(lambda: solve(proc, y0(), ts, solver=solver, dt=0.1, adjoint=True))
    if solver == "dopri5":  # the adaptive path is what dopri5 is for: exercise it
        def run(*, backend, dtype, seed, device):  # noqa: F811
            import numpy as np

            return solve(proc, _y0(backend, dtype, device), np.array([0.0, 0.5, 1.0]), solver=solver,
                         adaptive=True, rtol=1e-5, atol=1e-8)
    return Case(run=run, bad_inputs=bad, stochastic=not ode)


def case_euler(): return _solver_case("euler")  # noqa: E704
def case_milstein(): return _solver_case("milstein")  # noqa: E704
def case_heun(): return _solver_case("heun")  # noqa: E704
def case_midpoint(): return _solver_case("midpoint")  # noqa: E704
def case_euler_heun(): return _solver_case("euler-heun")  # noqa: E704
def case_sra1(): return _solver_case("sra1")  # noqa: E704
def case_rk4(): return _solver_case("rk4")  # noqa: E704
def case_srk(): return _solver_case("srk")  # noqa: E704
def case_reversible_heun(): return _solver_case("reversible-heun")  # noqa: E704
def case_dopri5(): return _solver_case("dopri5")  # noqa: E704
def case_cir_implicit(): return _solver_case("cir-implicit")  # noqa: E704


def _process_case(make, solver="euler", value=1.0, shape=(4, 2)) -> Case:
    from stochflow.sde import solve

    def run(*, backend, dtype, seed, device):
        import numpy as np

        return solve(make(), _y0(backend, dtype, device, value, shape), np.array([0.0, 1.0]), solver=solver,
                     dt=0.1, seed=seed)

    return Case(run=run, bad_inputs=[lambda: make(bad=True)])


def case_process_sde():
    from stochflow.sde import SDE

    def make(bad=False):
        return SDE(drift=lambda t, y: -y, diffusion=lambda t, y: 0.1 * y, noise="bogus" if bad else "diagonal")
    return _process_case(make)


def case_process_brownian_motion():
    from stochflow.sde import BrownianMotion
    return _process_case(lambda bad=False: BrownianMotion(sigma=-1.0 if bad else 1.0))


def case_process_gbm():
    from stochflow.sde import GBM
    return _process_case(lambda bad=False: GBM(sigma=0.0 if bad else 0.5))


def case_process_ornstein_uhlenbeck():
    from stochflow.sde import OrnsteinUhlenbeck
    return _process_case(lambda bad=False: OrnsteinUhlenbeck(theta=-1.0 if bad else 1.0), solver="sra1")


def case_process_cir():
    from stochflow.sde import CIR
    return _process_case(lambda bad=False: CIR(kappa=float("nan") if bad else 2.0), solver="cir-implicit",
                         value=0.04)


def case_process_underdamped_langevin():
    from stochflow.sde import UnderdampedLangevin
    return _process_case(lambda bad=False: UnderdampedLangevin(gamma=0.0 if bad else 1.0), solver="sra1",
                         shape=(4, 4))
