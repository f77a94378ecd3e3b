"""Samplers that hand the reverse-time dynamics to stochflow-sde's general solvers.

Time runs backwards (``T → eps``) while :func:`stochflow.sde.solve` integrates forwards, so these
samplers use ``s = −t``: ``dy/ds = −v(y, −s)``. In the centred variable ``y = x − μ``:

* ``pf-ode``: the probability-flow ODE ``dy/dt = f(t) y − ½ g(t)² ∇log p_t`` by Dormand–Prince
  5(4) with adaptive steps (``method="dopri5"``, ``rtol``, ``atol``: only the grid's end points are
  used, the NFE is whatever the controller needs and is recorded), or any fixed-step ODE method of
  stochflow-sde stepping on the grid (``method="rk4"``: 4 evaluations per step).
* ``pf-ode-rk4``: the same with classical RK4 on the grid (4 evaluations per step).
* ``reverse-sde``: the reverse-time SDE ``dy = [f y − g² ∇log p_t] dt + g dW̄`` (additive noise) by a
  stochflow-sde SDE method on the grid (``method="euler"``: 1 evaluation per step; ``"sra1"``:
  Rößler's order-1.5 scheme for additive noise, 2 per step). The Brownian path is drawn by
  stochflow-sde from a seed taken from the sampler's generator. Unlike ``euler-maruyama``, the last
  step keeps its noise (no denoising step).

The field is wrapped in :class:`~stochflow.diffusion._util.LastCallCache`, so the NFE counts
distinct score evaluations (stochflow-sde evaluates the field once more to check shapes).
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError
from stochflow.diffusion._util import LastCallCache

ODE_METHODS = ("dopri5", "rk4")
SDE_METHODS = ("euler", "sra1", "srk", "milstein")


def _sde_module():
    try:
        import stochflow.sde as sde
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise InputError("this sampler needs stochflow-sde: pip install stochflow-sde") from exc
    return sde


def _field(ev, c: float):
    """``(s, y) -> −(f(t) y − c g(t)² ∇log p_t(y))`` at ``t = −s``."""
    sch = ev.schedule

    def field(s, y):
        t = torch.as_tensor(-float(s), dtype=y.dtype, device=y.device)
        ev.step = ev.nfe
        return -(sch.drift_coef(t) * y - c * sch.diffusion2(t) * ev.score(y, t))

    return LastCallCache(field)


def _check(method, allowed, name):
    if method not in allowed:
        raise InputError(f"{name} takes method in {allowed}, got {method!r}")


def _increasing(grid: torch.Tensor) -> list[float]:
    return [-float(t) for t in grid]


def pf_ode(ev, y, grid, *, generator=None, lower_order_final=True, method: str = "dopri5",
           rtol: float = 1e-5, atol: float = 1e-5):
    _check(method, ODE_METHODS, "pf-ode")
    sde = _sde_module()
    process = sde.SDE(drift=_field(ev, 0.5))
    s = _increasing(grid)
    if method == "dopri5":
        return sde.solve(process, y, [s[0], s[-1]], solver="dopri5", adaptive=True, rtol=rtol, atol=atol)[-1]
    return sde.solve(process, y, s, solver=method)[-1]


def pf_ode_rk4(ev, y, grid, *, generator=None, lower_order_final=True):
    return pf_ode(ev, y, grid, method="rk4")


def reverse_sde(ev, y, grid, *, generator=None, lower_order_final=True, method: str = "euler"):
    _check(method, SDE_METHODS, "reverse-sde")
    sde = _sde_module()
    sch = ev.schedule

    def diffusion(s, y):
        t = torch.as_tensor(-float(s), dtype=y.dtype, device=y.device)
        return torch.sqrt(sch.diffusion2(t)) * torch.ones_like(y)

    process = sde.SDE(drift=_field(ev, 1.0), diffusion=diffusion, noise="additive")
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=generator.device)) if generator else 0
    return sde.solve(process, y, _increasing(grid), solver=method, seed=seed)[-1]
