"""Cost matrices between point clouds."""

from __future__ import annotations

from typing import Any

from stochflow.core.arrays import framework_of
from stochflow.core.errors import InputError, InputTypeError

METRICS = ("euclidean", "cityblock")


def cost_matrix(x: Any, y: Any, p: float = 2, metric: str = "euclidean") -> Any:
    """Pairwise costs ``C_ij = ||x_i - y_j||^p``.

    Parameters
    ----------
    x, y
        Point clouds ``(n, d)`` and ``(m, d)``, or batches ``(batch, n, d)`` and ``(batch, m, d)``;
        numpy, torch or JAX arrays (both in one framework). The result follows their framework,
        dtype and device.
    p
        Power of the distance, positive: ``p=2`` with the Euclidean metric is the squared distance
        (POT's ``ot.dist`` default), ``p=1`` the distance itself.
    metric
        ``"euclidean"`` (ℓ2) or ``"cityblock"`` (ℓ1).

    Returns
    -------
    array
        Shape ``(n, m)`` (or ``(batch, n, m)``).
    """
    fw = framework_of(x)
    if fw not in ("numpy", "torch", "jax") or framework_of(y) != fw:
        raise InputTypeError(f"x and y must be numpy, torch or JAX arrays of one framework, got "
                             f"{type(x).__name__} and {type(y).__name__}")
    if metric not in METRICS:
        raise InputError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not p > 0:
        raise InputError(f"p must be a positive number, got {p!r}")
    if x.ndim not in (2, 3) or y.ndim != x.ndim or x.shape[-1] != y.shape[-1] or x.shape[:-2] != y.shape[:-2]:
        raise InputError(f"x and y must have shapes (n, d) and (m, d) (or (batch, n, d), (batch, m, d)) with the "
                         f"same d; got {tuple(x.shape)} and {tuple(y.shape)}")
    diff = x[..., :, None, :] - y[..., None, :, :]
    if metric == "cityblock":
        dist = abs(diff).sum(-1)
        return dist if p == 1 else dist**p
    sq = (diff * diff).sum(-1)
    if p == 2:
        return sq
    return sq ** (p / 2)
