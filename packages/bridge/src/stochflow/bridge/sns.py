"""Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024), written once against :mod:`._xp`.

The dual (Lyapunov) potential, concave in ``(f, g)``::

    D(f, g) = <a, f> + <b, g> - reg * sum_ij exp((f_i + g_j - M_ij) / reg)

has gradient ``(a - P1, b - P^T 1)`` and Hessian ``-(1/reg) [[diag(P1), P], [P^T, diag(P^T 1)]]``,
singular along ``(1, -1)``. After a log-Sinkhorn warm-up, each Newton step

1. keeps the ``K`` largest entries of ``P`` (the target density is ``K / (n m)``) and the exact
   diagonal: ``H = [[diag(P1), S], [S^T, diag(P^T 1)]]``, positive semi-definite (diagonally dominant);
2. solves ``H d = reg * grad D`` by Jacobi-preconditioned CG (the right-hand side is orthogonal
   to the null direction ``(1, -1)``) and projects ``d`` off that direction; the matrix-vector
   product costs ``O(K + n + m)``;
3. backtracks ``t = 1, 1/2, ...`` until the Armijo condition
   ``D(x + t d) - D(x) >= c t <grad D, d>`` holds, the increment computed without cancellation as
   ``t (<a, d_f> + <b, d_g>) - reg * sum_ij P_ij expm1(t (d_fi + d_gj) / reg)``;
4. where the line search fails (round-off near the optimum), takes one Sinkhorn step instead.

Per Newton step the work is a few ``O(n m)`` passes (the plan, its top-``K``, the line search).
"""

from __future__ import annotations

from typing import Any

from stochflow.bridge import logsinkhorn
from stochflow.bridge.cg import pcg
from stochflow.bridge.logsinkhorn import LoopState

ARMIJO = 1e-4
MAX_BACKTRACKS = 30


def _sparse_ops(xp: Any, P: Any, K: int) -> tuple[Any, Any, Any]:
    """The ``K`` largest entries of each plan as flat ``(values, row ids, column ids)`` over the batch."""
    B, n, m = P.shape
    vals, idx = xp.topk(P.reshape(B, n * m), K)
    offset = xp.arange(B, like=P)[:, None]
    rows = (idx // m + offset * n).reshape(-1)
    cols = (idx % m + offset * m).reshape(-1)
    return vals.reshape(-1), rows, cols


def newton_direction(xp: Any, P: Any, r: Any, c: Any, ga: Any, gb: Any, reg: Any, K: int, rtol: Any,
                     cg_max_iter: int, active: Any) -> tuple[Any, Any, Any]:
    """The sparse-Newton ascent direction ``(d_f, d_g)`` and the CG iterations used."""
    B, n, m = P.shape
    vals, rows, cols = _sparse_ops(xp, P, K)

    def matvec(v: Any) -> Any:
        vx, vy = v[:, :n], v[:, n:]
        sx = xp.segment_sum(vals * xp.take(vy.reshape(-1), cols), rows, B * n).reshape(B, n)
        sy = xp.segment_sum(vals * xp.take(vx.reshape(-1), rows), cols, B * m).reshape(B, m)
        return xp.concat([r * vx + sx, c * vy + sy], axis=-1)

    tiny = xp.scalar(1e-300 if P.dtype.itemsize == 8 else 1e-37, like=P)
    inv_diag = 1.0 / xp.maximum(xp.concat([r, c], axis=-1), tiny)
    rhs = reg[:, None] * xp.concat([ga, gb], axis=-1)
    d, n_cg = pcg(xp, matvec, rhs, inv_diag, rtol, cg_max_iter, active)
    df, dg = d[:, :n], d[:, n:]
    shift = (xp.sum(df, axis=-1) - xp.sum(dg, axis=-1)) / (n + m)
    return df - shift[:, None], dg + shift[:, None], n_cg


def dual_increment(xp: Any, P: Any, a: Any, b: Any, df: Any, dg: Any, t: Any, reg: Any) -> Any:
    """``D(f + t d_f, g + t d_g) - D(f, g)`` per problem, without cancellation."""
    step = t[:, None, None] * (df[:, :, None] + dg[:, None, :]) / reg[:, None, None]
    lin = t * (xp.sum(a * df, axis=-1) + xp.sum(b * dg, axis=-1))
    return lin - reg * xp.sum(xp.sum(P * xp.expm1(step), axis=-1), axis=-1)


def run(xp: Any, state: LoopState, a: Any, b: Any, M: Any, reg: Any, tol: Any, max_iter: int, K: int,
        cg_max_iter: int) -> tuple[LoopState, Any]:
    """Newton steps from a warm ``state`` until every problem's marginal error is ``<= tol``.

    Returns the final state and the number of Newton steps taken per problem.
    """
    B, n, m = M.shape
    loga, logb = xp.log(a), xp.log(b)
    one = xp.full((B,), 1.0, like=M)

    def cond(s: tuple[LoopState, Any]) -> Any:
        st = s[0]
        return xp.any(~st.done) & (st.k < max_iter)

    def body(s: tuple[LoopState, Any]) -> tuple[LoopState, Any]:
        st, n_newton = s
        P = xp.exp((st.f[:, :, None] + st.g[:, None, :] - M) / reg[:, None, None])
        r, c = xp.sum(P, axis=-1), xp.sum(P, axis=-2)
        ga, gb = a - r, b - c
        err = xp.sum(xp.abs(ga), axis=-1) + xp.sum(xp.abs(gb), axis=-1)
        err = xp.where(xp.isfinite(err), err, xp.full((B,), float("inf"), like=M))
        done = st.done | (err <= tol)
        hist = xp.set_col(st.hist, st.k, xp.where(st.done, st.hist[:, st.k - 1], err))
        active = ~done
        mass = xp.sum(a, axis=-1)
        rtol = xp.minimum(0.1 * one, xp.sqrt(err / mass))
        df, dg, _ = newton_direction(xp, P, r, c, ga, gb, reg, K, rtol, cg_max_iter, active)
        slope = xp.sum(ga * df, axis=-1) + xp.sum(gb * dg, axis=-1)

        def ls_cond(ls: tuple[Any, Any, Any]) -> Any:
            t, ok, j = ls
            return xp.any(active & ~ok) & (j < MAX_BACKTRACKS)

        def ls_body(ls: tuple[Any, Any, Any]) -> tuple[Any, Any, Any]:
            t, ok, j = ls
            t = xp.where(ok, t, 0.5 * t)
            inc = dual_increment(xp, P, a, b, df, dg, t, reg)
            ok = ok | (xp.isfinite(inc) & (inc >= ARMIJO * t * slope) & (slope > 0))
            return t, ok, j + 1

        t0 = 2.0 * one
        t, ok, _ = xp.while_loop(ls_cond, ls_body, (t0, ~active, xp.int_zeros((), like=M)))
        f_nt, g_nt = st.f + t[:, None] * df, st.g + t[:, None] * dg

        def with_fallback(_: Any) -> tuple[Any, Any]:
            f_sk, g_sk, _, _ = logsinkhorn.sinkhorn_step(xp, st.f, st.g, loga, logb, M, reg, one)
            return xp.where(ok[:, None], f_nt, f_sk), xp.where(ok[:, None], g_nt, g_sk)

        f_new, g_new = xp.cond(xp.any(active & ~ok), with_fallback, lambda _: (f_nt, g_nt), None)
        keep = done[:, None]
        new = LoopState(xp.where(keep, st.f, f_new), xp.where(keep, st.g, g_new), st.it + active, done, hist,
                        st.k + 1, r, c)
        return new, n_newton + (active & ok)

    return xp.while_loop(cond, body, (state, xp.int_zeros((B,), like=M)))
