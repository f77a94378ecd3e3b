"""Value functions: linear in features, or a neural network (any ``torch.nn.Module``)."""

from __future__ import annotations

import torch

from stochflow.core.errors import InputError, InputTypeError
from stochflow.rl.features import FeatureMap


def as_states(x: object, d: int, *, like: torch.Tensor | None = None) -> torch.Tensor:
    """States as ``(..., d)``; for ``d == 1`` a tensor of shape ``(...)`` is read as scalar states."""
    if not isinstance(x, torch.Tensor):
        try:
            x = torch.as_tensor(x, dtype=like.dtype if like is not None else torch.get_default_dtype())
        except Exception as exc:  # noqa: BLE001
            raise InputTypeError(f"states must be a tensor or array, got {type(x).__name__}") from exc
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if d == 1 and (x.ndim == 0 or x.shape[-1] != 1):
        x = x.unsqueeze(-1)
    if x.shape[-1] != d:
        raise InputError(f"states must have a trailing dimension {d}, got shape {tuple(x.shape)}")
    return x


def as_times(t: object, x: torch.Tensor, required: bool) -> torch.Tensor | None:
    if t is None:
        if required:
            raise InputError("this value function depends on time: pass t as well (value(x, t))")
        return None
    t = torch.as_tensor(t, dtype=x.dtype, device=x.device)
    try:
        return t.expand(x.shape[:-1])
    except RuntimeError as exc:
        raise InputError(f"times of shape {tuple(t.shape)} do not broadcast to states {tuple(x.shape)}") from exc


class LinearValue:
    """``J(t, x) = theta^T phi(t, x)`` (and the average reward ``rho`` in the ergodic setting).

    Attributes
    ----------
    features, theta, rho, dim
    """

    def __init__(self, features: FeatureMap, theta: torch.Tensor, dim: int, rho: torch.Tensor | None = None):
        self.features, self.theta, self.dim, self.rho = features, theta, dim, rho

    @property
    def time_dependent(self) -> bool:
        return self.features.time_dependent

    def __call__(self, x: object, t: object = None) -> torch.Tensor:
        x = as_states(x, self.dim, like=self.theta)
        t = as_times(t, x, self.time_dependent)
        return self.features(t, x.to(self.theta)) @ self.theta

    def __repr__(self) -> str:
        return f"LinearValue({self.features!r}, theta={self.theta.tolist()})"


class NeuralValue:
    """A network ``J(t, x)``: the module sees ``x`` (``(..., d)``) or, for time-dependent settings,
    ``cat([t, x])`` (``(..., d + 1)``) and returns ``(..., 1)`` or ``(...)``."""

    def __init__(self, module: torch.nn.Module, dim: int, time_dependent: bool, rho: torch.Tensor | None = None):
        if not isinstance(module, torch.nn.Module):
            raise InputTypeError(f"model must be a torch.nn.Module, got {type(module).__name__}")
        self.module, self.dim, self.time_dependent, self.rho = module, dim, time_dependent, rho

    def evaluate(self, x: torch.Tensor, t: torch.Tensor | None) -> torch.Tensor:
        inp = torch.cat([t.unsqueeze(-1), x], dim=-1) if self.time_dependent else x
        out = self.module(inp)
        if out.shape == (*x.shape[:-1], 1):
            out = out.squeeze(-1)
        if out.shape != x.shape[:-1]:
            raise InputError(
                f"the value network must map ({'t, ' if self.time_dependent else ''}x) of shape {tuple(inp.shape)} to "
                f"{(*x.shape[:-1], 1)} or {tuple(x.shape[:-1])}, got {tuple(out.shape)}"
            )
        return out

    def __call__(self, x: object, t: object = None) -> torch.Tensor:
        p = next(self.module.parameters())
        x = as_states(x, self.dim, like=p).to(p)
        t = as_times(t, x, self.time_dependent)
        with torch.no_grad():
            return self.evaluate(x, t)

    def __repr__(self) -> str:
        return f"NeuralValue({type(self.module).__name__})"
