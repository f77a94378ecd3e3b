"""Graph data with exact scores, for closed-form tests of the diffusion and samplers.

:class:`GaussianGraphModel` is entrywise Gaussian; :class:`EmpiricalGraphModel` is a finite set of
graphs, whose noised law is a Gaussian mixture with an exact, softmax-weighted score.

Gaussian data: on real nodes ``X_ij ~ N(m_j, v_j)`` independently; on valid edge slots (upper triangle,
mirrored) ``A_ij ~ N(m_A, v_A)``. Under the forward kernels each entry stays Gaussian with mean
``α_t m`` and variance ``α_t² v + σ_t²``, so the partial scores are exact:
``∇_X log p_t = −(X − α m)/(α² v + σ²)`` and the same for ``A``.
"""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError
from stochflow.graph.batch import GraphBatch, pair_mask, symmetric_noise
from stochflow.graph.sde import GraphPrior, GraphSDE


class GaussianGraphModel:
    """Entrywise Gaussian graph data with its exact time-dependent score.

    Parameters
    ----------
    mean_x, var_x
        Per-feature mean and variance, shape ``(F,)``.
    mean_a, var_a
        Mean and variance of every valid adjacency entry.
    """

    def __init__(self, mean_x, var_x, mean_a: float, var_a: float):
        self.mean_x = torch.as_tensor(mean_x, dtype=torch.float64).reshape(-1)
        self.var_x = torch.as_tensor(var_x, dtype=torch.float64).reshape(-1)
        if self.mean_x.shape != self.var_x.shape or (self.var_x <= 0).any() or var_a <= 0:
            raise InputError("need mean_x, var_x of equal shape (F,) and positive variances")
        self.mean_a, self.var_a = float(mean_a), float(var_a)

    @property
    def n_features(self) -> int:
        return int(self.mean_x.shape[0])

    def prior(self) -> GraphPrior:
        return GraphPrior(self.mean_x, self.var_x, self.mean_a, self.var_a)

    def sample(self, mask: torch.Tensor, *, seed: int = 0, dtype=torch.float64) -> GraphBatch:
        """Exact samples on the nodes of ``mask`` (B×N boolean)."""
        g = torch.Generator(device=mask.device).manual_seed(seed)
        B, N = mask.shape
        m = mask.to(dtype)
        mx, sx = self.mean_x.to(dtype=dtype, device=mask.device), self.var_x.sqrt().to(dtype=dtype, device=mask.device)
        X = (mx + sx * torch.randn((B, N, self.n_features), generator=g, dtype=dtype, device=mask.device)) * m[:, :, None]
        E = symmetric_noise((B, N, N), generator=g, dtype=dtype, device=mask.device)
        A = (self.mean_a + self.var_a**0.5 * E) * pair_mask(mask).to(dtype)
        return GraphBatch(X, A, mask)

    def score_fn(self, sde: GraphSDE):
        """``score(X, A, mask, t) -> (∇_X log p_t, ∇_A log p_t)`` on real entries (zero elsewhere)."""

        def score(X, A, mask, t):
            ax, sx = sde.coefficients("x", t)
            aa, sa = sde.coefficients("a", t)
            ax, sx, aa, sa = (v[:, None, None] for v in (ax, sx, aa, sa))
            mx, vx = self.mean_x.to(X), self.var_x.to(X)
            sX = -(X - ax * mx) / (ax**2 * vx + sx**2) * mask[:, :, None].to(X.dtype)
            sA = -(A - aa * self.mean_a) / (aa**2 * self.var_a + sa**2) * pair_mask(mask).to(A.dtype)
            return sX, sA

        return score


class EmpiricalGraphModel:
    """The empirical law of a few graphs, with the exact score of its forward marginals.

    Under the forward kernels, ``p_t(X, A) = mean_k N(X; α^X_t X_k, (σ^X_t)²) N(A; α^A_t A_k, (σ^A_t)²)``
    over the graphs ``k`` with the same node mask (entrywise on real node features and on the strict
    upper triangle), so the partial scores are softmax-weighted mixtures:
    ``∇_X log p_t = −Σ_k w_k (X − α X_k)/σ²``, the same for ``A``, with ``w = softmax_k(log N_k)``.
    A correct sampler started from the prior returns one of the graphs (up to thresholding).

    Parameters
    ----------
    batch
        The graphs (:class:`GraphBatch`); a node mask seen at sampling must be one of theirs.
    """

    def __init__(self, batch: GraphBatch):
        if not isinstance(batch, GraphBatch):
            raise InputError(f"batch must be a GraphBatch, got {type(batch).__name__}")
        self.batch = batch.to(dtype=torch.float64)

    def score_fn(self, sde: GraphSDE):
        """``score(X, A, mask, t) -> (∇_X log p_t, ∇_A log p_t)``."""
        data = self.batch

        def score(X, A, mask, t):
            ax, sx = sde.coefficients("x", t.double())
            aa, sa = sde.coefficients("a", t.double())
            same = (mask[:, None, :] == data.mask[None].to(mask.device)).all(-1)  # (B, K)
            if not bool(same.any(1).all()):
                raise InputError("a node mask at sampling matches no graph of the data")
            mx = mask[:, None, :, None].double()
            pm = pair_mask(mask)[:, None].double()
            dx = (X.double()[:, None] - ax[:, None, None, None] * data.X[None]) * mx  # (B, K, N, F)
            da = (A.double()[:, None] - aa[:, None, None, None] * data.A[None]) * pm  # (B, K, N, N)
            logw = (-dx.pow(2).sum((2, 3)) / (2 * sx[:, None] ** 2)
                    - da.pow(2).sum((2, 3)) / (4 * sa[:, None] ** 2))  # each upper entry counted once
            w = torch.softmax(logw.masked_fill(~same, float("-inf")), 1)[:, :, None, None]
            sX = -(w * dx).sum(1) / sx[:, None, None] ** 2
            sA = -(w * da).sum(1) / sa[:, None, None] ** 2
            return sX.to(X.dtype), sA.to(A.dtype)

        return score
