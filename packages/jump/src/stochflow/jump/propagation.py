"""Transition probabilities ``P(t) = e^{Qt}``, propagation of distributions, and the expected
holding-time/jump integrals, with the choice between uniformisation and Van Loan in one place."""

from __future__ import annotations

from typing import Any

import torch

from stochflow.core.errors import InputError
from stochflow.core.errors import close_matches_message as _close
from stochflow.jump import uniformization, van_loan
from stochflow.jump._backend import as_tensor, check_finite, framework, to_framework
from stochflow.jump.generators import validate_generator

METHODS = ("auto", "uniformization", "expm")


def check_method(method: str) -> str:
    if method not in METHODS:
        raise InputError(_close("method", str(method), METHODS))
    return method


def _pick(method: str, Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor) -> Any:
    """``auto``: the block exponential for a few intervals, uniformisation for many (while the
    Poisson series stays short)."""
    if method == "expm":
        return van_loan
    if method == "uniformization":
        return uniformization
    if dt.numel() <= 64 or uniformization.needed_terms(Q, proc, dt) > uniformization.MAX_TERMS:
        return van_loan
    return uniformization


def interval_transitions(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor, method: str = "auto") -> torch.Tensor:
    """``e^{Q[proc[u]] dt[u]}`` for ``U`` intervals of a batch of generators ``(B, S, S)``."""
    return _pick(method, Q, proc, dt).transitions(Q, proc, dt)


def interval_integrals(Q: torch.Tensor, proc: torch.Tensor, dt: torch.Tensor, W: torch.Tensor,
                       method: str = "auto") -> torch.Tensor:
    """``sum_u W_u[a, b] int_0^{dt_u} [e^{Qs}]_ai [e^{Q(dt_u-s)}]_jb ds`` per process ``(B, S, S)``."""
    return _pick(method, Q, proc, dt).integrals(Q, proc, dt, W)


def transition_matrix(Q: Any, t: Any, *, method: str = "auto") -> Any:
    """``P(t) = e^{Qt}``, batched over generators and times.

    Parameters
    ----------
    Q
        Generators ``(..., S, S)``.
    t
        A non-negative time, or times ``(T,)``.
    method
        ``"uniformization"`` (Poisson mixture of powers of ``I + Q/mu``), ``"expm"`` (matrix
        exponential) or ``"auto"``.

    Returns
    -------
    array
        ``(..., S, S)`` for a scalar ``t``, ``(..., T, S, S)`` for times ``(T,)``; framework of ``Q``.
    """
    fw = framework(Q)
    Qt = validate_generator(Q)
    check_method(method)
    tt = as_tensor(t, "t", dtype=Qt.dtype, device=Qt.device)
    check_finite(tt, "t")
    if tt.ndim > 1:
        raise InputError(f"t must be a number or a 1-d array of times, got shape {tuple(tt.shape)}")
    if bool((tt < 0).any()):
        raise InputError("t must be >= 0: transition probabilities run forward in time")
    batch, S = Qt.shape[:-2], Qt.shape[-1]
    Qf = Qt.reshape(-1, S, S)
    times = tt.reshape(-1)
    B, T = Qf.shape[0], times.shape[0]
    proc = torch.arange(B, device=Qt.device).repeat_interleave(T)
    dt = times.repeat(B)
    P = interval_transitions(Qf, proc, dt, method).reshape(*batch, *tt.shape, S, S)
    return to_framework(P, fw)


def propagate(p0: Any, Q: Any, times: Any, *, method: str = "auto") -> Any:
    """``p(t) = p0 e^{Qt}`` at ``times`` ``(T,)``: ``(..., T, S)`` (row-vector convention)."""
    fw = framework(Q)
    Qt = validate_generator(Q)
    p = as_tensor(p0, "p0", dtype=Qt.dtype, device=Qt.device)
    P = as_tensor(transition_matrix(Qt, as_tensor(times, "times", dtype=Qt.dtype), method=method), "P")
    if P.ndim == Qt.ndim:
        P = P.unsqueeze(-3)
    out = torch.einsum("...s,...tsr->...tr", p, P)
    return to_framework(out, fw)


def transition_integrals(Q: Any, t: float, *, method: str = "expm") -> Any:
    """All ``I^{ij}_ab(t) = int_0^t [e^{Qs}]_ai [e^{Q(t-s)}]_jb ds`` of one generator: ``(S, S, S, S)``
    indexed ``[i, j, a, b]``. ``E[R_i | X_0 = a, X_t = b] = I^{ii}_ab / P_ab(t)`` is the expected time
    spent in ``i`` and ``E[N_ij | a, b] = q_ij I^{ij}_ab / P_ab(t)`` the expected number of jumps."""
    fw = framework(Q)
    Qt = validate_generator(Q)
    check_method(method)
    if Qt.ndim != 2:
        raise InputError("transition_integrals takes one generator (S, S)")
    S = Qt.shape[-1]
    tt = float(t)
    if not tt >= 0:
        raise InputError(f"t must be >= 0, got {t}")
    W = torch.eye(S * S, dtype=Qt.dtype, device=Qt.device).reshape(S * S, S, S)
    Qb = Qt.expand(S * S, S, S).contiguous()
    proc = torch.arange(S * S, device=Qt.device)
    dt = torch.full((S * S,), tt, dtype=Qt.dtype, device=Qt.device)
    mod = uniformization if method == "uniformization" else van_loan
    M = mod.integrals(Qb, proc, dt, W)  # M[(a, b), i, j]
    return to_framework(M.reshape(S, S, S, S).permute(2, 3, 0, 1).contiguous(), fw)
