"""Reference processes of a Schrödinger bridge: linear SDEs with Gaussian transition kernels.

A reference is the SDE ``dX = (B X + c) dt + sigma dW`` in ``R^d``: ``B = 0, c = 0`` is Brownian motion
(``"brownian"``), a general ``B`` an Ornstein-Uhlenbeck / linear-drift process (``"linear"``, alias
``"ou"``). Its transition over a step ``h`` is Gaussian, ``X_h | X_0 = x ~ N(Phi x + s, Sigma)`` with

    Phi = exp(B h),   s = int_0^h exp(B u) du c,   Sigma = int_0^h exp(B u) sigma^2 exp(B^T u) du,

all read off matrix exponentials of block matrices (Van Loan 1978), so they are differentiable in the
parameters. The transition gives the bridge's pairwise cost ``-log p_h(y | x)`` (entropic OT with
``reg = 1``), the exact Gaussian bridge between two points, and the likelihood refit by maximum
likelihood in :class:`~stochflow.bridge.mmsb.MultiMarginalSB`.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from stochflow.core.errors import InputError

KINDS = ("brownian", "linear")
ALIASES = {"ou": "linear", "brownian": "brownian", "linear": "linear", "bm": "brownian"}


class LinearReference(torch.nn.Module):
    """The linear SDE ``dX = (B X + c) dt + sigma dW`` with a scalar ``sigma``.

    Parameters
    ----------
    dim
        State dimension ``d``.
    sigma
        Diffusion coefficient (positive).
    kind
        ``"linear"`` (``B`` and ``c`` free; alias ``"ou"``) or ``"brownian"`` (``B = 0``, ``c = 0``).
    B, c
        Initial drift matrix ``(d, d)`` and offset ``(d,)`` (default zero: Brownian motion).
    fit_diffusion
        Whether maximum likelihood also refits ``sigma`` (default: ``sigma`` is known).
    dtype, device
        Of the parameters (float64 on the CPU by default).
    """

    def __init__(self, dim: int, sigma: float = 1.0, kind: str = "linear", B: Any = None, c: Any = None,
                 fit_diffusion: bool = False, dtype: torch.dtype = torch.float64, device: Any = "cpu") -> None:
        super().__init__()
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise InputError(f"dim must be a positive int, got {dim!r}")
        if not isinstance(sigma, (int, float)) or not math.isfinite(sigma) or sigma <= 0:
            raise InputError(f"sigma (the reference's diffusion) must be a positive number, got {sigma!r}")
        kind = ALIASES.get(str(kind).lower())
        if kind is None:
            raise InputError(f"reference kind must be one of {sorted(ALIASES)}, got {kind!r}")
        self.kind, self.dim, self.fit_diffusion = kind, dim, bool(fit_diffusion)
        kw = {"dtype": dtype, "device": device}
        B0 = torch.zeros(dim, dim, **kw) if B is None else torch.as_tensor(B, **kw).clone()
        c0 = torch.zeros(dim, **kw) if c is None else torch.as_tensor(c, **kw).clone()
        if B0.shape != (dim, dim) or c0.shape != (dim,):
            raise InputError(f"B must have shape ({dim}, {dim}) and c shape ({dim},); got {tuple(B0.shape)}, "
                             f"{tuple(c0.shape)}")
        free = kind == "linear"
        self.B = torch.nn.Parameter(B0, requires_grad=free)
        self.c = torch.nn.Parameter(c0, requires_grad=free)
        self.log_sigma = torch.nn.Parameter(torch.tensor(math.log(sigma), **kw), requires_grad=self.fit_diffusion)

    # -- the transition kernel ------------------------------------------------------------------
    @property
    def sigma(self) -> torch.Tensor:
        return self.log_sigma.exp()

    def drift(self, x: torch.Tensor) -> torch.Tensor:
        """``B x + c`` for states ``x`` of shape ``(..., d)``."""
        return x @ self.B.T + self.c

    def transition(self, h: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(Phi, s, Sigma)`` of the transition over a step ``h > 0``: ``X_h | x ~ N(Phi x + s, Sigma)``."""
        d = self.dim
        kw = {"dtype": self.B.dtype, "device": self.B.device}
        aug = torch.zeros(d + 1, d + 1, **kw)
        aug[:d, :d] = self.B
        aug[:d, d] = self.c
        E = torch.linalg.matrix_exp(aug * h)
        Phi, s = E[:d, :d], E[:d, d]
        Q = self.sigma**2 * torch.eye(d, **kw)
        vl = torch.zeros(2 * d, 2 * d, **kw)
        vl[:d, :d] = -self.B
        vl[:d, d:] = Q
        vl[d:, d:] = self.B.T
        F = torch.linalg.matrix_exp(vl * h)
        Sigma = Phi @ F[:d, d:]
        return Phi, s, 0.5 * (Sigma + Sigma.T)

    def cost(self, x: torch.Tensor, y: torch.Tensor, h: float) -> torch.Tensor:
        """``-log p_h(y_j | x_i)`` up to a constant: ``0.5 (y - Phi x - s)^T Sigma^-1 (y - Phi x - s)``, ``(n, m)``."""
        Phi, s, Sigma = self.transition(h)
        L = torch.linalg.cholesky(Sigma)
        mx = torch.linalg.solve_triangular(L, (x @ Phi.T + s).T, upper=False).T
        wy = torch.linalg.solve_triangular(L, y.T, upper=False).T
        return 0.5 * torch.cdist(mx, wy) ** 2

    def expected_nll(self, moments: dict[str, torch.Tensor], h: float) -> torch.Tensor:
        """``-sum_ij pi_ij log p_h(y_j | x_i)`` from the coupling's moments (see :func:`coupling_moments`)."""
        Phi, s, Sigma = self.transition(h)
        w, Ex, Ey = moments["w"], moments["Ex"], moments["Ey"]
        PE = Phi @ moments["Exy"]              # sum pi Phi x y^T
        PXP = Phi @ moments["Exx"] @ Phi.T     # sum pi Phi x x^T Phi^T
        PEx = Phi @ Ex
        S = (moments["Eyy"] - PE - PE.T + PXP - torch.outer(s, Ey) - torch.outer(Ey, s) + torch.outer(PEx, s)
             + torch.outer(s, PEx) + w * torch.outer(s, s))
        L = torch.linalg.cholesky(Sigma)
        quad = torch.trace(torch.cholesky_solve(S, L))
        logdet = 2 * torch.log(torch.diagonal(L)).sum()
        return 0.5 * quad + 0.5 * w * (logdet + self.dim * math.log(2 * math.pi))

    # -- bridges ------------------------------------------------------------------------------
    def bridge_sample(self, x: torch.Tensor, y: torch.Tensor, u: float, h: float,
                      generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``X_u`` of the reference bridge from ``X_0 = x`` to ``X_h = y`` (``0 <= u <= h``), rows of ``(n, d)``."""
        if u <= 0:
            return x.clone()
        if u >= h:
            return y.clone()
        Phi_u, s_u, S_u = self.transition(u)
        Phi_r, s_r, _ = self.transition(h - u)
        Phi_h, s_h, S_h = self.transition(h)
        gain = torch.linalg.solve(S_h, Phi_r @ S_u).T          # Sigma_u Phi_r^T Sigma_h^-1
        mean = x @ Phi_u.T + s_u + (y - x @ Phi_h.T - s_h) @ gain.T
        cov = S_u - gain @ Phi_r @ S_u
        cov = 0.5 * (cov + cov.T) + 1e-12 * torch.eye(self.dim, dtype=cov.dtype, device=cov.device)
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return mean + z @ torch.linalg.cholesky(cov).T

    def sample_transition(self, x: torch.Tensor, h: float, generator: torch.Generator | None = None) -> torch.Tensor:
        """Sample ``X_h`` given ``X_0 = x`` (rows)."""
        Phi, s, Sigma = self.transition(h)
        z = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
        return x @ Phi.T + s + z @ torch.linalg.cholesky(Sigma).T

    def params(self) -> dict[str, Any]:
        """The parameters as numpy arrays / floats: ``{"kind", "B", "c", "sigma"}``."""
        return {"kind": self.kind, "B": self.B.detach().cpu().numpy().copy(),
                "c": self.c.detach().cpu().numpy().copy(), "sigma": float(self.sigma.detach())}


def coupling_moments(x: torch.Tensor, y: torch.Tensor, plan: torch.Tensor) -> dict[str, torch.Tensor]:
    """Weighted moments of the pairs ``(x_i, y_j)`` under ``plan``: all a Gaussian transition's
    expected log-likelihood needs (the exact expectation over the coupling, no sampling)."""
    a, b = plan.sum(1), plan.sum(0)
    return {"w": plan.sum(), "Ex": a @ x, "Ey": b @ y, "Exx": (x * a[:, None]).T @ x,
            "Eyy": (y * b[:, None]).T @ y, "Exy": x.T @ plan @ y}
