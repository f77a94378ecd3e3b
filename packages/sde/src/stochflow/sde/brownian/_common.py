"""Input checks shared by the Brownian objects."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from stochflow.core.errors import InputError, InputTypeError


def as_time(x: Any, name: str) -> float:
    """A concrete finite float (Python number, 0-d array or tensor)."""
    if type(x).__module__.startswith("jax") and "Tracer" in type(x).__name__:
        raise InputTypeError(f"{name} is a traced JAX value; query times must be concrete (Python floats), "
                             "which keeps the tree jit-compatible for fixed query times")
    try:
        v = float(x.item() if hasattr(x, "item") else x)
    except (TypeError, ValueError) as exc:
        raise InputTypeError(f"{name} must be a real number, got {type(x).__name__}") from exc
    if not math.isfinite(v):
        raise InputError(f"{name} must be finite, got {v}")
    return v


def check_interval(t0: Any, t1: Any) -> tuple[float, float]:
    a, b = as_time(t0, "t0"), as_time(t1, "t1")
    if not a < b:
        raise InputError(f"need t0 < t1, got t0={a}, t1={b}")
    return a, b


def check_grid(grid: Any, t0: float, t1: float) -> np.ndarray:
    """A 1-D strictly increasing float64 grid inside ``[t0, t1]`` (checked as ``solve`` checks ``ts``)."""
    from stochflow.sde.solve import _as_times  # noqa: PLC0415 - solve imports this package lazily

    g = _as_times(grid)
    slack = 1e-12 * (t1 - t0)
    if g[0] < t0 - slack or g[-1] > t1 + slack:
        raise InputError(f"grid [{g[0]}, {g[-1]}] leaves the Brownian object's interval [{t0}, {t1}]; "
                         "build it over an interval that covers the solve")
    return np.clip(g, t0, t1)


def check_query(s: float, t: float, t0: float, t1: float) -> tuple[float, float]:
    if s > t:
        raise InputError(f"need s <= t, got s={s}, t={t}; for W_s - W_t negate bm(t, s)")
    slack = 1e-12 * (t1 - t0)
    if s < t0 - slack or t > t1 + slack:
        raise InputError(f"query [{s}, {t}] leaves [{t0}, {t1}]; build the Brownian object over a larger interval")
    return min(max(s, t0), t1), min(max(t, t0), t1)
