"""Array plumbing: everything is computed in torch; numpy in gives numpy out."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from stochflow.core.errors import InputError, InputTypeError

Framework = str  # "torch" or "numpy"


def framework(x: Any) -> Framework:
    """``"numpy"`` for numpy arrays, ``"torch"`` for everything else (torch is the default)."""
    return "numpy" if isinstance(x, np.ndarray) else "torch"


def as_tensor(x: Any, name: str, *, dtype: torch.dtype | None = None, device: Any = None,
              floating: bool = True) -> torch.Tensor:
    """``x`` as a torch tensor (no copy for tensors and numpy arrays of the right dtype).

    Python numbers and lists become float64 (``floating``) or int64 tensors.
    """
    if isinstance(x, torch.Tensor):
        t = x
    elif isinstance(x, np.ndarray):
        if x.dtype == object:
            raise InputTypeError(f"{name} must be a numeric array, got an object array")
        t = torch.from_numpy(np.ascontiguousarray(x))
    elif isinstance(x, (int, float, list, tuple, np.number)) and not isinstance(x, bool):
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float64 if floating else np.int64))
        except (ValueError, TypeError) as exc:
            raise InputTypeError(f"{name} must be numeric (a number, list, numpy array or torch tensor): {exc}") from exc
    else:
        raise InputTypeError(f"{name} must be a torch tensor, numpy array or list of numbers, "
                             f"got {type(x).__name__}")
    if floating:
        if not (t.is_floating_point()):
            t = t.to(torch.get_default_dtype() if dtype is None else dtype)
        elif dtype is not None:
            t = t.to(dtype)
    if device is not None:
        t = t.to(device)
    return t


def as_index_tensor(x: Any, name: str, *, device: Any = None) -> torch.Tensor:
    """Integer states as an int64 tensor; floats that are whole numbers are accepted."""
    t = as_tensor(x, name, floating=False, device=device)
    if t.is_floating_point():
        if not torch.all(torch.isfinite(t)) or not torch.all(t == torch.round(t)):
            raise InputError(f"{name} must hold whole numbers (state labels 0..S-1)")
    elif t.dtype == torch.bool:
        raise InputTypeError(f"{name} must hold integer state labels, got booleans")
    return t.to(torch.int64)


def to_framework(t: torch.Tensor, fw: Framework) -> Any:
    """Give ``t`` back in the caller's framework."""
    if fw == "numpy":
        return t.detach().cpu().numpy()
    return t


def check_finite(t: torch.Tensor, name: str) -> None:
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise InputError(f"{name} holds NaN or infinite values; remove or replace them")


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise InputError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def positive_float(value: Any, name: str, *, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise InputError(f"{name} must be a finite {'non-negative' if allow_zero else 'positive'} number, got {value}")
    return v


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch random generator from ``seed`` (``None``: a fresh, unseeded stream)."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise InputTypeError(f"seed must be an int or None, got {type(seed).__name__}")
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed) % (2**63))
    return g
