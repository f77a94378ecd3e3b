"""Small helpers shared by the modules (not public)."""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError, InputTypeError


def bcast(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Reshape a per-sample vector ``(n,)`` (or a scalar) to broadcast against ``x`` of any shape."""
    v = torch.as_tensor(v, dtype=x.dtype, device=x.device)
    if v.ndim == 0:
        return v
    return v.reshape(v.shape + (1,) * (x.ndim - v.ndim))


def as_time(t, x: torch.Tensor) -> torch.Tensor:
    """``t`` as a ``(n,)`` tensor in ``x``'s dtype and device."""
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    if t.ndim == 0:
        t = t.expand(x.shape[0])
    if t.shape != (x.shape[0],):
        raise InputError(f"t must be a scalar or have shape ({x.shape[0]},), got {tuple(t.shape)}")
    return t


def check_tensor(name: str, x) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise InputTypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise InputTypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    if x.ndim < 1:
        raise InputError(f"{name} must have a leading batch dimension, got shape {tuple(x.shape)}")
    return x


def flat_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over every non-batch dimension."""
    return x.reshape(x.shape[0], -1).sum(dim=1)


class LastCallCache:
    """Wrap ``fn(t, y)`` so that an immediate repeat of the same call (same ``t``, equal ``y``) is
    answered without evaluating again: stochflow-sde's ``solve`` evaluates the field at the start to
    check shapes and again in its first step."""

    def __init__(self, fn):
        self.fn = fn
        self._last = None

    def __call__(self, t, y):
        last = self._last
        if last is not None and last[0] == float(t) and last[1].shape == y.shape and torch.equal(last[1], y):
            return last[2]
        out = self.fn(t, y)
        self._last = (float(t), y, out)
        return out
