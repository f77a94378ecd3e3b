"""Samplers: pure functions ``sampler(ev, y, grid, *, generator, lower_order_final, **options)``.

``ev`` is an :class:`~stochflow.diffusion._model.Evaluator`, ``y`` the centred starting point at
``grid[0]``, ``grid`` a decreasing tensor of times. Each returns the centred sample at ``grid[-1]``.
:data:`SAMPLERS` maps registry names to ``(function, evaluations per step)``; ``None`` for an
adaptive sampler (``pf-ode``), whose NFE the controller decides (see ``SampleResult.nfe``).
"""

from __future__ import annotations

from stochflow.diffusion.samplers.ddim import ddim
from stochflow.diffusion.samplers.dpm_solver import dpm_solver_1, dpm_solver_2, dpm_solver_3
from stochflow.diffusion.samplers.dpm_solver_pp import dpm_solver_pp_2m, dpm_solver_pp_3m, sde_dpm_solver_pp_2m
from stochflow.diffusion.samplers.heun import heun
from stochflow.diffusion.samplers.mrs import mrs
from stochflow.diffusion.samplers.reverse_sde import euler_maruyama, pc, reverse_diffusion
from stochflow.diffusion.samplers.unipc import unipc
from stochflow.diffusion.samplers.via_sde import pf_ode, pf_ode_rk4, reverse_sde

SAMPLERS = {
    "ddim": (ddim, 1),
    "dpm-solver-1": (dpm_solver_1, 1),
    "dpm-solver-2": (dpm_solver_2, 2),
    "dpm-solver-3": (dpm_solver_3, 3),
    "dpm-solver++2m": (dpm_solver_pp_2m, 1),
    "dpm-solver++3m": (dpm_solver_pp_3m, 1),
    "sde-dpm-solver++2m": (sde_dpm_solver_pp_2m, 1),
    "unipc": (unipc, 1),
    "heun": (heun, 2),
    "mrs": (mrs, 1),
    "euler-maruyama": (euler_maruyama, 1),
    "reverse-diffusion": (reverse_diffusion, 1),
    "pc": (pc, 2),
    "pf-ode": (pf_ode, None),
    "pf-ode-rk4": (pf_ode_rk4, 4),
    "reverse-sde": (reverse_sde, 1),
}
STOCHASTIC = ("sde-dpm-solver++2m", "euler-maruyama", "reverse-diffusion", "pc", "reverse-sde")

__all__ = ["SAMPLERS", "STOCHASTIC", "ddim", "dpm_solver_1", "dpm_solver_2", "dpm_solver_3", "dpm_solver_pp_2m",
           "dpm_solver_pp_3m", "euler_maruyama", "heun", "mrs", "pc", "pf_ode", "pf_ode_rk4", "reverse_diffusion",
           "reverse_sde", "sde_dpm_solver_pp_2m", "unipc"]
