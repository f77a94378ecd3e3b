"""Analyses of a generator: stationary distribution, relaxation times, mean first-passage times,
entropy production, and the Hellinger distance between a model and observed state histograms.

Every function takes ``Q`` ``(..., S, S)`` in any framework and answers in the same framework.
"""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.jump._backend import as_tensor, framework, positive_int, to_framework
from stochflow.jump.generators import validate_generator


def _stationary(Q: torch.Tensor) -> torch.Tensor:
    S = Q.shape[-1]
    A = Q.clone()
    A[..., :, -1] = 1.0  # pi Q = 0 with the last equation replaced by sum(pi) = 1
    rhs = torch.zeros(*Q.shape[:-2], S, dtype=Q.dtype, device=Q.device)
    rhs[..., -1] = 1.0
    return torch.linalg.solve(A.transpose(-1, -2), rhs)


def stationary_distribution(Q: Any) -> Any:
    """``pi`` with ``pi Q = 0``, ``sum(pi) = 1`` (unique for an irreducible generator): ``(..., S)``."""
    return to_framework(_stationary(validate_generator(Q)), framework(Q))


def relaxation_times(Q: Any) -> Any:
    """``-1 / Re(lambda_k)`` for the ``S - 1`` non-zero eigenvalues of ``Q``, longest first: ``(..., S-1)``.

    The first is the time scale on which ``p(t)`` forgets its start; for two states with rates
    ``a, b`` it is ``1 / (a + b)``.
    """
    Qt = validate_generator(Q)
    ev = torch.linalg.eigvals(Qt.to(torch.float64) if Qt.dtype == torch.float32 else Qt).real
    ev = torch.sort(ev, dim=-1, descending=True).values[..., 1:]  # drop the zero eigenvalue
    out = (-1.0 / ev).to(Qt.dtype)
    return to_framework(out, framework(Q))


def mean_first_passage_times(Q: Any) -> Any:
    """``m[i, j]``: expected time to reach ``j`` first, starting in ``i`` (``m[j, j] = 0``): ``(..., S, S)``.

    For each target ``j`` it solves ``Q_{-j,-j} m_{-j} = -1`` (Kolmogorov's backward equation).
    """
    Qt = validate_generator(Q)
    S = Qt.shape[-1]
    out = torch.zeros_like(Qt)
    for j in range(S):
        keep = [k for k in range(S) if k != j]
        A = Qt[..., keep, :][..., :, keep]
        rhs = -torch.ones(*Qt.shape[:-2], S - 1, 1, dtype=Qt.dtype, device=Qt.device)
        out[..., keep, j] = torch.linalg.solve(A, rhs)[..., 0]
    return to_framework(out, framework(Q))


def entropy_production(Q: Any, pi: Any = None) -> Any:
    """Stationary entropy production rate (Schnakenberg):
    ``sigma = 1/2 sum_{i != j} (pi_i q_ij - pi_j q_ji) log(pi_i q_ij / (pi_j q_ji))``, ``(...)``.

    Zero exactly when detailed balance holds; infinite when some jump has no reverse jump.
    """
    Qt = validate_generator(Q)
    p = _stationary(Qt) if pi is None else as_tensor(pi, "pi", dtype=Qt.dtype, device=Qt.device)
    S = Qt.shape[-1]
    off = Qt.masked_fill(torch.eye(S, dtype=torch.bool, device=Qt.device), 0.0)
    flux = p[..., :, None] * off
    back = flux.transpose(-1, -2)
    both = (flux > 0) & (back > 0)
    one = (flux > 0) ^ (back > 0)
    safe = lambda x: torch.where(both, x, torch.ones_like(x))
    term = torch.where(both, (flux - back) * torch.log(safe(flux) / safe(back)), torch.zeros_like(flux))
    sigma = 0.5 * term.sum((-1, -2))
    sigma = torch.where(one.any(-1).any(-1), torch.full_like(sigma, float("inf")), sigma)
    return to_framework(sigma, framework(Q))


def emission_matrix(flip_prob: torch.Tensor, n_states: int) -> torch.Tensor:
    """``E[a, y] = P(observe y | state a)``: ``1 - eps`` on the diagonal, ``eps / (S-1)`` elsewhere."""
    eps = flip_prob[..., None, None]
    eye = torch.eye(n_states, dtype=flip_prob.dtype, device=flip_prob.device)
    return eye * (1 - eps) + (1 - eye) * eps / (n_states - 1)


def hellinger_distance(model: Any, observations: Any, *, n_bins: int = 10) -> Any:
    """Time-averaged Hellinger distance between a model's and the data's state histograms.

    Observations are grouped in ``n_bins`` equal time bins on ``[0, t_max]``; in each bin the data
    histogram of observed labels is compared with the model's prediction for the same observations
    (``p0 e^{Q t}`` at each observation time, through the model's label noise), by
    ``H(p, q) = sqrt(1 - sum_s sqrt(p_s q_s))``; bins are weighted by their number of observations.

    Returns a number per process ``(...)``, in the framework of the model's generator.
    """
    from stochflow.jump.model import MarkovJumpModel
    from stochflow.jump.observations import Observations
    from stochflow.jump.propagation import interval_transitions

    if not isinstance(model, MarkovJumpModel):
        raise InputTypeError(f"model must be a MarkovJumpModel, got {type(model).__name__}")
    if not isinstance(observations, Observations):
        raise InputTypeError(f"observations must be Observations, got {type(observations).__name__}")
    n_bins = positive_int(n_bins, "n_bins")
    Q = as_tensor(model.generator, "generator").to(torch.float64)
    S = Q.shape[-1]
    if observations.n_states != S:
        raise InputError(f"the model has {S} states but the observations {observations.n_states}")
    t, y, m = observations.tensors(torch.float64)
    batch = t.shape[:-2]
    Qb = Q.expand(*batch, S, S).reshape(-1, S, S)
    B = Qb.shape[0]
    p0 = as_tensor(model.initial_distribution, "p0").to(torch.float64).expand(*batch, S).reshape(B, S)
    eps = as_tensor(model.flip_prob if model.flip_prob is not None else 0.0, "flip_prob").to(torch.float64)
    E = emission_matrix(eps.expand(batch).reshape(B), S)
    tf, yf, mf = (x.reshape(B, -1) for x in (t, y, m))
    edges = torch.linspace(0.0, max(observations.t_max, 1e-12), n_bins + 1, dtype=torch.float64)
    bins = (torch.bucketize(tf, edges[1:-1], right=True)).clamp(0, n_bins - 1)
    proc = torch.arange(B).repeat_interleave(tf.shape[1])
    P = interval_transitions(Qb, proc, tf.reshape(-1)).reshape(B, -1, S, S)
    pred = torch.einsum("bs,bksr,brz->bkz", p0, P, E) * mf[..., None]  # predicted label law per observation
    data = torch.nn.functional.one_hot(yf, S).to(torch.float64) * mf[..., None]
    key = bins[..., None].expand(B, bins.shape[1], S)
    hist_model = torch.zeros(B, n_bins, S, dtype=torch.float64).scatter_add_(1, key, pred)
    hist_data = torch.zeros(B, n_bins, S, dtype=torch.float64).scatter_add_(1, key, data)
    n = hist_data.sum(-1)
    used = n > 0
    pm = hist_model / n.clamp_min(1)[..., None]
    pd = hist_data / n.clamp_min(1)[..., None]
    H = torch.sqrt((1 - torch.sqrt(pm * pd).sum(-1)).clamp_min(0.0))
    avg = (H * n * used).sum(-1) / n.sum(-1)
    out = avg.reshape(batch).to(as_tensor(model.generator, "generator").dtype)
    return to_framework(out, framework(model.generator))
