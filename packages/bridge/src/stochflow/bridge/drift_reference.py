"""Nonlinear reference processes ``dX = f_theta(X) dt + sigma g(X) dW`` with any ``torch.nn.Module`` drift.

Used by :class:`~stochflow.bridge.mmsb.MultiMarginalSB` for parametric references (Lotka-Volterra,
repressilator: :mod:`stochflow.bridge.systems`) and neural ones (any module mapping ``(n, d)`` states
to ``(n, d)`` drifts). The diffusion is ``g = 1`` (``noise="additive"``) or ``g(x) = x`` coordinatewise
(``noise="multiplicative"``), with a scalar ``sigma``.

The transition density over a step ``h`` has no closed form; it is approximated by a Gaussian around the
drift's flow (the small-noise limit):

    X_h | X_0 = x  ~  N(phi_h(x), diag V_h(x)),     d phi_s / ds = f(phi_s),   dV_s / ds = sigma^2 g(phi_s)^2,

both integrated together by RK4 (:func:`stochflow.sde.solve`, differentiable in the drift's parameters).
The bridge's cost between snapshots is ``-log`` of this density, and the maximum-likelihood refit
maximises ``sum_ij pi_ij log p_h(y_j | x_i)``. Bridges between two points are sampled as the flow plus a
time-changed Brownian bridge carrying the endpoint mismatch,

    X_u = phi_u(x) + (V_u / V_h) (y - phi_h(x)) + sqrt(V_u (V_h - V_u) / V_h) Z,

exact when the drift is constant (Brownian motion with drift) and first-order accurate otherwise.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from stochflow.core.errors import InputError, InputTypeError

NOISES = ("additive", "multiplicative")


class DriftReference(torch.nn.Module):
    """The reference SDE ``dX = f(X) dt + sigma g(X) dW`` with a learnable drift module ``f``.

    Parameters
    ----------
    drift
        A ``torch.nn.Module`` mapping states ``(n, d)`` to drifts ``(n, d)``; its parameters with
        ``requires_grad`` are refit by maximum likelihood (freeze some with ``requires_grad_(False)``).
    dim
        State dimension ``d``.
    sigma
        Diffusion level (positive).
    noise
        ``"additive"`` (``g = 1``) or ``"multiplicative"`` (``g(x) = x``, for concentrations and populations).
    dt
        Largest RK4 step of the flow (each step ``h`` is cut into ``ceil(h / dt)`` equal steps).
    fit_diffusion
        Whether maximum likelihood also refits ``sigma``.
    kind
        A name for the reference (``"lotka-volterra"``, ``"repressilator"``, ``"neural"``, ...).
    """

    def __init__(self, drift: torch.nn.Module, dim: int, sigma: float = 1.0, noise: str = "additive",
                 dt: float = 0.1, fit_diffusion: bool = False, kind: str = "neural",
                 dtype: torch.dtype = torch.float64, device: Any = "cpu") -> None:
        super().__init__()
        if not isinstance(drift, torch.nn.Module):
            raise InputTypeError(f"drift must be a torch.nn.Module mapping (n, d) states to (n, d) drifts, got "
                                 f"{type(drift).__name__}")
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InputError(f"dim must be a positive int, got {dim!r}")
        if not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
            raise InputError(f"sigma (the reference's diffusion) must be a positive number, got {sigma!r}")
        if noise not in NOISES:
            raise InputError(f"noise must be one of {NOISES}, got {noise!r}")
        if not isinstance(dt, (int, float)) or not dt > 0:
            raise InputError(f"dt must be a positive number, got {dt!r}")
        self.net = drift.to(dtype=dtype, device=device)
        self.dim, self.noise, self.dt, self.kind = dim, noise, float(dt), str(kind)
        self.fit_diffusion = bool(fit_diffusion)
        self.log_sigma = torch.nn.Parameter(torch.tensor(math.log(sigma), dtype=dtype, device=device),
                                            requires_grad=self.fit_diffusion)
        with torch.no_grad():
            probe = self.net(torch.ones(2, dim, dtype=dtype, device=device))
        if probe.shape != (2, dim):
            raise InputError(f"the drift module maps (2, {dim}) states to {tuple(probe.shape)}; it must return "
                             f"(2, {dim})")

    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp()

    @property
    def refinable(self) -> bool:
        """Whether any parameter is refit."""
        return any(p.requires_grad for p in self.parameters())

    def drift(self, x: torch.Tensor) -> torch.Tensor:
        """``f(x)`` for states ``(n, d)``."""
        return self.net(x)

    def _g2(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(x) if self.noise == "additive" else x**2

    def flow(self, x: torch.Tensor, ts: list[float]) -> tuple[torch.Tensor, torch.Tensor]:
        """Flow ``phi_u(x)`` and variance ``V_u(x)`` at the times ``ts`` (from 0, increasing), each ``(len(ts), n, d)``."""
        from stochflow.sde import SDE, solve

        d = self.dim
        s2 = self.sigma**2

        def f(t: Any, z: torch.Tensor) -> torch.Tensor:
            m = z[..., :d]
            return torch.cat([self.net(m), s2 * self._g2(m)], dim=-1)

        grid = sorted({0.0, *(float(t) for t in ts)})
        z0 = torch.cat([x, torch.zeros_like(x)], dim=-1)
        zs = solve(SDE(f, None), z0, torch.tensor(grid, dtype=x.dtype), solver="rk4", dt=self.dt)
        pos = [grid.index(float(t)) for t in ts]
        zs = zs[pos]
        return zs[..., :d], zs[..., d:].clamp_min(1e-300)

    def cost(self, x: torch.Tensor, y: torch.Tensor, h: float) -> torch.Tensor:
        """``-log p_h(y_j | x_i)`` up to row constants: ``0.5 sum_d (y_jd - phi_h(x_i)_d)^2 / V_h(x_i)_d``, ``(n, m)``."""
        m, v = (z[0] for z in self.flow(x, [h]))
        return 0.5 * (((y[None] - m[:, None]) ** 2) / v[:, None]).sum(-1)

    def plan_nll(self, x: torch.Tensor, y: torch.Tensor, plan: torch.Tensor, h: float) -> torch.Tensor:
        """``-sum_ij pi_ij log p_h(y_j | x_i)`` (the Gaussian approximation, constants included)."""
        return self.plan_nll_many([(x, y, plan, h)])

    def plan_nll_many(self, pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]]) -> torch.Tensor:
        """``sum`` of :meth:`plan_nll` over ``(x, y, plan, h)`` tuples, one flow per distinct ``h``."""
        groups: dict[float, list[int]] = {}
        for i, (_, _, _, h) in enumerate(pairs):
            groups.setdefault(float(h), []).append(i)
        total = torch.zeros((), dtype=self.log_sigma.dtype, device=self.log_sigma.device)
        for h, members in groups.items():
            xs = torch.cat([pairs[i][0] for i in members])
            m_all, v_all = (z[0] for z in self.flow(xs, [h]))
            start = 0
            for i in members:
                x, y, plan, _ = pairs[i]
                m, v = m_all[start:start + len(x)], v_all[start:start + len(x)]
                start += len(x)
                quad = (plan * (((y[None] - m[:, None]) ** 2) / v[:, None]).sum(-1)).sum()
                total = total + 0.5 * (quad + (plan.sum(1) * torch.log(2 * math.pi * v).sum(-1)).sum())
        return total

    def bridge_sample(self, x: torch.Tensor, y: torch.Tensor, u: float, h: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``X_u`` of the (approximate) reference bridge from ``X_0 = x`` to ``X_h = y``, rows ``(n, d)``."""
        if u <= 0:
            return x.clone()
        if u >= h:
            return y.clone()
        (m_u, m_h), (v_u, v_h) = self.flow(x, [u, h])
        w = v_u / v_h
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return m_u + w * (y - m_h) + torch.sqrt((v_u * (1 - w)).clamp_min(0.0)) * z

    def sample_transition(self, x: torch.Tensor, h: float, generator: torch.Generator | None = None) -> torch.Tensor:
        """Simulate ``X_h`` from ``X_0 = x`` (rows) by Euler-Maruyama with step ``dt / 10``."""
        from stochflow.sde import SDE, solve

        seed = int(torch.randint(2**31 - 1, (1,), generator=generator, device=x.device))
        sigma = self.sigma

        def g(t: Any, z: torch.Tensor) -> torch.Tensor:
            return sigma * (torch.ones_like(z) if self.noise == "additive" else z)

        sde = SDE(lambda t, z: self.net(z), g, noise="additive" if self.noise == "additive" else "diagonal")
        return solve(sde, x, torch.tensor([0.0, float(h)], dtype=x.dtype), solver="euler", dt=self.dt / 10,
                     seed=seed)[-1]

    def params(self) -> dict[str, Any]:
        """``{"kind", "sigma", "noise"}`` and the drift's parameters (floats for the built-in systems,
        else numpy arrays by ``state_dict`` name)."""
        out: dict[str, Any] = {"kind": self.kind, "sigma": float(self.sigma.detach()), "noise": self.noise}
        if hasattr(self.net, "values"):
            out.update(self.net.values())
        else:
            out.update({k: v.detach().cpu().numpy().copy() for k, v in self.net.state_dict().items()})
        return out


def mlp_drift(dim: int, hidden: int = 32, depth: int = 2, seed: int = 0, dtype: torch.dtype = torch.float64,
              ) -> torch.nn.Module:
    """A small tanh MLP ``R^d -> R^d`` (a neural reference drift), its last layer initialised at zero
    (the reference starts as Brownian motion)."""
    gen = torch.Generator().manual_seed(seed)
    layers: list[torch.nn.Module] = []
    width = dim
    for _ in range(depth):
        lin = torch.nn.Linear(width, hidden, dtype=dtype)
        with torch.no_grad():
            lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen, dtype=dtype) / math.sqrt(width))
            lin.bias.zero_()
        layers += [lin, torch.nn.Tanh()]
        width = hidden
    last = torch.nn.Linear(width, dim, dtype=dtype)
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
    return torch.nn.Sequential(*layers, last)
