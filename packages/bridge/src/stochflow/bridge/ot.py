"""``sinkhorn``: entropic optimal transport by log-domain Sinkhorn or Sinkhorn-Newton-Sparse.

The front end checks the inputs, adds a batch axis, runs the one definition of each solver
(:mod:`.logsinkhorn`, :mod:`.sns`) through a thin driver (torch eagerly, JAX under ``jit``; numpy
through torch on the CPU without a copy) and assembles a :class:`~.output.SinkhornOutput` in the
inputs' framework, dtype and device, with envelope-theorem gradients.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from stochflow.bridge import _checks, logsinkhorn, sns
from stochflow.bridge._xp import ops
from stochflow.bridge.output import SinkhornOutput

DEFAULT_TOL = {"float64": 1e-8, "float32": 1e-5}
"""Default ``tol`` by dtype (float32 cannot resolve marginals to 1e-8)."""


def _dtype_name(x: Any) -> str:
    return str(x.dtype).replace("torch.", "")


def default_density(n: int, m: int) -> float:
    """The default target density of the sparsified Hessian: 5% of the plan, at least ``10 max(n, m)`` entries.

    A fixed fraction rather than a fixed number per row: for a fixed geometry and ``reg`` the number of
    non-negligible entries per row grows with ``n``, and a Hessian that keeps too few of them turns the
    Newton steps' convergence from quadratic into linear (n = 2000 Gaussian clouds at reg = 0.01 mean(M):
    185 Newton steps with 10 entries per row, 14 with 5%). The matrix-vector product stays cheap beside
    the ``O(n m)`` passes of each step.
    """
    return min(1.0, max(0.05, 10.0 / min(n, m)))


def _core(xp: Any, a: Any, b: Any, M: Any, reg: Any, fi: Any, tol: Any, reg_m: Any, *, method: str,
          max_iter: int, balanced: bool, K: int, warmup: int, cg_max_iter: int) -> dict[str, Any]:
    """Solve a batch of problems; everything returned is a backend array (batch axis first)."""
    # SNS records the error of its last iterate too (max_iter updates, max_iter + 1 evaluations)
    state = logsinkhorn.init_state(xp, a, b, M, reg, fi, hist_len=max_iter + (method == "sns"))
    B = M.shape[0]
    if method == "log":
        # the balanced loop measures the row marginal only (the column one is exact after a g update up to
        # rounding); below float64 it stops at tol / 2 to leave room for that rounding
        loop_tol = tol if M.dtype.itemsize >= 8 or not balanced else 0.5 * tol
        state = logsinkhorn.run(xp, state, a, b, M, reg, fi, loop_tol, max_iter, balanced)
        n_newton = xp.int_zeros((B,), like=M)
    else:
        state = logsinkhorn.run(xp, state, a, b, M, reg, fi, tol, min(warmup, max_iter), True)
        state = state._replace(done=xp.bools((B,), False, like=M))
        state, n_newton = sns.run(xp, state, a, b, M, reg, tol, max_iter, K, cg_max_iter)
    f, g = state.f, state.g
    logP = sns.log_plan(xp, f, g, M, reg)
    P = xp.exp(logP)
    r, c = xp.sum(P, axis=-1), xp.sum(P, axis=-2)
    err = xp.sum(xp.abs(r - a), axis=-1) + xp.sum(xp.abs(c - b), axis=-1)
    cost = xp.sum(xp.sum(P * M, axis=-1), axis=-1)
    plogp = xp.where(P > 0, P * logP, xp.zeros(P.shape, like=P))
    value = cost + reg * xp.sum(xp.sum(plogp - P, axis=-1), axis=-1)
    if balanced:
        grad_a, grad_b = f, g
        converged = err <= tol
    else:
        zero_a, zero_b = xp.zeros(a.shape, like=a), xp.zeros(b.shape, like=b)
        kl_a = xp.sum(xp.where(r > 0, r * xp.log(r / a), zero_a) - r + a, axis=-1)
        kl_b = xp.sum(xp.where(c > 0, c * xp.log(c / b), zero_b) - c + b, axis=-1)
        value = value + reg_m * (kl_a + kl_b)
        grad_a, grad_b = reg_m * (1.0 - r / a), reg_m * (1.0 - c / b)
        converged = state.done
    return {"plan": P, "f": f, "g": g, "err": err, "cost": cost, "value": value, "grad_a": grad_a,
            "grad_b": grad_b, "it": state.it, "n_newton": n_newton, "converged": converged, "hist": state.hist,
            "k": state.k}


@functools.cache
def _jax_core(**static: Any) -> Any:
    import jax

    return jax.jit(functools.partial(_core, ops("jax"), **static))


def sinkhorn(a: Any, b: Any, M: Any, reg: Any, method: str = "log", tol: float | None = None,
             max_iter: int = 10_000, *, reg_m: float | None = None, density: float | None = None,
             warmup: int = 20, cg_max_iter: int | None = None) -> SinkhornOutput:
    """Entropic optimal transport between ``a`` and ``b`` for the cost ``M``.

    Solves ``min_P <P, M> + reg * sum_ij P_ij (log P_ij - 1)`` subject to ``P1 = a``, ``P^T 1 = b``
    (or, with ``reg_m``, the KL-relaxed problem ``+ reg_m KL(P1 | a) + reg_m KL(P^T 1 | b)``
    without the constraints).

    Parameters
    ----------
    a, b
        Marginals, shapes ``(n,)`` and ``(m,)`` (or ``(batch, n)``, ``(batch, m)``), non-negative and
        of equal mass when balanced. ``None`` means uniform weights ``1/n`` (``1/m``).
    M
        Cost matrix ``(n, m)`` or a batch ``(batch, n, m)``: a numpy, torch or JAX array; the output
        follows its framework, dtype and device.
    reg
        Entropic weight ε (POT's ``reg``; the SNS paper's ``eta = 1/reg``), positive; a number or,
        for a batch, an array of shape ``(batch,)``.
    method
        ``"log"`` (log-domain Sinkhorn) or ``"sns"`` (Sinkhorn-Newton-Sparse, Tang et al. 2024).
    tol
        Stop when ``||P1 - a||_1 + ||P^T 1 - b||_1 <= tol`` (balanced). Default ``1e-8`` in float64,
        ``1e-5`` in float32.
    max_iter
        Most iterations (log-Sinkhorn iterations; for SNS the warm-up plus Newton steps).
    reg_m
        KL weight of the marginal penalties: unbalanced transport (``method="log"`` only).
    density
        SNS: fraction of the plan's entries kept in the sparsified Hessian (the largest ones of the
        Jacobi-scaled plan ``P_ij / sqrt((P1)_i (P^T 1)_j)``; see :mod:`stochflow.bridge.sns`).
        Default ``max(0.05, 10 / min(n, m))``: 5% of the entries, at least about ``10 max(n, m)``.
    warmup
        SNS: log-Sinkhorn iterations before the Newton steps.
    cg_max_iter
        SNS: most conjugate-gradient iterations per Newton step (default ``n + m``); CG runs on the
        ``m``-unknown Schur complement of the shifted sparse Newton system (see :mod:`stochflow.bridge.sns`).

    Returns
    -------
    SinkhornOutput
        ``plan``, ``cost``, ``value``, ``f``, ``g``, ``marginal_error``, ``n_iter``, ``n_newton``,
        ``converged``, ``history``.

    Raises
    ------
    stochflow.core.InputError, stochflow.core.InputTypeError
        On bad input, before any work: mismatched shapes, negative or unequal-mass marginals,
        NaN/inf in ``M``, ``reg <= 0``, an unknown method.

    Examples
    --------
    >>> import numpy as np
    >>> from stochflow.bridge import cost_matrix, sinkhorn
    >>> x, y = np.random.default_rng(0).normal(size=(2, 50, 2))
    >>> out = sinkhorn(None, None, cost_matrix(x, y), reg=0.1, method="sns")
    >>> bool(out.converged), out.marginal_error < 1e-8
    (True, True)
    """
    fw = _checks.framework(a, b, M)
    _checks.check_problem(a, b, M, reg, method=method, tol=tol, max_iter=max_iter, reg_m=reg_m, density=density)
    for name, v in (("warmup", warmup), ("cg_max_iter", cg_max_iter)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise _checks.InputError(f"{name} must be a non-negative int, got {v!r}")
    dtype = _dtype_name(M)
    if tol is None:
        tol = DEFAULT_TOL.get(dtype, 1e-3)
    batched = M.ndim == 3
    n, m = M.shape[-2], M.shape[-1]
    K = max(1, min(n * m, math.ceil((density if density is not None else default_density(n, m)) * n * m)))
    static = {"method": method, "max_iter": max_iter, "balanced": reg_m is None, "K": K, "warmup": warmup,
              "cg_max_iter": cg_max_iter if cg_max_iter is not None else n + m}
    if fw == "jax":
        return _solve_jax(a, b, M, reg, tol, reg_m, batched, static)
    return _solve_torch(a, b, M, reg, tol, reg_m, batched, static, numpy=fw == "numpy")


def _uniform(like_fn: Any, v: Any, size: int, lead: tuple[int, ...]) -> Any:
    return v if v is not None else like_fn(lead + (size,), 1.0 / size)


def _solve_torch(a: Any, b: Any, M: Any, reg: Any, tol: float, reg_m: float | None, batched: bool,
                 static: dict[str, Any], numpy: bool) -> SinkhornOutput:
    import numpy as np
    import torch

    if numpy:
        M = torch.from_numpy(np.ascontiguousarray(M))
        a = None if a is None else torch.from_numpy(np.ascontiguousarray(a))
        b = None if b is None else torch.from_numpy(np.ascontiguousarray(b))
        if hasattr(reg, "shape"):
            reg = torch.from_numpy(np.asarray(reg, dtype=M.numpy().dtype))
    n, m = M.shape[-2], M.shape[-1]
    lead = tuple(M.shape[:-2])

    def full(shape: tuple[int, ...], value: float) -> Any:
        return torch.full(shape, value, dtype=M.dtype, device=M.device)

    a = _uniform(full, a, n, lead)
    b = _uniform(full, b, m, lead)
    B = M.shape[0] if batched else 1
    reg_t = torch.as_tensor(reg, dtype=M.dtype, device=M.device).detach().reshape(-1).expand(B).contiguous()
    A, Bm, MM = a.detach().reshape(B, n), b.detach().reshape(B, m), M.detach().reshape(B, n, m)
    with torch.no_grad():
        out = _core(ops("torch"), A, Bm, MM, reg_t, _fi(full, B, reg_t, reg_m), full((B,), tol),
                    full((B,), reg_m if reg_m is not None else 0.0), **static)
    k = int(out["k"])

    def diff(val: Any, pairs: list[tuple[Any, Any]]) -> Any:
        """``val`` with envelope gradients: ``val + sum <grad, x - stop_gradient(x)>``."""
        if not any(x.requires_grad for _, x in pairs):
            return val
        total = val
        for grad, x in pairs:
            total = total + (grad * (x.reshape(grad.shape) - x.detach().reshape(grad.shape))).flatten(1).sum(-1)
        return total

    cost = diff(out["cost"], [(out["plan"], M)])
    value = diff(out["value"], [(out["plan"], M), (out["grad_a"], a), (out["grad_b"], b)])
    return _assemble(out, cost, value, k, batched, static["method"],
                     convert=(lambda x: x.detach().numpy()) if numpy else None)


def _fi(full: Any, B: int, reg: Any, reg_m: float | None) -> Any:
    if reg_m is None:
        return full((B,), 1.0)
    return reg_m / (reg_m + reg)


def _assemble(out: dict[str, Any], cost: Any, value: Any, k: int | None, batched: bool, method: str,
              convert: Any = None, concrete: bool = True, history: Any = None) -> SinkhornOutput:
    conv = convert or (lambda x: x)
    one = (lambda x: x) if batched else (lambda x: x[0])
    if history is None:
        history = conv(one(out["hist"] if k is None else out["hist"][:, :k]))
    if concrete and not batched:
        n_iter, n_newton, converged = int(out["it"][0]), int(out["n_newton"][0]), bool(out["converged"][0])
    else:
        n_iter, n_newton, converged = (conv(one(out[key])) for key in ("it", "n_newton", "converged"))
    return SinkhornOutput(
        plan=conv(one(out["plan"])), cost=conv(one(cost)), value=conv(one(value)), f=conv(one(out["f"])),
        g=conv(one(out["g"])), marginal_error=conv(one(out["err"])), n_iter=n_iter, n_newton=n_newton,
        converged=converged, history=history, method=method,
    )


def _solve_jax(a: Any, b: Any, M: Any, reg: Any, tol: float, reg_m: float | None, batched: bool,
               static: dict[str, Any]) -> SinkhornOutput:
    import jax
    import jax.numpy as jnp
    import numpy as np

    n, m = M.shape[-2], M.shape[-1]
    lead = tuple(M.shape[:-2])

    def full(shape: tuple[int, ...], value: float) -> Any:
        return jnp.full(shape, value, dtype=M.dtype)

    a = _uniform(full, a, n, lead)
    b = _uniform(full, b, m, lead)
    B = M.shape[0] if batched else 1
    sg = jax.lax.stop_gradient
    reg_j = jnp.broadcast_to(jnp.asarray(sg(reg), dtype=M.dtype).reshape(-1), (B,))
    A, Bm, MM = sg(a).reshape(B, n), sg(b).reshape(B, m), sg(M).reshape(B, n, m)
    out = _jax_core(**static)(A, Bm, MM, reg_j, _fi(full, B, reg_j, reg_m), full((B,), tol),
                              full((B,), reg_m if reg_m is not None else 0.0))
    concrete = not any(_checks.is_tracer(x) for x in (a, b, M, reg))
    k = int(out["k"]) if concrete else None

    def diff(val: Any, pairs: list[tuple[Any, Any]]) -> Any:
        total = val
        for grad, x in pairs:
            total = total + jnp.sum((grad * (x.reshape(grad.shape) - sg(x).reshape(grad.shape))).reshape(B, -1), -1)
        return total

    cost = diff(out["cost"], [(out["plan"], M)])
    value = diff(out["value"], [(out["plan"], M), (out["grad_a"], a), (out["grad_b"], b)])
    history = None
    if concrete:
        # sliced on the host: a device slice of a new length k would compile a small program on every call
        h = np.asarray(out["hist"])[:, :k]
        history = jax.device_put(h if batched else h[0], next(iter(out["hist"].devices())))
    return _assemble(out, cost, value, k, batched, static["method"], concrete=concrete, history=history)


def sinkhorn_log(a: Any, b: Any, M: Any, reg: Any, **kwargs: Any) -> SinkhornOutput:
    """:func:`sinkhorn` with ``method="log"`` (the registry's ``sinkhorn-log`` solver)."""
    return sinkhorn(a, b, M, reg, method="log", **kwargs)


def sinkhorn_sns(a: Any, b: Any, M: Any, reg: Any, **kwargs: Any) -> SinkhornOutput:
    """:func:`sinkhorn` with ``method="sns"`` (the registry's ``sinkhorn-sns`` solver)."""
    return sinkhorn(a, b, M, reg, method="sns", **kwargs)
