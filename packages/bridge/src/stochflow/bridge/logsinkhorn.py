"""Log-domain Sinkhorn, balanced and KL-relaxed (unbalanced), written once against :mod:`._xp`.

Notation (POT's): the plan is ``P_ij = exp((f_i + g_j - M_ij) / reg)``. One iteration updates

    f_i = fi * reg * (log a_i - LSE_j((g_j - M_ij) / reg))
    g_j = fi * reg * (log b_j - LSE_i((f_i - M_ij) / reg))

with ``fi = 1`` for balanced OT and ``fi = reg_m / (reg_m + reg)`` for the KL-relaxed problem
``<P, M> + reg * sum P (log P - 1) + reg_m KL(P1 | a) + reg_m KL(P^T 1 | b)``.

Every array carries a leading batch axis: ``a (B, n)``, ``b (B, m)``, ``M (B, n, m)``, ``reg (B,)``.

The row marginal of the current iterate comes for free from the log-sum-exp of the next ``f``
update (``P1 = exp(f / reg + LSE)``); after a ``g`` update the column marginal is exact (balanced),
so the convergence criterion ``||P1 - a||_1`` is the iterate's marginal error at no extra cost.
For the unbalanced problem the criterion is the change of both marginals over one iteration.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class LoopState(NamedTuple):
    """State shared by the Sinkhorn and the Newton loops.

    ``it``: updates applied per problem; ``done``: problem converged; ``hist[:, k]``: the
    criterion at evaluation ``k``; ``k``: evaluations so far (all problems move in lockstep);
    ``r_prev``/``c_prev``: last marginals (used by the unbalanced criterion).
    """

    f: Any
    g: Any
    it: Any
    done: Any
    hist: Any
    k: Any
    r_prev: Any
    c_prev: Any


def f_update(xp: Any, g: Any, loga: Any, M: Any, reg: Any, fi: Any) -> tuple[Any, Any]:
    """The ``f`` half-step: returns ``(f_new, lse_rows)``; ``lse_rows`` gives the current row marginal."""
    L = xp.lse((g[:, None, :] - M) / reg[:, None, None], axis=-1)
    return fi[:, None] * reg[:, None] * (loga - L), L


def g_update(xp: Any, f: Any, logb: Any, M: Any, reg: Any, fi: Any) -> tuple[Any, Any]:
    """The ``g`` half-step: returns ``(g_new, lse_cols)``."""
    L = xp.lse((f[:, :, None] - M) / reg[:, None, None], axis=-2)
    return fi[:, None] * reg[:, None] * (logb - L), L


def sinkhorn_step(xp: Any, f: Any, g: Any, loga: Any, logb: Any, M: Any, reg: Any, fi: Any
                  ) -> tuple[Any, Any, Any, Any]:
    """One full iteration from ``(f, g)``: returns ``(f_new, g_new, r, c)`` where ``r`` is the row
    marginal of ``(f, g)`` and ``c`` the column marginal of ``(f_new, g)``."""
    f_new, Lr = f_update(xp, g, loga, M, reg, fi)
    r = xp.exp(f / reg[:, None] + Lr)
    g_new, Lc = g_update(xp, f_new, logb, M, reg, fi)
    c = xp.exp(g / reg[:, None] + Lc)
    return f_new, g_new, r, c


def init_state(xp: Any, a: Any, b: Any, M: Any, reg: Any, fi: Any, hist_len: int) -> LoopState:
    """``f = 0`` and ``g`` its exact response (so the column marginal starts exact when balanced)."""
    B, n, m = M.shape
    f = xp.zeros((B, n), like=M)
    g, _ = g_update(xp, f, xp.log(b), M, reg, fi)
    inf = xp.full((B, n), float("inf"), like=M)
    return LoopState(f, g, xp.int_zeros((B,), like=M), xp.bools((B,), False, like=M),
                     xp.full((B, hist_len), float("nan"), like=M), xp.int_zeros((), like=M),
                     inf, xp.full((B, m), float("inf"), like=M))


def run(xp: Any, state: LoopState, a: Any, b: Any, M: Any, reg: Any, fi: Any, tol: Any,
        max_iter: int, balanced: bool) -> LoopState:
    """Iterate until every problem's criterion is ``<= tol`` or ``k`` reaches ``max_iter``.

    ``max_iter`` counts evaluations of the loop state (``state.k``), so a warm state continues
    counting where it stopped.
    """
    loga, logb = xp.log(a), xp.log(b)

    def cond(s: LoopState) -> Any:
        return xp.any(~s.done) & (s.k < max_iter)

    def body(s: LoopState) -> LoopState:
        f_new, g_new, r, c = sinkhorn_step(xp, s.f, s.g, loga, logb, M, reg, fi)
        if balanced:
            crit = xp.sum(xp.abs(r - a), axis=-1)
        else:
            crit = xp.sum(xp.abs(r - s.r_prev), axis=-1) + xp.sum(xp.abs(c - s.c_prev), axis=-1)
        crit = xp.where(xp.isfinite(crit), crit, xp.full(crit.shape, float("inf"), like=M))
        done = s.done | (crit <= tol)
        hist = xp.set_col(s.hist, s.k, xp.where(s.done, s.hist[:, s.k - 1], crit))
        keep = done[:, None]
        return LoopState(xp.where(keep, s.f, f_new), xp.where(keep, s.g, g_new), s.it + (~done),
                         done, hist, s.k + 1, r, c)

    return xp.while_loop(cond, body, state)
