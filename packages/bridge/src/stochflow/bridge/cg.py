"""Batched, Jacobi-preconditioned conjugate gradient, written once against :mod:`._xp`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class _CGState(NamedTuple):
    x: Any
    r: Any
    p: Any
    rz: Any
    it: Any
    active: Any


def tiny_like(xp: Any, x: Any) -> Any:
    """A positive floor far below any meaningful value of ``x``'s dtype (1e-300 in float64, 1e-37 in
    float32), as a backend scalar: guards divisions and square roots of quantities that may vanish."""
    return xp.scalar(1e-300 if x.dtype.itemsize == 8 else 1e-37, like=x)


def pcg(xp: Any, matvec: Callable[[Any], Any], rhs: Any, inv_diag: Any, rtol: Any, max_iter: int,
        active: Any, x0: Any = None) -> tuple[Any, Any]:
    """Solve ``A x = rhs`` for each row of ``rhs`` (shape ``(B, N)``), ``A`` symmetric positive definite.

    Parameters
    ----------
    xp
        The array namespace.
    matvec
        ``v (B, N) -> A v (B, N)``.
    rhs
        Right-hand sides.
    inv_diag
        The preconditioner, ``1 / diag(A)``, shape ``(B, N)``.
    rtol
        Per-problem relative tolerance on the residual's Euclidean norm, shape ``(B,)``.
    max_iter
        Most iterations.
    active
        Problems to solve, shape ``(B,)``; the others return ``x0`` (zeros by default).
    x0
        Starting point (default zeros); the tolerance stays relative to ``||rhs||``.

    Returns
    -------
    x, n_iter
        The solutions and the iterations used.
    """
    stop = rtol * xp.sqrt(xp.sum(rhs * rhs, axis=-1))
    if x0 is None:
        x0, r0 = xp.zeros(rhs.shape, like=rhs), rhs
    else:
        r0 = rhs - matvec(x0)
    z = inv_diag * r0
    state = _CGState(x0, r0, z, xp.sum(r0 * z, axis=-1),
                     xp.int_zeros((), like=rhs), active & (xp.sqrt(xp.sum(r0 * r0, axis=-1)) > stop))
    tiny = tiny_like(xp, rhs)
    one, zero = xp.scalar(1.0, like=rhs), xp.scalar(0.0, like=rhs)

    def cond(s: _CGState) -> Any:
        return xp.any(s.active) & (s.it < max_iter)

    def body(s: _CGState) -> _CGState:
        Ap = matvec(s.p)
        pAp = xp.sum(s.p * Ap, axis=-1)
        ok = s.active & (pAp > tiny)
        alpha = xp.where(ok, s.rz / xp.where(ok, pAp, one), zero)
        x = s.x + alpha[:, None] * s.p
        r = s.r - alpha[:, None] * Ap
        z = inv_diag * r
        rz = xp.sum(r * z, axis=-1)
        beta = xp.where(ok, rz / xp.where(ok, s.rz, one), zero)
        p = z + beta[:, None] * s.p
        active = ok & (xp.sqrt(xp.sum(r * r, axis=-1)) > stop)
        return _CGState(x, r, p, rz, s.it + 1, active)

    out = xp.while_loop(cond, body, state)
    return out.x, out.it
