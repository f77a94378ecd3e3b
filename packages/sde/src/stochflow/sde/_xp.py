"""A small array namespace: the few operations the solver steps need, for torch and JAX.

Each method's step is written once against this namespace (plus ordinary ``+ - * /``), and the
thin drivers in :mod:`stochflow.sde.solve` hand it the namespace of the input's framework.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Namespace:
    """The operations a step may use.

    Attributes
    ----------
    name
        ``"torch"`` or ``"jax"``.
    sqrt, abs, maximum, where, einsum
        Elementwise/contracting functions of that framework.
    jvp
        ``jvp(fn, x, v)`` -> the directional derivative ``(d fn / dx) v`` at ``x``.
    diag_jvp
        The same for an ``fn`` whose Jacobian is diagonal (elementwise), by the cheaper mode of the
        framework: on torch a vector-Jacobian product (``(d fn/dx)^T v`` equals ``(d fn/dx) v``
        there; differentiable when grad mode is on), on JAX ``jvp``.
    """

    name: str
    sqrt: Callable[..., Any]
    abs: Callable[..., Any]
    maximum: Callable[..., Any]
    where: Callable[..., Any]
    einsum: Callable[..., Any]
    jvp: Callable[[Callable[[Any], Any], Any, Any], Any]
    diag_jvp: Callable[[Callable[[Any], Any], Any, Any], Any]


def _torch_ns() -> Namespace:
    import torch

    def jvp(fn, x, v):
        return torch.func.jvp(fn, (x,), (v,))[1]

    def diag_jvp(fn, x, v):
        # keep the graph only when something upstream needs gradients (v = g(x) in Milstein tells)
        create = torch.is_grad_enabled() and (x.requires_grad or v.requires_grad)
        with torch.enable_grad():
            z = x if x.requires_grad else x.detach().requires_grad_(True)
            out = fn(z)
            if not out.requires_grad:  # fn does not depend on x
                return torch.zeros_like(out)
            d = torch.autograd.grad(out, z, v, create_graph=create, allow_unused=True)[0]
        return torch.zeros_like(out) if d is None else d

    return Namespace("torch", torch.sqrt, torch.abs, torch.maximum, torch.where, torch.einsum, jvp, diag_jvp)


def _jax_ns() -> Namespace:
    import jax
    import jax.numpy as jnp

    def jvp(fn, x, v):
        return jax.jvp(fn, (x,), (v,))[1]

    return Namespace("jax", jnp.sqrt, jnp.abs, jnp.maximum, jnp.where, jnp.einsum, jvp, jvp)


_CACHE: dict[str, Namespace] = {}


def namespace(backend: str) -> Namespace:
    """Return the :class:`Namespace` of ``backend`` (``"torch"`` or ``"jax"``), built once."""
    if backend not in _CACHE:
        _CACHE[backend] = _torch_ns() if backend == "torch" else _jax_ns()
    return _CACHE[backend]


def backend_of(x: Any) -> str:
    """``"torch"`` for a tensor, ``"jax"`` for a JAX array; anything else is not an array here."""
    mod = type(x).__module__
    if mod.startswith("torch"):
        return "torch"
    if mod.startswith("jax") or mod.startswith("jaxlib"):
        return "jax"
    return "other"
