"""A small array namespace: the few operations the OT iterations need, for torch and for JAX.

The solvers (:mod:`stochflow.bridge.logsinkhorn`, :mod:`stochflow.bridge.sns`,
:mod:`stochflow.bridge.cg`) are written once against this namespace. ``while_loop`` is a Python
loop for torch and ``jax.lax.while_loop`` for JAX, so the same iteration runs eagerly on torch
(CPU or CUDA) and under ``jit`` on JAX. numpy inputs are run through the torch namespace on the CPU
without copying (``torch.from_numpy``) and converted back at the end.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any


class TorchOps:
    """The torch namespace (eager; loops are Python loops)."""

    name = "torch"

    def __init__(self) -> None:
        import torch

        self.t = torch

    # -- creation ------------------------------------------------------------------------
    def zeros(self, shape: tuple[int, ...], like: Any) -> Any:
        return self.t.zeros(shape, dtype=like.dtype, device=like.device)

    def full(self, shape: tuple[int, ...], value: float, like: Any) -> Any:
        return self.t.full(shape, value, dtype=like.dtype, device=like.device)

    def int_zeros(self, shape: tuple[int, ...], like: Any) -> Any:
        return self.t.zeros(shape, dtype=self.t.int64, device=like.device)

    def bools(self, shape: tuple[int, ...], value: bool, like: Any) -> Any:
        return self.t.full(shape, value, dtype=self.t.bool, device=like.device)

    def arange(self, n: int, like: Any) -> Any:
        return self.t.arange(n, device=like.device)

    def scalar(self, value: float, like: Any) -> Any:
        return self.t.as_tensor(value, dtype=like.dtype, device=like.device)

    # -- elementwise and reductions ------------------------------------------------------------
    def exp(self, x: Any) -> Any:
        return self.t.exp(x)

    def expm1(self, x: Any) -> Any:
        return self.t.expm1(x)

    def log(self, x: Any) -> Any:
        return self.t.log(x)

    def sqrt(self, x: Any) -> Any:
        return self.t.sqrt(x)

    def abs(self, x: Any) -> Any:
        return self.t.abs(x)

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return self.t.where(cond, x, y)

    def maximum(self, x: Any, y: Any) -> Any:
        return self.t.maximum(x, y)

    def minimum(self, x: Any, y: Any) -> Any:
        return self.t.minimum(x, y)

    def sum(self, x: Any, axis: int) -> Any:
        return self.t.sum(x, dim=axis)

    def max(self, x: Any, axis: int) -> Any:
        return self.t.amax(x, dim=axis)

    def lse(self, x: Any, axis: int) -> Any:
        return self.t.logsumexp(x, dim=axis)

    def any(self, x: Any) -> Any:
        return self.t.any(x)

    def isfinite(self, x: Any) -> Any:
        return self.t.isfinite(x)

    def cast(self, x: Any, like: Any) -> Any:
        return x.to(like.dtype)

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.t.cat(xs, dim=axis)

    def stop_gradient(self, x: Any) -> Any:
        return x.detach()

    # -- indexing ---------------------------------------------------------------------------
    def topk(self, x: Any, k: int) -> tuple[Any, Any]:
        """Largest ``k`` values of each row of a 2-D array, and their column indices."""
        return self.t.topk(x, k, dim=-1, sorted=False)

    def take(self, x: Any, idx: Any) -> Any:
        """``x[idx]`` for a 1-D ``x`` and an integer array ``idx``."""
        return x[idx]

    def segment_sum(self, data: Any, ids: Any, n: int) -> Any:
        out = self.t.zeros(n, dtype=data.dtype, device=data.device)
        return out.index_add_(0, ids, data)

    def set_col(self, arr: Any, k: Any, value: Any) -> Any:
        arr[:, k] = value
        return arr

    def sparse_ops(self, vals: Any, rows: Any, cols: Any, n: int, m: int
                   ) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """``(y -> S y, x -> S^T x)`` for the ``n x m`` matrix ``S`` with entries ``vals`` at ``(rows, cols)``.

        Two compressed-row (CSR) copies, ``S`` and ``S^T``, built once: a CSR product is about ten
        times faster on the CPU than a gather followed by ``index_add_``, and the CG iterations of a
        Newton step reuse them.
        """
        t = self.t

        def csr(r: Any, c: Any, nr: int, nc: int) -> Any:
            key, order = t.sort(r * nc + c)
            crow = t.zeros(nr + 1, dtype=t.int64, device=r.device)
            crow[1:] = t.cumsum(t.bincount(r, minlength=nr), 0)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                return t.sparse_csr_tensor(crow, key % nc, vals[order], (nr, nc), check_invariants=False)

        S, St = csr(rows, cols, n, m), csr(cols, rows, m, n)
        return (lambda y: (S @ y[:, None])[:, 0]), (lambda x: (St @ x[:, None])[:, 0])

    # -- control flow ------------------------------------------------------------------------
    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        while bool(cond(state)):
            state = body(state)
        return state

    def cond(self, pred: Any, true_fn: Callable[[Any], Any], false_fn: Callable[[Any], Any], operand: Any) -> Any:
        return true_fn(operand) if bool(pred) else false_fn(operand)


class JaxOps:
    """The JAX namespace (traceable; loops are ``lax.while_loop``)."""

    name = "jax"

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp

    def zeros(self, shape: tuple[int, ...], like: Any) -> Any:
        return self.jnp.zeros(shape, dtype=like.dtype)

    def full(self, shape: tuple[int, ...], value: float, like: Any) -> Any:
        return self.jnp.full(shape, value, dtype=like.dtype)

    def int_zeros(self, shape: tuple[int, ...], like: Any) -> Any:
        return self.jnp.zeros(shape, dtype=self.jnp.int32)

    def bools(self, shape: tuple[int, ...], value: bool, like: Any) -> Any:
        return self.jnp.full(shape, value, dtype=bool)

    def arange(self, n: int, like: Any) -> Any:
        return self.jnp.arange(n)

    def scalar(self, value: float, like: Any) -> Any:
        return self.jnp.asarray(value, dtype=like.dtype)

    def exp(self, x: Any) -> Any:
        return self.jnp.exp(x)

    def expm1(self, x: Any) -> Any:
        return self.jnp.expm1(x)

    def log(self, x: Any) -> Any:
        return self.jnp.log(x)

    def sqrt(self, x: Any) -> Any:
        return self.jnp.sqrt(x)

    def abs(self, x: Any) -> Any:
        return self.jnp.abs(x)

    def where(self, cond: Any, x: Any, y: Any) -> Any:
        return self.jnp.where(cond, x, y)

    def maximum(self, x: Any, y: Any) -> Any:
        return self.jnp.maximum(x, y)

    def minimum(self, x: Any, y: Any) -> Any:
        return self.jnp.minimum(x, y)

    def sum(self, x: Any, axis: int) -> Any:
        return self.jnp.sum(x, axis=axis)

    def max(self, x: Any, axis: int) -> Any:
        return self.jnp.max(x, axis=axis)

    def lse(self, x: Any, axis: int) -> Any:
        return self.jax.nn.logsumexp(x, axis=axis)

    def any(self, x: Any) -> Any:
        return self.jnp.any(x)

    def isfinite(self, x: Any) -> Any:
        return self.jnp.isfinite(x)

    def cast(self, x: Any, like: Any) -> Any:
        return x.astype(like.dtype)

    def concat(self, xs: list[Any], axis: int) -> Any:
        return self.jnp.concatenate(xs, axis=axis)

    def stop_gradient(self, x: Any) -> Any:
        return self.jax.lax.stop_gradient(x)

    def topk(self, x: Any, k: int) -> tuple[Any, Any]:
        """The ``k`` largest values of each row of a 2-D ``x`` and their column indices (any order).

        Exact, as ``torch.topk``, without XLA's sort (:func:`stochflow.bridge.topk_jax.top_k`).
        """
        from stochflow.bridge import topk_jax

        return topk_jax.top_k(x, k)

    def kth_largest(self, x: Any, k: int) -> Any:
        """The ``k``-th largest value of each row of a 2-D float array (:func:`.topk_jax.kth_largest`)."""
        from stochflow.bridge import topk_jax

        return topk_jax.kth_largest(x, k)

    def take(self, x: Any, idx: Any) -> Any:
        return x[idx]

    def segment_sum(self, data: Any, ids: Any, n: int) -> Any:
        return self.jax.ops.segment_sum(data, ids, num_segments=n)

    def set_col(self, arr: Any, k: Any, value: Any) -> Any:
        return arr.at[:, k].set(value)

    def sparse_ops(self, vals: Any, rows: Any, cols: Any, n: int, m: int
                   ) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
        """``(y -> S y, x -> S^T x)`` for the ``n x m`` matrix ``S`` with entries ``vals`` at ``(rows, cols)``
        (a gather and a segment sum; XLA fuses them)."""
        seg = self.jax.ops.segment_sum
        return (lambda y: seg(vals * y[cols], rows, num_segments=n)), (lambda x: seg(vals * x[rows], cols, num_segments=m))

    def while_loop(self, cond: Callable[[Any], Any], body: Callable[[Any], Any], state: Any) -> Any:
        return self.jax.lax.while_loop(cond, body, state)

    def cond(self, pred: Any, true_fn: Callable[[Any], Any], false_fn: Callable[[Any], Any], operand: Any) -> Any:
        return self.jax.lax.cond(pred, true_fn, false_fn, operand)


_CACHE: dict[str, Any] = {}


def ops(name: str) -> TorchOps | JaxOps:
    """The namespace for ``"torch"`` or ``"jax"`` (built once)."""
    if name not in _CACHE:
        _CACHE[name] = TorchOps() if name == "torch" else JaxOps()
    return _CACHE[name]
