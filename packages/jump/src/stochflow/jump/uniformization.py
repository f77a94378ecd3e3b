"""Uniformisation: transition probabilities and their time integrals as Poisson mixtures.

With ``mu >= max_i |q_ii|`` and the stochastic matrix ``K = I + Q / mu``,

    e^{Qt} = sum_n Pois(n; mu t) K^n,
    int_0^t [e^{Qs}]_ai [e^{Q(t-s)}]_jb ds = (1/mu) sum_n Pois(n+1; mu t) sum_{m+l=n} (K^m)_ai (K^l)_jb

(Hobolth & Jensen 2011). All terms are non-negative, so the sums are numerically benign. Many
intervals of one process share the powers of ``K``, which makes this much cheaper than one block
matrix exponential per interval (:mod:`stochflow.jump.van_loan`) when the observation times are
irregular.

The functions here take a batch of generators ``Q`` ``(B, S, S)`` and ``U`` intervals, interval
``u`` of process ``proc[u]`` with length ``dt[u]``.
"""

from __future__ import annotations

import math

import torch

MAX_TERMS = 2000
"""Beyond this many Poisson terms (``mu dt`` of several hundred) use the block exponential instead."""


def uniformization_rate(Q: torch.Tensor) -> torch.Tensor:
    """``mu = max_i |q_ii|`` per generator ``(B,)`` (1 for a generator with no jumps at all)."""
    mu = (-torch.diagonal(Q, dim1=-2, dim2=-1)).amax(-1)
    return torch.where(mu > 0, mu, torch.ones_like(mu))


def n_terms(x_max: float) -> int:
    """Poisson terms needed for ``Pois(mu t)`` with ``mu t <= x_max`` (tail below about 1e-15)."""
    return int(math.ceil(x_max + 9.0 * math.sqrt(x_max) + 15.0))


def poisson_weights(x: torch.Tensor, n: int) -> torch.Tensor:
    """``Pois(k; x)`` for ``k = 0..n``: ``(*x.shape, n + 1)``."""
    k = torch.arange(n + 1, dtype=x.dtype, device=x.device)
    xs = x[..., None]
    return torch.exp(-xs + torch.special.xlogy(k, xs) - torch.lgamma(k + 1))


def _powers(K: torch.Tensor, n: int) -> torch.Tensor:
    """``K^0 .. K^n`` as ``(B, n + 1, S, S)``."""
    out = [torch.eye(K.shape[-1], dtype=K.dtype, device=K.device).expand_as(K)]
    for _ in range(n):
        out.append(out[-1] @ K)
    return torch.stack(out, 1)


def needed_terms(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor) -> int:
    mu = uniformization_rate(Q)
    return n_terms(float((mu[proc] * dt).max())) if dt.numel() else 1


def _segments(proc: torch.Tensor, B: int) -> tuple[torch.Tensor, list[int]]:
    """An order that groups the intervals by process, and the group sizes."""
    order = torch.argsort(proc, stable=True)
    return order, torch.bincount(proc, minlength=B).tolist()


def transitions(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
    """``e^{Q[proc[u]] dt[u]}`` for every interval: ``(U, S, S)``."""
    B, S = Q.shape[0], Q.shape[-1]
    mu = uniformization_rate(Q)
    K = torch.eye(S, dtype=Q.dtype, device=Q.device) + Q / mu[:, None, None]
    x = mu[proc] * dt
    n = n_terms(float(x.max())) if x.numel() else 1
    powers = _powers(K, n).reshape(B, n + 1, S * S)
    order, sizes = _segments(proc, B)
    w = poisson_weights(x[order], n)
    out = torch.empty(dt.shape[0], S * S, dtype=Q.dtype, device=Q.device)
    start = 0
    for b, size in enumerate(sizes):
        if size:
            out[order[start:start + size]] = w[start:start + size] @ powers[b]
        start += size
    return out.reshape(-1, S, S)


def integrals(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Per process ``b``: ``M_b[i, j] = sum_{u: proc[u] = b} sum_ab W_u[a, b] I^{ij}_ab(dt_u)`` with
    ``I^{ij}_ab(t) = int_0^t [e^{Qs}]_ai [e^{Q(t-s)}]_jb ds``: ``(B, S, S)``.

    With ``A = K^T`` and ``C_n = sum_u Pois(n+1; mu dt_u) W_u`` the sum is
    ``(1/mu) sum_n sum_{m+l=n} A^m C_n A^l``, evaluated by two descending recursions
    (``R_m = C_m + R_{m+1} A``, ``T_m = R_m + A T_{m+1}``, result ``T_0 / mu``).
    """
    B, S = Q.shape[0], Q.shape[-1]
    mu = uniformization_rate(Q)
    A = (torch.eye(S, dtype=Q.dtype, device=Q.device) + Q / mu[:, None, None]).transpose(-1, -2)
    x = mu[proc] * dt
    n = n_terms(float(x.max())) if x.numel() else 1
    order, sizes = _segments(proc, B)
    w = poisson_weights(x[order], n + 1)[:, 1:]  # Pois(m + 1; x), m = 0..n
    Wf = W.reshape(W.shape[0], S * S)[order]
    C = torch.zeros(B, n + 1, S * S, dtype=Q.dtype, device=Q.device)
    start = 0
    for b, size in enumerate(sizes):
        if size:
            C[b] = w[start:start + size].transpose(0, 1) @ Wf[start:start + size]
        start += size
    C = C.reshape(B, n + 1, S, S)
    R = torch.zeros(B, S, S, dtype=Q.dtype, device=Q.device)
    T = torch.zeros_like(R)
    for m in range(n, -1, -1):
        R = C[:, m] + R @ A
        T = R + A @ T
    return T / mu[:, None, None]
