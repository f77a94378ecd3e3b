"""Memory-light gradients of ODE solves (torch): the continuous adjoint method.

The forward solve keeps no graph, only the states at the output times. Backward integrates, from
each output time to the previous one, the augmented ODE (Pontryagin; Chen et al. 2018)

    dy/dt = f(t, y),   da/dt = -a^T ∂f/∂y,   dg/dt = -a^T ∂f/∂θ,

backwards in time, with ``a`` the adjoint (``dL/dy``; the output gradient is added at each output
time) and ``g`` the accumulated parameter gradient. Vector-Jacobian products come from one
``torch.autograd.grad`` call per evaluation. Memory is that of one step, whatever the number of
steps; the gradient equals backpropagation's up to the solver's error (``rk4``/``dopri5``).
The same solver, step size (or ``rtol``/``atol``) serves the backward pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stochflow.sde.methods import Method
from stochflow.sde.processes import SDE


def _default_params(process: SDE) -> tuple[Any, ...]:
    import torch

    drift = getattr(process, "_drift", None)
    if isinstance(drift, torch.nn.Module):
        return tuple(p for p in drift.parameters() if p.requires_grad)
    return ()


def _integrate(process: SDE, method: Method, y0: Any, times: np.ndarray, dt: float | None, adaptive: bool,
               rtol: float, atol: float, controller: Any) -> Any:
    """States at ``times`` from ``y0`` (no Brownian input: ODEs only)."""
    if adaptive:
        from stochflow.sde.adaptive import solve_adaptive  # noqa: PLC0415

        return solve_adaptive(process, method, y0, times, rtol=rtol, atol=atol, dt0=dt, controller=controller).ys
    from stochflow.sde.solve import _steps, _torch_drive, _zeros_steps  # noqa: PLC0415
    steps = _steps(times, dt)
    return _torch_drive(process, method, y0, steps, _zeros_steps(y0, len(steps.grid) - 1), None)


def solve_adjoint(process: SDE, method: Method, y0: Any, times: np.ndarray, dt: float | None, *,
                  adaptive: bool = False, rtol: float = 1e-3, atol: float = 1e-6, controller: Any = None,
                  params: Any = None) -> Any:
    """ODE states at ``times`` whose backward pass is the adjoint ODE (call through ``solve``).

    Parameters
    ----------
    process, method, y0, times, dt, adaptive, rtol, atol, controller
        As checked and passed on by :func:`stochflow.sde.solve`.
    params
        Tensors that receive gradients (default: the drift's parameters when it is a
        ``torch.nn.Module``).

    Returns
    -------
    torch.Tensor
        Shape ``(len(times), *y0.shape)``.
    """
    import torch

    params = _default_params(process) if params is None else tuple(params)
    opts = (process, method, times, dt, adaptive, rtol, atol, controller, params)

    class _Adjoint(torch.autograd.Function):
        @staticmethod
        def forward(ctx, y0, *ps):
            with torch.no_grad():
                ys = _integrate(process, method, y0, times, dt, adaptive, rtol, atol, controller)
            ctx.save_for_backward(ys)
            return ys

        @staticmethod
        def backward(ctx, grad_ys):
            (ys,) = ctx.saved_tensors
            return _backward(opts, ys, grad_ys)

    return _Adjoint.apply(y0, *params)


def _backward(opts, ys, grad_ys):
    import torch

    process, method, times, dt, adaptive, rtol, atol, controller, params = opts
    shape, n_y = ys.shape[1:], ys[0].numel()
    sizes = [n_y, n_y, *(p.numel() for p in params)]

    def aug_drift(s, z):
        # reversed time s = -t: dz/ds = -dz/dt = (-f, a^T df/dy, a^T df/dtheta)
        y = z[:n_y].reshape(shape).detach().requires_grad_(True)
        a = z[n_y:2 * n_y].reshape(shape)
        with torch.enable_grad():
            f = process.f(-s, y)
            vjps = torch.autograd.grad(f, (y, *params), a, allow_unused=True)
        parts = [-f.detach().reshape(-1)]
        parts += [(torch.zeros_like(p) if v is None else v).reshape(-1).to(z.dtype) for v, p in zip(vjps, (y, *params))]
        return torch.cat(parts)

    aug = SDE(drift=aug_drift)
    a = grad_ys[-1]
    g = [torch.zeros(p.numel(), dtype=ys.dtype, device=ys.device) for p in params]
    for i in range(len(times) - 1, 0, -1):
        z = torch.cat([ys[i].reshape(-1), a.reshape(-1), *g])
        seg = np.array([-times[i], -times[i - 1]])
        z = _integrate(aug, method, z, seg, dt, adaptive, rtol, atol, controller)[-1]
        parts = torch.split(z, sizes)
        a = parts[1].reshape(shape) + grad_ys[i - 1]
        g = list(parts[2:])
    grads = [gi.reshape(p.shape).to(p.dtype) for gi, p in zip(g, params)]
    return (a, *grads)


__all__ = ["solve_adjoint"]
