"""Input checks shared by every module of stochflow-xva.

Each check raises a typed error from :mod:`stochflow.core.errors` that names the argument, says
what was wrong and what to do. They are called before any simulation or training starts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from stochflow.core.errors import InputError, InputTypeError


def as_float(name: str, value: object) -> float:
    """``value`` as a finite float, or :class:`InputTypeError`/:class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputTypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    out = float(value)
    if not math.isfinite(out):
        raise InputError(f"{name} must be finite, got {out}")
    return out


def positive(name: str, value: object, *, allow_zero: bool = False) -> float:
    """A (strictly, unless ``allow_zero``) positive finite float."""
    out = as_float(name, value)
    if out < 0 or (out == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise InputError(f"{name} must be {bound}, got {out}; pass a {'non-negative' if allow_zero else 'positive'} value")
    return out


def volatility(name: str, value: object) -> float:
    """A volatility: finite and >= 0."""
    out = as_float(name, value)
    if out < 0:
        raise InputError(f"{name} is a volatility and must be >= 0, got {out}")
    return out


def intensity(name: str, value: object) -> float:
    """A default intensity (hazard rate): finite and >= 0."""
    out = as_float(name, value)
    if out < 0:
        raise InputError(f"{name} is a default intensity and must be >= 0, got {out}")
    return out


def recovery(name: str, value: object) -> float:
    """A recovery rate in [0, 1]."""
    out = as_float(name, value)
    if not 0.0 <= out <= 1.0:
        raise InputError(f"{name} is a recovery rate and must lie in [0, 1], got {out}")
    return out


def probability_level(name: str, value: object) -> float:
    """A quantile level in (0, 1)."""
    out = as_float(name, value)
    if not 0.0 < out < 1.0:
        raise InputError(f"{name} is a quantile level and must lie strictly between 0 and 1, got {out}")
    return out


def maturity(name: str, value: object, *, now: float = 0.0) -> float:
    """A maturity strictly after ``now``."""
    out = as_float(name, value)
    if out <= now:
        raise InputError(f"{name} = {out} lies in the past or today (valuation time {now}); maturities must be > {now}")
    return out


def count(name: str, value: object, *, minimum: int = 1) -> int:
    """An integer >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputTypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def correlation(name: str, value: object, dim: int | None = None, *, tol: float = 1e-10) -> np.ndarray:
    """A symmetric positive semi-definite matrix with unit diagonal and entries in [-1, 1]."""
    try:
        mat = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(f"{name} must be a square matrix of numbers: {exc}") from exc
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        raise InputError(f"{name} must be a square matrix, got shape {mat.shape}")
    if dim is not None and mat.shape[0] != dim:
        raise InputError(f"{name} must be {dim}x{dim} (one row per factor), got {mat.shape[0]}x{mat.shape[1]}")
    if not np.all(np.isfinite(mat)):
        raise InputError(f"{name} has non-finite entries")
    if not np.allclose(mat, mat.T, atol=1e-12):
        raise InputError(f"{name} must be symmetric")
    if not np.allclose(np.diag(mat), 1.0, atol=1e-12):
        raise InputError(f"{name} must have ones on its diagonal, got {np.diag(mat).tolist()}")
    if np.any(np.abs(mat) > 1.0 + 1e-12):
        raise InputError(f"{name} has entries outside [-1, 1]")
    smallest = float(np.linalg.eigvalsh(mat).min())
    if smallest < -tol:
        raise InputError(
            f"{name} is not positive semi-definite (smallest eigenvalue {smallest:.3g}); "
            "fix the pairwise correlations so that they are jointly consistent")
    return mat


def vector(name: str, value: object, dim: int | None = None) -> np.ndarray:
    """A finite 1-D vector of floats (a scalar is broadcast to ``dim``)."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if dim is None:
            raise InputError(f"{name} must be a vector")
        value = [float(value)] * dim
    if not isinstance(value, (Sequence, np.ndarray)):
        raise InputTypeError(f"{name} must be a list of numbers, got {type(value).__name__}")
    vec = np.asarray(value, dtype=float)
    if vec.ndim != 1 or (dim is not None and vec.shape[0] != dim):
        raise InputError(f"{name} must be a vector of length {dim}, got shape {vec.shape}")
    if not np.all(np.isfinite(vec)):
        raise InputError(f"{name} has non-finite entries")
    return vec
