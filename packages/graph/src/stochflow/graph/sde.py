"""The joint forward diffusion of node features and adjacency (GDSS's system of SDEs).

``X`` and ``A`` each follow their own diffusion SDE from :mod:`stochflow.diffusion.sde` (VP, VE,
sub-VP), sharing one time per graph::

    dX = f_X(t) X dt + g_X(t) dW_X,        dA = f_A(t) A dt + g_A(t) dW_A,

where ``W_A`` is a symmetric matrix Brownian motion with zero diagonal (independent upper-triangle
entries, mirrored) and both noises vanish on padded nodes. The perturbation kernels are
``X_t | X_0 ~ N(α^X_t X_0, (σ^X_t)² I)`` on real nodes and the same entrywise on the strict upper
triangle of ``A``.

The prior
---------
GDSS starts sampling from ``N(0, I)``, yet its VP with β ∈ [0.1, 1] keeps α(1) ≈ 0.76 of the signal
(σ(1) ≈ 0.65): the reverse process starts from a law the forward process never reaches. Here the
default prior is the Gaussian with the first two moments of the *actual* terminal marginal:
entrywise ``N(α_T m, α_T² v + σ_T²)``, where ``m, v`` are the data's mean and variance per feature
(for ``X``) and over valid edge slots (for ``A``), fitted by :meth:`GraphPrior.from_batch`. For
Gaussian data this is the terminal marginal exactly; when α_T ≈ 0 it reduces to ``N(0, σ_T²)``.
``GraphPrior.standard()`` reproduces GDSS's choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.diffusion._util import as_time
from stochflow.diffusion.sde import VPSDE, DiffusionSDE
from stochflow.graph.batch import GraphBatch, pair_mask, symmetric_noise


@dataclass(frozen=True, eq=False)
class GraphPrior:
    """Entrywise data moments behind the prior: features ``(F,)`` mean/variance, adjacency scalars.

    ``standard=True`` ignores the moments and uses ``N(0, σ_T²)`` (GDSS's prior when σ_T = 1).
    """

    mean_x: torch.Tensor
    var_x: torch.Tensor
    mean_a: float
    var_a: float
    standard: bool = False

    @classmethod
    def from_batch(cls, batch: GraphBatch) -> GraphPrior:
        """Moments of the real nodes' features and of the valid edge slots of ``batch``."""
        if not isinstance(batch, GraphBatch):
            raise InputTypeError(f"batch must be a GraphBatch, got {type(batch).__name__}")
        xs = batch.X[batch.mask].double()
        a = batch.A[pair_mask(batch.mask)].double()
        if xs.shape[0] == 0:
            raise InputError("the batch has no real nodes")
        mean_a = float(a.mean()) if a.numel() else 0.0
        var_a = float(a.var(unbiased=False)) if a.numel() else 0.0
        return cls(xs.mean(0).cpu(), xs.var(0, unbiased=False).cpu(), mean_a, var_a)

    @classmethod
    def standard_normal(cls, n_features: int) -> GraphPrior:
        """GDSS's prior: zero mean, variance σ_T² regardless of the data."""
        z = torch.zeros(int(n_features), dtype=torch.float64)
        return cls(z, z.clone(), 0.0, 0.0, standard=True)

    def to_dict(self) -> dict:
        return {"mean_x": self.mean_x.tolist(), "var_x": self.var_x.tolist(), "mean_a": self.mean_a,
                "var_a": self.var_a, "standard": self.standard}

    @classmethod
    def from_dict(cls, d: dict) -> GraphPrior:
        return cls(torch.tensor(d["mean_x"], dtype=torch.float64), torch.tensor(d["var_x"], dtype=torch.float64),
                   float(d["mean_a"]), float(d["var_a"]), bool(d.get("standard", False)))


def _bc(v: torch.Tensor, ndim: int) -> torch.Tensor:
    return v.reshape(v.shape + (1,) * (ndim - v.ndim))


class GraphSDE:
    """Joint forward SDEs of node features (``x``) and adjacency (``a``), one time per graph.

    Parameters
    ----------
    x, a
        :class:`~stochflow.diffusion.sde.DiffusionSDE` of each component (default: VP with
        β ∈ [0.1, 1], GDSS's community-small and ego-small setting). Both must share ``T``;
        sampling and training use ``eps = max(x.eps, a.eps)``.
    """

    def __init__(self, x: DiffusionSDE | None = None, a: DiffusionSDE | None = None):
        x = VPSDE(0.1, 1.0) if x is None else x
        a = VPSDE(0.1, 1.0) if a is None else a
        for name, s in (("x", x), ("a", a)):
            if not isinstance(s, DiffusionSDE):
                raise InputTypeError(f"{name} must be a stochflow.diffusion DiffusionSDE, got {type(s).__name__}")
            if isinstance(s.schedule.center, torch.Tensor) or float(s.schedule.center) != 0.0:
                raise InputError(f"{name}: mean-reverting SDEs with a nonzero centre are not supported here")
        if abs(x.T - a.T) > 1e-12:
            raise InputError(f"x and a SDEs must share T, got {x.T} and {a.T}")
        self.x, self.a = x, a
        self.T = x.T
        self.eps = max(x.eps, a.eps)

    def __repr__(self) -> str:
        return f"GraphSDE(x={self.x!r}, a={self.a!r})"

    def component(self, which: str) -> DiffusionSDE:
        return {"x": self.x, "a": self.a}[which]

    # -- kernels -------------------------------------------------------------------------
    def coefficients(self, which: str, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """α_t and σ_t of one component at times ``t`` (shape ``(B,)``)."""
        sch = self.component(which).schedule
        return sch.alpha(t), sch.sigma(t)

    def noise(self, mask: torch.Tensor, n_features: int, *, generator=None, dtype=torch.float32,
              device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
        """Standard noise ``(ε_X, ε_A)``: ε_X on real nodes, ε_A symmetric, zero diagonal, on valid slots."""
        B, N = mask.shape
        ex = torch.randn((B, N, n_features), generator=generator, dtype=dtype, device=device)
        ex = ex * mask[:, :, None].to(dtype)
        ea = symmetric_noise((B, N, N), generator=generator, dtype=dtype, device=device)
        return ex, ea * pair_mask(mask).to(dtype)

    def marginal_prob(self, batch: GraphBatch, t) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Means and standard deviations of ``X_t | X_0`` and ``A_t | A_0``: ``(mean_X, std_X, mean_A, std_A)``,
        stds of shape ``(B,)``."""
        t = self.as_time(t, batch)
        ax, sx = self.coefficients("x", t)
        aa, sa = self.coefficients("a", t)
        return _bc(ax, 3) * batch.X, sx, _bc(aa, 3) * batch.A, sa

    def perturb(self, batch: GraphBatch, t, noise_x: torch.Tensor, noise_a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(X_t, A_t) = (α X_0 + σ ε_X, α A_0 + σ ε_A)`` with masked, symmetric noises."""
        mx, sx, ma, sa = self.marginal_prob(batch, t)
        return mx + _bc(sx, 3) * noise_x, ma + _bc(sa, 3) * noise_a

    def as_time(self, t, batch_or_x) -> torch.Tensor:
        return as_time(t, batch_or_x.A if isinstance(batch_or_x, GraphBatch) else batch_or_x)

    # -- prior ---------------------------------------------------------------------------
    def prior_moments(self, prior: GraphPrior, dtype=torch.float64, device="cpu"):
        """Entrywise mean and std of the prior: ``(mean_x (F,), std_x (F,), mean_a, std_a)``."""
        T = torch.tensor(self.T, dtype=torch.float64)
        ax, sx = self.coefficients("x", T)
        aa, sa = self.coefficients("a", T)
        if prior.standard:
            ax = aa = torch.zeros((), dtype=torch.float64)
        mean_x = ax * prior.mean_x.double()
        std_x = torch.sqrt(ax**2 * prior.var_x.double() + sx**2)
        mean_a = aa * prior.mean_a
        std_a = torch.sqrt(aa**2 * prior.var_a + sa**2)
        kw = {"dtype": dtype, "device": device}
        return mean_x.to(**kw), std_x.to(**kw), mean_a.to(**kw), std_a.to(**kw)

    def prior_sampling(self, mask: torch.Tensor, prior: GraphPrior, *, generator=None, dtype=torch.float32,
                       device=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``(X_T, A_T)`` from the prior on the nodes of ``mask`` (B×N boolean)."""
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.ndim != 2:
            raise InputError("mask must be a boolean tensor of shape (B, N)")
        if not isinstance(prior, GraphPrior):
            raise InputTypeError(f"prior must be a GraphPrior, got {type(prior).__name__}")
        device = mask.device if device is None else device
        mask = mask.to(device)
        mx, sx, ma, sa = self.prior_moments(prior, dtype, device)
        ex, ea = self.noise(mask, mx.shape[0], generator=generator, dtype=dtype, device=device)
        X = (mx + sx * ex) * mask[:, :, None].to(dtype)
        A = (ma + sa * ea) * pair_mask(mask).to(dtype)
        return X, A
