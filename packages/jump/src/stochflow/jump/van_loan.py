"""Integrals of products of transition matrices by Van Loan's block matrix exponential (1978).

    expm([[A, C], [0, A]] t) = [[e^{At}, int_0^t e^{A(t-s)} C e^{As} ds], [0, e^{At}]]

With ``A = Q^T`` and ``C = W`` the upper-right block is
``sum_ab W_ab int_0^t [e^{Qs}]_ai [e^{Q(t-s)}]_jb ds``, the sum of the expected-statistics integrals
``I^{ij}_ab(t)`` of EM for Markov jump processes (Bladt & Sørensen 2005; Metzner et al. 2007),
weighted by ``W``. One ``2S x 2S`` exponential per interval: exact, and the cheaper route when few
distinct interval lengths occur (regular grids).
"""

from __future__ import annotations

import torch


def transitions(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """``e^{Q[proc[u]] dt[u]}``: ``(U, S, S)``."""
    return torch.linalg.matrix_exp(Q[proc] * dt[:, None, None])


def integrals(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Same contract as :func:`stochflow.jump.uniformization.integrals`: ``(B, S, S)``."""
    B, S = Q.shape[0], Q.shape[-1]
    A = Q[proc].transpose(-1, -2)
    block = torch.zeros(dt.shape[0], 2 * S, 2 * S, dtype=Q.dtype, device=Q.device)
    block[:, :S, :S] = A
    block[:, S:, S:] = A
    block[:, :S, S:] = W
    upper = torch.linalg.matrix_exp(block * dt[:, None, None])[:, :S, S:]
    return torch.zeros(B, S, S, dtype=Q.dtype, device=Q.device).index_add_(0, proc, upper)
